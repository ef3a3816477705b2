// The checker never passes a wrong gradient and never names a cause the numbers do not support:
// an element across a kink is still compared (against its one-sided differences); a gradient of
// the wrong shape is the block's diagnosis (and never read past its end); a noisy cost reports no
// engine-contract failures; the Taylor slope never says "looks right" on a failing block; a
// constant factor is named only when measurably ≠ 1; the row shows the requested ε's figures; a
// sampled matrix block has every row and column checked.
#define BOOST_TEST_MODULE gradcheck honest verdicts
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <string>

#include <gradcheck/gradcheck.hpp>

#include "error_text.hpp"
#include "planted.hpp"

using test_support::contains;

namespace {

// Z (n, m) + b (n, 1) broadcast over the columns, whose backward writes db = Σ over the rows:
// a (1, m) gradient for an (n, 1) bias (the course's np.sum(dZ, axis=0) mistake).
struct AddBiasWrongAxis {
  static void forward(ad::Tape<double>& t, ad::Node<double>& n) {
    const auto& Z = t.value(n.parents[0]);
    const auto& b = t.value(n.parents[1]);
    ad::ensure_shape(n.value, {Z.shape()[0], Z.shape()[1]});
    for (std::size_t i = 0; i < Z.shape()[0]; ++i)
      for (std::size_t j = 0; j < Z.shape()[1]; ++j) n.value(i, j) = Z(i, j) + b(i, 0);
  }
  static void backward(ad::Tape<double>& t, ad::Node<double>& n) {
    if (t.needs_grad(n.parents[0])) t.sink(n.parents[0]).add(n.grad);
    if (!t.needs_grad(n.parents[1])) return;
    ad::Tensor<double> db = xt::sum(n.grad, {0}, xt::keep_dims);  // (1, m): the wrong axis
    t.sink(n.parents[1]).add(db);
  }
  static constexpr ad::OpDef<double> def{"add_bias_wrong_axis", forward, backward};
};

ad::Var<double> add_bias_wrong_axis(ad::Var<double> Z, ad::Var<double> b) {
  auto& tape = Z.tape();
  return ad::Var<double>(&tape, tape.record(AddBiasWrongAxis::def, {Z.index(), b.index()}, std::source_location::current()));
}

// x ⊙ mask with a fresh mask at every forward, frozen or not: a random source the tape cannot hold.
struct UnfrozenDropout {
  static std::mt19937_64& rng() {
    static std::mt19937_64 r(7);
    return r;
  }
  static void forward(ad::Tape<double>& t, ad::Node<double>& n) {
    const auto& x = t.value(n.parents[0]);
    n.saved.resize(1);
    n.saved[0] = ad::Tensor<double>::from_shape({x.shape()[0], x.shape()[1]});
    std::bernoulli_distribution keep(0.7);
    for (double& m : n.saved[0]) m = keep(rng()) ? 1.0 : 0.0;
    n.value = x * n.saved[0];
  }
  static void backward(ad::Tape<double>& t, ad::Node<double>& n) {
    if (!t.needs_grad(n.parents[0])) return;
    t.sink(n.parents[0]).add(n.grad * n.saved[0]);
  }
  static constexpr ad::OpDef<double> def{"unfrozen_dropout", forward, backward};
};

ad::Var<double> unfrozen_dropout(ad::Var<double> x) {
  auto& tape = x.tape();
  return ad::Var<double>(&tape, tape.record(UnfrozenDropout::def, {x.index()}, std::source_location::current()));
}

ad::Tensor<double> random(std::size_t rows, std::size_t cols, std::uint64_t seed, double scale = 1) {
  return planted::Mlp<double>::random(rows, cols, seed, scale);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_wrong_bias_gradient_at_a_relu_kink_fails) {
  // The course's zero-initialised bias and an all-zero input example: that example's
  // pre-activation is exactly b = 0, so every element of b crosses relu's kink. The bias
  // gradient is m× too large: outside the interval of the one-sided differences, a bug.
  ad::Parameter<double> W("W", random(3, 3, 1));
  ad::Parameter<double> b("b", xt::zeros<double>({3, 1}));
  ad::Tensor<double> X = random(3, 4, 2);
  for (std::size_t k = 0; k < 3; ++k) X(k, 0) = 0;
  const ad::Tensor<double> C = random(3, 4, 3);
  ad::Tape<double> tape;
  auto Z = planted::planted_linear(tape.parameter(W), tape.constant(X), tape.parameter(b), false, planted::Bug::db_times_m);
  auto J = ad::sum(ad::mul(tape.constant(C), ad::relu(Z)));
  const auto report = gc::check(tape, J, {&W, &b});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.passed());
  BOOST_TEST(report.block("b")->verdict == gc::Verdict::fail);
  BOOST_TEST(report.block("b")->checked == 3u);  // compared, not excluded
  BOOST_TEST(report.block("W")->verdict == gc::Verdict::pass);

  // The same network with a right backward: the kink is a kink, not a failure.
  ad::Tape<double> right;
  auto Zr = planted::planted_linear(right.parameter(W), right.constant(X), right.parameter(b), false, planted::Bug::none);
  const auto ok = gc::check(right, ad::sum(ad::mul(right.constant(C), ad::relu(Zr))), {&W, &b});
  BOOST_TEST_MESSAGE(ok.table());
  BOOST_TEST(ok.passed());
  BOOST_TEST(ok.block("b")->verdict == gc::Verdict::kink);
  BOOST_TEST(ok.block("b")->checked == 3u);
}

BOOST_AUTO_TEST_CASE(a_sweep_step_at_which_every_element_crosses_is_never_the_best) {
  // P is a few 1e-3 from relu's kink and its L2 term is left out of backward: a failure at the
  // requested ε. At the sweep's ε = 1e-2 every element crosses the kink; that step compares no
  // element by its centered difference, so it cannot become "the best ε" and hide the bug.
  ad::Parameter<double> P("P", ad::Tensor<double>{{2e-3, -3e-3, 4e-3}, {-5e-3, 2.5e-3, -3.5e-3}});
  const ad::Tensor<double> C{{1.0, 2.0, -1.5}, {0.5, 1.2, -0.8}};
  ad::Tape<double> tape;
  auto p = tape.parameter(P);
  auto J = ad::sum(ad::mul(tape.constant(C), ad::relu(p))) + planted::l2_without_backward(p, 5.0);
  const auto report = gc::check(tape, J, {&P});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.passed());
  const auto* r = report.block("P");
  BOOST_TEST(r->verdict == gc::Verdict::fail);
  BOOST_TEST(r->best_eps != 1e-2);
  for (auto [eps, error] : r->eps_sweep) BOOST_TEST(eps != 1e-2, "a step that compared nothing is not in the sweep");
}

BOOST_AUTO_TEST_CASE(a_gradient_of_the_wrong_shape_is_the_diagnosis) {
  // db is (1, 3) for a (5, 1) bias: smaller than the parameter, never read past its end.
  ad::Parameter<double> b("b[1]", random(5, 1, 4));
  ad::Parameter<double> W("W[1]", random(5, 3, 5));
  ad::Tape<double> tape;
  auto Z = add_bias_wrong_axis(ad::tanh(tape.parameter(W)), tape.parameter(b));
  auto J = ad::sum(ad::tanh(Z));
  const auto report = gc::check(tape, J, {&W, &b});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.passed());
  const auto* r = report.block("b[1]");
  BOOST_TEST(r->verdict == gc::Verdict::fail);
  BOOST_TEST(contains(r->diagnosis, "db[1] has shape (1, 3) but b[1] is (5, 1): summed over the wrong axis?"),
             r->diagnosis);
  BOOST_TEST(r->taylor_slope == 0);  // nothing indexed by the parameter's size
  BOOST_TEST(report.block("W[1]")->verdict == gc::Verdict::pass);

  // The closure form and an operation's Jacobian say the same.
  const auto closure = gc::check(
      [&](ad::Tape<double>& t) { return ad::sum(ad::tanh(add_bias_wrong_axis(ad::tanh(t.parameter(W)), t.parameter(b)))); },
      {&W, &b});
  BOOST_TEST(contains(closure.block("b[1]")->diagnosis, "has shape (1, 3) but b[1] is (5, 1)"),
             closure.block("b[1]")->diagnosis);
  const auto jacobian = gc::check_jacobian(
      [](ad::Tape<double>&, const std::vector<ad::Var<double>>& in) { return add_bias_wrong_axis(in[0], in[1]); },
      {&W, &b});
  BOOST_TEST_MESSAGE(jacobian.table());
  BOOST_TEST(jacobian.block("b[1]")->verdict == gc::Verdict::fail);
  BOOST_TEST(contains(jacobian.block("b[1]")->diagnosis, "has shape (1, 3) but b[1] is (5, 1)"),
             jacobian.block("b[1]")->diagnosis);
}

BOOST_AUTO_TEST_CASE(a_noisy_cost_reports_no_contract_failures) {
  // A random source the tape cannot freeze: inconclusive, and no engine-contract line that the
  // redrawn masks, not the engine, would explain.
  ad::Parameter<double> W("W", random(4, 3, 6));
  ad::Tape<double> tape;
  auto J = ad::sum(ad::tanh(unfrozen_dropout(tape.parameter(W))));
  const auto report = gc::check(tape, J, {&W});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.deterministic);
  BOOST_TEST(report.contract_failures.empty());
  BOOST_TEST(!contains(report.table(), "engine contract broken"));
  BOOST_TEST(report.block("W")->verdict == gc::Verdict::inconclusive);
}

BOOST_AUTO_TEST_CASE(the_taylor_slope_does_not_contradict_a_real_failure) {
  // J = Σ exp(P) + c·Σ detach(exp(P)): backward leaves out the c part, a 3e-3 error. A random
  // direction at h ~1e-2 mixes the small first-order term with the h² term (slope ~1.6).
  ad::Parameter<double> P("P", ad::Tensor<double>{{0.5, -0.3, 0.8}, {0.1, -0.7, 0.2}});
  ad::Tape<double> tape;
  auto e = ad::exp(tape.parameter(P));
  auto J = ad::sum(e) + ad::mul_scalar(ad::sum(ad::detach(e)), 6e-3);
  const auto report = gc::check(tape, J, {&P});
  BOOST_TEST_MESSAGE(report.table());
  const auto* p = report.block("P");
  BOOST_TEST(p->verdict == gc::Verdict::fail);
  BOOST_TEST(p->taylor_slope > 0.7);
  BOOST_TEST(p->taylor_slope < 1.3);
  BOOST_TEST(!contains(report.table(), "looks right"));
}

BOOST_AUTO_TEST_CASE(rounding_is_not_named_a_constant_factor) {
  // A right gradient at rounding level (J = 10 + 1e-3·Σ tanh(P): the 10 costs the centered
  // difference ~1e-5 of the tiny gradient): a warning, and "1× numeric" is no cause.
  ad::Parameter<double> P("P", random(4, 4, 8));
  ad::Tape<double> tape;
  auto J = ad::add_scalar(ad::mul_scalar(ad::sum(ad::tanh(tape.parameter(P))), 1e-3), 10.0);
  gc::Options o;
  o.sweep_eps = false;
  const auto report = gc::check(tape, J, {&P}, o);
  BOOST_TEST_MESSAGE(report.table());
  const auto* p = report.block("P");
  BOOST_TEST(p->verdict == gc::Verdict::warning);  // the premise
  BOOST_TEST(!contains(p->diagnosis, "× numeric"), p->diagnosis);
  BOOST_TEST(contains(p->diagnosis, "no simple pattern"), p->diagnosis);
}

BOOST_AUTO_TEST_CASE(a_constant_factor_is_named_with_its_residual) {
  const auto report = [] {
    planted::Mlp<double> mlp;
    ad::Tape<double> tape;
    auto J = mlp.cost(tape, planted::plant(2, planted::Bug::db_times_m));
    return gc::check(tape, J, mlp.parameters());
  }();
  const auto* b = report.block("b[2]");
  BOOST_TEST(contains(b->diagnosis, "16× numeric"), b->diagnosis);
  BOOST_TEST(contains(b->diagnosis, "residual"), b->diagnosis);
}

BOOST_AUTO_TEST_CASE(the_row_shows_the_requested_eps) {
  // The course's lesson: θ³ at θ = 1 with ε = 0.01 gives 3.0001, not 3.
  ad::Parameter<double> theta("theta", ad::Tensor<double>{{1.0}});
  ad::Tape<double> tape;
  auto t = tape.parameter(theta);
  auto J = ad::mul(ad::mul(t, t), t);
  gc::Options o;
  o.eps = 0.01;
  const auto report = gc::check(tape, J, {&theta}, o);
  BOOST_TEST_MESSAGE(report.table());
  const auto* r = report.block("theta");
  BOOST_TEST(std::abs(r->worst_numeric - 3.0001) < 1e-9);
  BOOST_TEST(std::abs(r->relative_error - 1e-4 / 6.0001) < 1e-9);
  BOOST_TEST(contains(report.table(), "3.0001"));
  // Graded at the sweep's best ε, shown beside the requested one's figures.
  BOOST_TEST(r->best_eps < 0.01);
  BOOST_TEST(r->best_relative_error < 1e-7);
  BOOST_TEST(r->verdict == gc::Verdict::pass);
  BOOST_TEST(contains(report.table(), fmt::format("pass at ε={:.0e}", r->best_eps)), report.table());
}

BOOST_AUTO_TEST_CASE(sampling_covers_every_row_and_column) {
  // A bug confined to row 7 of a (12, 16) block (backward leaves out that row's c·Σ detach term):
  // a plain sample of 20 of 192 elements misses the row at some seeds.
  ad::Parameter<double> W("W", random(12, 16, 9));
  ad::Tensor<double> row = xt::zeros<double>({12, 16});
  for (std::size_t j = 0; j < 16; ++j) row(7, j) = 0.5;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      ad::Tape<double> tape;
      auto w = tape.parameter(W);
      auto J = ad::sum(ad::tanh(w)) + ad::sum(ad::mul(tape.constant(row), ad::detach(w)));
      gc::Options o;
      o.mode = gc::Mode::sampled;
      o.seed = seed;
      const auto report = gc::check(tape, J, {&W}, o);
      BOOST_TEST(report.block("W")->verdict == gc::Verdict::fail);
      BOOST_TEST(report.block("W")->checked == 20u);
      BOOST_TEST(contains(report.table(), "20 of 192 elements, every row and column"), report.table());
    }
  }
}
