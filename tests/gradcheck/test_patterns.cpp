// The simpler bug patterns the diagnosis names besides a constant factor, sign and transpose: the
// L2 gradient with a wrong factor (named against l2_scale when given), L2 in backward on a block
// the cost does not regularize, two equal-shape blocks whose gradients are swapped, an error in
// one row or column, and the data-term factor under a right L2 term found with default options;
// and the course's recipe (θ as one vector, one relative error) through gc's helpers.
#define BOOST_TEST_MODULE gradcheck patterns and the course recipe
#include <boost/test/unit_test.hpp>

#include <cmath>

#include <gradcheck/gradcheck.hpp>

#include "error_text.hpp"
#include "planted.hpp"

using test_support::contains;

namespace {

ad::Tensor<double> random(std::size_t rows, std::size_t cols, std::uint64_t seed, double scale = 1) {
  return planted::Mlp<double>::random(rows, cols, seed, scale);
}

// J = Σ C ⊙ tanh(W) + s·Σ W², whose backward's L2 gradient is `factor` × the cost's 2s·W: the
// forward is s·ΣW², the backward gets factor·2s·W from factor·s·ΣW² − (factor − 1)·s·Σ detach(W)².
struct L2Cost {
  ad::Parameter<double> W{"W[1]", random(4, 5, 11)};
  ad::Tensor<double> C = random(4, 5, 12);
  double s = 0.05;

  gc::Report check(double factor, const gc::Options& o = {}) {
    ad::Tape<double> tape;
    auto w = tape.parameter(W);
    auto J = ad::sum(ad::mul(tape.constant(C), ad::tanh(w))) + ad::mul_scalar(ad::sum(ad::square(w)), factor * s) -
             ad::mul_scalar(ad::sum(ad::square(ad::detach(w))), (factor - 1) * s);
    return gc::check(tape, J, {&W}, o);
  }
  double l2_scale() const { return 2 * s; }  // the cost's L2 gradient is (λ/m)·W = 2s·W
};

const std::string& diagnosis_of(const gc::Report& r, const std::string& block) {
  BOOST_TEST_MESSAGE(r.table());
  BOOST_REQUIRE(r.block(block));
  BOOST_TEST(r.block(block)->verdict == gc::Verdict::fail);
  return r.block(block)->diagnosis;
}

// J = Σ C1 ⊙ tanh(A) + Σ C2 ⊙ tanh(B) in one node whose backward writes A's gradient to B and B's
// to A; C1, C2 (which make the two gradients differ) are the node's state.
struct Weights {
  ad::Tensor<double> C1, C2;
};
struct SwappedPair {
  struct Attrs {
    const Weights* weights;
  };
  static const Weights& weights(const ad::Node<double>& n) { return *n.attrs<Attrs>().weights; }
  static void forward(ad::Tape<double>& t, ad::Node<double>& n) {
    const auto& A = t.value(n.parents[0]);
    const auto& B = t.value(n.parents[1]);
    ad::ensure_shape(n.value, {1, 1});
    n.value(0, 0) = xt::sum(weights(n).C1 * xt::tanh(A))() + xt::sum(weights(n).C2 * xt::tanh(B))();
  }
  static void backward(ad::Tape<double>& t, ad::Node<double>& n) {
    const auto& A = t.value(n.parents[0]);
    const auto& B = t.value(n.parents[1]);
    const double g = n.grad(0, 0);
    ad::Tensor<double> dA = g * weights(n).C1 * (1.0 - xt::square(xt::tanh(A)));
    ad::Tensor<double> dB = g * weights(n).C2 * (1.0 - xt::square(xt::tanh(B)));
    t.sink(n.parents[0]).add(dB);  // swapped
    t.sink(n.parents[1]).add(dA);
  }
  static constexpr ad::OpDef<double> def{"swapped_pair", forward, backward};
};

}  // namespace

BOOST_AUTO_TEST_CASE(an_l2_gradient_with_a_wrong_factor_is_named_against_l2_scale) {
  L2Cost cost;
  gc::Options o;
  o.l2_scale = cost.l2_scale();
  const auto doubled = diagnosis_of(cost.check(2.0, o), "W[1]");
  BOOST_TEST(contains(doubled, "backward's L2 gradient is 2× the cost's"), doubled);
  const auto halved = diagnosis_of(cost.check(0.5, o), "W[1]");
  BOOST_TEST(contains(halved, "backward's L2 gradient is 0.5× the cost's"), halved);
  const auto left_out = diagnosis_of(cost.check(0.0, o), "W[1]");
  BOOST_TEST(contains(left_out, "left out of backward"), left_out);
  // Without l2_scale: the fitted c, negative for too much L2 in backward.
  const auto unknown = diagnosis_of(cost.check(2.0), "W[1]");
  BOOST_TEST(contains(unknown, "c = -0.1"), unknown);
  BOOST_TEST(contains(unknown, "too large"), unknown);
}

BOOST_AUTO_TEST_CASE(l2_in_backward_on_an_unregularized_bias_is_named) {
  ad::Parameter<double> W("W", random(4, 3, 13)), b("b", random(4, 1, 14));
  ad::Tape<double> tape;
  auto w = tape.parameter(W), bb = tape.parameter(b);
  const ad::Tensor<double> X = random(3, 6, 15);
  // The cost has no L2 on b, but backward gets 0.1·b from 0.05·Σb² − 0.05·Σ detach(b)².
  auto J = ad::sum(ad::tanh(ad::matmul(w, tape.constant(X)) + bb)) + ad::mul_scalar(ad::sum(ad::square(bb)), 0.05) -
           ad::mul_scalar(ad::sum(ad::square(ad::detach(bb))), 0.05);
  const auto d = diagnosis_of(gc::check(tape, J, {&W, &b}), "b");
  BOOST_TEST(contains(d, "does not regularize (a bias?)"), d);
}

BOOST_AUTO_TEST_CASE(swapped_blocks_are_named) {
  ad::Parameter<double> A("A", random(3, 4, 16)), B("B", random(3, 4, 17));
  ad::Tape<double> tape;
  auto a = tape.parameter(A), b = tape.parameter(B);
  Weights weights{random(3, 4, 18), random(3, 4, 19)};
  const auto index =
      tape.record(SwappedPair::def, {a.index(), b.index()}, std::source_location::current(),
                  SwappedPair::Attrs{&weights});
  const auto report = gc::check(tape, ad::Var<double>(&tape, index), {&A, &B});
  for (const char* block : {"A", "B"}) {
    const auto d = diagnosis_of(report, block);
    BOOST_TEST(contains(d, "the gradients of A and B are swapped"), d);
  }
}

BOOST_AUTO_TEST_CASE(an_error_in_one_row_or_column_says_which) {
  ad::Parameter<double> W("W", random(6, 5, 20));
  for (bool by_row : {true, false}) {
    ad::Tensor<double> mask = xt::zeros<double>({6, 5});
    for (std::size_t k = 0; k < 6; ++k)
      for (std::size_t j = 0; j < 5; ++j)
        if (by_row ? k == 4 : j == 2) mask(k, j) = 0.3 * double(k + j + 1);
    ad::Tape<double> tape;
    auto w = tape.parameter(W);
    auto J = ad::sum(ad::tanh(w)) + ad::sum(ad::mul(tape.constant(mask), ad::detach(ad::square(w))));
    const auto d = diagnosis_of(gc::check(tape, J, {&W}), "W");
    BOOST_TEST(contains(d, by_row ? "confined to row 4 (unit 4" : "confined to column 2 (input feature 2"), d);
  }
}

BOOST_AUTO_TEST_CASE(a_data_term_factor_under_l2_is_found_with_default_options) {
  for (auto [bug, expected] : {std::pair{planted::Bug::dW_times_m, "in the data term: analytic is 16× numeric"},
                               std::pair{planted::Bug::dW_sign, "in the data term: sign flip"}}) {
    planted::Mlp<double> mlp;
    ad::Tape<double> tape;
    auto J = mlp.cost(tape, planted::plant(2, bug));
    const auto report = gc::check(tape, J, mlp.parameters());  // l2_scale not given
    const auto d = diagnosis_of(report, "W[2]");
    BOOST_TEST(contains(d, expected), d);
    BOOST_TEST(contains(d, "λ/m ≈ 0.04375"), d);  // λ/m = 0.7/16, recovered by the fit
  }
}

BOOST_AUTO_TEST_CASE(the_course_recipe_step_by_step) {
  // dictionary_to_vector, the loop over θ_i with J(θ ± ε e_i), the one relative error.
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  auto J = mlp.cost(tape);
  const auto params = mlp.parameters();
  tape.backward(J);
  const ad::Tensor<double> grad = gc::gradients_to_vector(params);
  const ad::Tensor<double> theta = gc::to_vector(params);
  BOOST_TEST(theta.shape()[0] == 1893u);
  BOOST_TEST(grad.shape()[0] == 1893u);
  ad::Tensor<double> approx = xt::zeros<double>({std::size_t(1893), std::size_t(1)});
  const double eps = 1e-7;
  auto cost_at = [&](const ad::Tensor<double>& t) {
    gc::from_vector(t, params);
    tape.forward();
    return tape.value(J.index())(0, 0);
  };
  for (std::size_t i = 0; i < 1893; ++i) {
    ad::Tensor<double> plus = theta, minus = theta;
    plus(i, 0) += eps;
    minus(i, 0) -= eps;
    approx(i, 0) = (cost_at(plus) - cost_at(minus)) / (2 * eps);
  }
  gc::from_vector(theta, params);  // vector_to_dictionary: θ back as it was
  BOOST_TEST(mlp.W1.value(0, 0) == theta(0, 0));
  BOOST_TEST(mlp.b3.value(4, 0) == theta(1892, 0));
  const double difference = gc::relative_error(approx, grad);
  BOOST_TEST(difference < 1e-7);
  // A wrong θ length is refused with both counts.
  const auto message = test_support::message_of<ad::ShapeError>(
      [&] { gc::from_vector(ad::Tensor<double>(xt::zeros<double>({std::size_t(10), std::size_t(1)})), params); });
  BOOST_TEST(contains(message, "θ is (10, 1) but the 6 parameters have 1893 elements"), message);
}
