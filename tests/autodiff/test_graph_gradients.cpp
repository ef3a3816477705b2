// Gradients of whole graphs rather than single operations: values feeding several operations
// (gradient accumulation), a parameter used twice, a small network mixing many operations, the
// float instantiation against double, and the finite-difference helper's own sanity (it catches a
// deliberately wrong backward).
#define BOOST_TEST_MODULE autodiff graph gradients
#include <boost/test/unit_test.hpp>

#include "finite_differences.hpp"

namespace tt = boost::test_tools;
using ad::Activation;
using ad::Tensor;
using ad::Var;
using V = std::vector<Var<double>>;

namespace {

Tensor<double> random(std::size_t rows, std::size_t cols, unsigned seed, double lo = -1, double hi = 1) {
  std::mt19937 rng(seed);
  return fixtures::uniform(rows, cols, lo, hi, rng);
}

// A two-layer classifier touching most operations: X (3, 6) → tanh(W1·X + b1) → softmax over 4
// classes, with an L2 term (W1 and W2 used twice) and a reused hidden activation.
template <class T>
Var<T> classifier(ad::Tape<T>& tape, ad::Parameter<T>& W1, ad::Parameter<T>& b1, ad::Parameter<T>& W2,
                  ad::Parameter<T>& b2, const Tensor<T>& X, const Tensor<T>& Y) {
  auto x = tape.input("X", X);
  auto h = ad::linear(tape.parameter(W1), x, tape.parameter(b1), Activation::tanh);
  auto h2 = ad::add(h, ad::mul_scalar(ad::square(h), 0.5));  // h feeds two operations
  auto z = ad::add(ad::matmul(tape.parameter(W2), h2), tape.parameter(b2));
  auto data_cost = ad::softmax_cross_entropy(z, tape.input("Y", Y));
  auto l2 = ad::add(ad::sum(ad::square(tape.parameter(W1))), ad::sum(ad::square(tape.parameter(W2))));
  return ad::add(data_cost, ad::mul_scalar(l2, 0.01));
}

Tensor<double> one_hot(std::size_t classes, std::size_t m) {
  Tensor<double> Y = xt::zeros<double>({classes, m});
  for (std::size_t j = 0; j < m; ++j) Y((j * 7) % classes, j) = 1;
  return Y;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_value_feeding_several_operations_accumulates_its_gradient) {
  // a reaches y through exp and tanh, and tanh(a) through three operations.
  CHECK_GRADIENTS(fd::check_op({random(3, 4, 1)}, [](const V& v) {
    auto a = v[0];
    auto t = ad::tanh(a);
    return ad::add(ad::mul(t, ad::exp(a)), ad::sub(ad::square(t), ad::mul_scalar(t, 3.0)));
  }));
}

BOOST_AUTO_TEST_CASE(a_parameter_used_twice_gets_the_sum_of_both_uses) {
  ad::Parameter<double> w("w", Tensor<double>{{2.0, -3.0}});
  ad::Tape<double> tape;
  auto first = tape.parameter(w), second = tape.parameter(w);
  BOOST_TEST(first.index() == second.index());  // the same node, entered once
  tape.backward(ad::sum(ad::mul(first, second)));  // Σ w², gradient 2w
  BOOST_TEST(w.grad == (Tensor<double>{{4.0, -6.0}}), tt::per_element());
  CHECK_GRADIENTS(fd::check_op({random(2, 3, 2)}, [](const V& v) {
    auto& tape = v[0].tape();
    auto again = tape.parameter(*tape.node(v[0].index()).param);
    return ad::add(ad::mul(v[0], again), ad::exp(again));
  }));
}

BOOST_AUTO_TEST_CASE(backward_alone_gives_one_readers_contribution) {
  // w feeds mul_scalar (×3) and square: the sweep sums 3 + 2w; each reader alone gives its part,
  // and a non-operation or a wrong-shaped gradient is refused.
  ad::Parameter<double> w("w", Tensor<double>{{2.0, -1.0}});
  ad::Tape<double> tape;
  auto x = tape.parameter(w);
  auto tripled = ad::mul_scalar(x, 3.0);
  auto squared = ad::square(x);
  auto J = ad::sum(ad::add(tripled, squared));
  tape.backward(J);
  BOOST_TEST(w.grad == (Tensor<double>{{7.0, 1.0}}), tt::per_element());
  const Tensor<double> ones{{1.0, 1.0}};
  tape.backward_alone(squared.index(), ones);
  BOOST_TEST(tape.reached(x.index()));
  BOOST_TEST(w.grad == (Tensor<double>{{4.0, -2.0}}), tt::per_element());
  tape.backward_alone(tripled.index(), ones);
  BOOST_TEST(w.grad == (Tensor<double>{{3.0, 3.0}}), tt::per_element());
  BOOST_CHECK_THROW(tape.backward_alone(x.index(), ones), ad::TapeError);
  BOOST_CHECK_THROW(tape.backward_alone(squared.index(), Tensor<double>{{1.0}}), ad::ShapeError);
}

BOOST_AUTO_TEST_CASE(a_small_classifier_with_reused_nodes_and_l2) {
  ad::Parameter<double> W1("W[1]", random(5, 3, 3)), b1("b[1]", random(5, 1, 4)), W2("W[2]", random(4, 5, 5)),
      b2("b[2]", random(4, 1, 6));
  ad::Tape<double> tape;
  auto J = classifier(tape, W1, b1, W2, b2, random(3, 6, 7, -2, 2), one_hot(4, 6));
  CHECK_GRADIENTS(fd::check(tape, J, {&W1, &b1, &W2, &b2}));
}

BOOST_AUTO_TEST_CASE(float_graph_gives_gradients_close_to_double) {
  const Tensor<double> X = random(3, 6, 7, -2, 2), Y = one_hot(4, 6);
  const Tensor<double> init[] = {random(5, 3, 3), random(5, 1, 4), random(4, 5, 5), random(4, 1, 6)};
  ad::Parameter<double> d[] = {{"W[1]", init[0]}, {"b[1]", init[1]}, {"W[2]", init[2]}, {"b[2]", init[3]}};
  ad::Parameter<float> f[] = {{"W[1]", xt::cast<float>(init[0])}, {"b[1]", xt::cast<float>(init[1])},
                              {"W[2]", xt::cast<float>(init[2])}, {"b[2]", xt::cast<float>(init[3])}};
  ad::Tape<double> dtape;
  ad::Tape<float> ftape;
  auto dJ = classifier(dtape, d[0], d[1], d[2], d[3], X, Y);
  auto fJ = classifier(ftape, f[0], f[1], f[2], f[3], Tensor<float>(xt::cast<float>(X)), Tensor<float>(xt::cast<float>(Y)));
  dtape.backward(dJ);
  ftape.backward(fJ);
  BOOST_TEST(fJ.value()(0, 0) == dJ.value()(0, 0), tt::tolerance(1e-5));
  for (int k = 0; k < 4; ++k) {
    const Tensor<double> fg = xt::cast<double>(f[k].grad);
    BOOST_TEST_CONTEXT(d[k].name) {
      // Relative to the block's largest element: float keeps ~7 digits.
      const double scale = xt::amax(xt::abs(d[k].grad))();
      BOOST_TEST(xt::amax(xt::abs(fg - d[k].grad))() <= 1e-5 * scale);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_float_graph_trains) {
  // Fit y = 2x − 1 with one linear unit: the cost must fall by orders of magnitude.
  ad::Parameter<float> w("W[1]", Tensor<float>{{0.0f}}), b("b[1]", Tensor<float>{{0.0f}});
  ad::Tape<float> tape;
  auto x = tape.input("X", Tensor<float>{{-1.0f, 0.0f, 0.5f, 2.0f}});
  auto y = tape.input("Y", Tensor<float>{{-3.0f, -1.0f, 0.0f, 3.0f}});
  auto J = ad::mean(ad::square(ad::sub(ad::linear(tape.parameter(w), x, tape.parameter(b)), y)));
  const float initial = J.value()(0, 0);
  for (int step = 0; step < 300; ++step) {
    tape.forward();
    tape.backward(J);
    for (auto* p : tape.parameters()) p->value -= 0.1f * p->grad;
  }
  tape.forward();
  BOOST_TEST(J.value()(0, 0) < 1e-6f * initial);
  BOOST_TEST(w.value(0, 0) == 2.0f, tt::tolerance(1e-3f));
  BOOST_TEST(b.value(0, 0) == -1.0f, tt::tolerance(1e-3f));
}

// y = x² with a backward that forgets the factor 2: the helper must flag it.
struct WrongSquare {
  static void forward(ad::Tape<double>& t, ad::Node<double>& n) {
    const Tensor<double>& x = t.value(n.parents[0]);
    n.value = x * x;
  }
  static void backward(ad::Tape<double>& t, ad::Node<double>& n) {
    t.sink(n.parents[0]).add(n.grad * t.value(n.parents[0]));
  }
  static constexpr ad::OpDef<double> def{"wrong_square", forward, backward};
};

BOOST_AUTO_TEST_CASE(the_finite_difference_helper_catches_a_wrong_backward) {
  const fd::Report report = fd::check_op({random(2, 3, 8, 0.5, 1)}, [](const V& v) {
    auto& tape = v[0].tape();
    return ad::Var<double>(&tape, tape.record(WrongSquare::def, {v[0].index()}, std::source_location::current()));
  });
  // ‖g − 2g‖ / (‖g‖ + ‖2g‖) = 1/3 for a gradient off by a factor 2.
  BOOST_TEST(report.max_relative_error == 1.0 / 3, tt::tolerance(1e-6));
}
