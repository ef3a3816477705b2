// The verdicts besides pass and fail, each on a small cost built to produce it: a kink of relu,
// abs, clip or maximum crossed inside ±ε is "kink" (not a bug, the check passes); a cost that
// changes at a fixed θ is "inconclusive" (never a false failure, the check does not pass); a
// parameter on the tape that does not reach the cost is "unused"; a reached block whose gradient
// is exactly zero passes and says so; and the magnitude warnings (a vanishing gradient, a cost far
// from order 1) are given when, and only when, they apply, in every mode. A kink excuses only the
// elements that crossed it, in the directional modes too (whose one direction moves them all).
#define BOOST_TEST_MODULE gradcheck kinks noise and unused blocks
#include <boost/test/unit_test.hpp>

#include <functional>
#include <random>
#include <string>

#include <gradcheck/gradcheck.hpp>

#include "planted.hpp"
#include "error_text.hpp"

namespace {

using Op = std::function<ad::Var<double>(ad::Var<double>)>;

using test_support::contains;

bool any_contains(const std::vector<std::string>& texts, const std::string& part) {
  for (const auto& t : texts)
    if (contains(t, part)) return true;
  return false;
}

// X (2, 3) with every element far (≥ 0.3) from the kinks at 0 and at the clip bounds ±2, except
// X(0, 1), which is set to `at_kink`; W (2, 3) is a smooth block beside it.
//   J = Σ C ⊙ op(X) + Σ tanh(W) ⊙ X
// The weights C make every element's gradient distinct and non-zero on the smooth side.
struct KinkCost {
  ad::Parameter<double> X{"X", ad::Tensor<double>{{0.7, 0.0, -0.9}, {1.3, -0.4, 0.5}}};
  ad::Parameter<double> W{"W", ad::Tensor<double>{{0.2, -0.6, 0.8}, {-1.1, 0.4, 0.3}}};
  ad::Tensor<double> C{{1.0, 2.0, -1.5}, {0.5, 1.2, -0.8}};

  explicit KinkCost(double at_kink) { X.value(0, 1) = at_kink; }

  gc::Report check(const Op& op, const gc::Options& o = {}) {
    ad::Tape<double> tape;
    auto x = tape.parameter(X);
    auto w = tape.parameter(W);
    auto J = ad::sum(ad::mul(tape.constant(C), op(x))) + ad::sum(ad::mul(ad::tanh(w), x));
    return gc::check(tape, J, {&X, &W}, o);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_crossed_kink_is_not_a_bug) {
  // The one element at (or within ε of) a kink: its two one-sided slopes differ, so the centered
  // difference (about the average) disagrees with the analytic subgradient. The checker sees the
  // branch flip, excludes that element, and calls the block "kink", not "FAIL".
  struct Case {
    const char* what;
    double at_kink;
    Op op;
  };
  const Case cases[] = {
      {"relu at exactly 0", 0.0, [](ad::Var<double> x) { return ad::relu(x); }},
      {"relu 1e-9 above 0", 1e-9, [](ad::Var<double> x) { return ad::relu(x); }},
      {"relu 1e-9 below 0", -1e-9, [](ad::Var<double> x) { return ad::relu(x); }},
      {"abs 1e-9 above 0", 1e-9, [](ad::Var<double> x) { return ad::abs(x); }},
      {"clip at its lower bound", -2.0, [](ad::Var<double> x) { return ad::clip(x, -2.0, 2.0); }},
      {"maximum(x, 0) 1e-9 above 0", 1e-9,
       [](ad::Var<double> x) { return ad::maximum(x, x.tape().constant(xt::zeros<double>({2, 3}))); }},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      KinkCost cost(c.at_kink);
      const auto report = cost.check(c.op);
      BOOST_TEST_MESSAGE(report.table());
      BOOST_TEST(report.passed());
      BOOST_TEST(report.deterministic);
      const auto* x = report.block("X");
      BOOST_REQUIRE(x);
      BOOST_TEST(x->verdict == gc::Verdict::kink);
      BOOST_TEST(x->kinks == 1u);
      BOOST_TEST(x->checked == 6u);  // all six compared: the kink's against its one-sided differences
      BOOST_TEST(x->relative_error < 1e-7);
      BOOST_TEST(contains(x->diagnosis, "kink"), "diagnosis: " << x->diagnosis);
      BOOST_TEST(contains(report.table(), "kink"));
      // The smooth block beside it is untouched by the kink.
      BOOST_TEST(report.block("W")->verdict == gc::Verdict::pass);
      BOOST_TEST(report.block("W")->kinks == 0u);
      BOOST_TEST(report.to_json().at("blocks")[0].at("verdict").get<std::string>() == "kink");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_kink_out_of_reach_is_a_plain_pass) {
  // The same costs with every element far from the kink: nothing is excluded, the verdict is pass.
  KinkCost cost(0.25);
  const auto report = cost.check([](ad::Var<double> x) { return ad::relu(x); });
  BOOST_TEST(report.passed());
  BOOST_TEST(report.block("X")->verdict == gc::Verdict::pass);
  BOOST_TEST(report.block("X")->kinks == 0u);
  BOOST_TEST(report.block("X")->checked == 6u);
}

// A 2-3-1 relu network whose pre-activation Z[1](0, 0) = b[1](0) sits exactly on relu's kink
// (X's first column is 0): the graph of the tests where a kink and a planted bug meet.
namespace {
struct ReluNetAtAKink {
  ad::Parameter<double> W1{"W[1]", ad::Tensor<double>{{0.5, -0.3}, {0.2, 0.7}, {-0.4, 0.1}}};
  ad::Parameter<double> b1{"b[1]", ad::Tensor<double>{{0.0}, {0.1}, {0.2}}};
  ad::Parameter<double> W2{"W[2]", ad::Tensor<double>{{0.3, -0.8, 0.6}}};
  ad::Parameter<double> b2{"b[2]", ad::Tensor<double>{{0.05}}};
  ad::Tensor<double> X{{0.0, 1.0, -0.5, 0.8}, {0.0, 0.3, 0.9, -1.2}};
};
}  // namespace

BOOST_AUTO_TEST_CASE(a_wrong_gradient_near_a_kink_still_fails) {
  // A kink excuses only the element that crossed it: a planted bug in another block of the same
  // graph (a relu network with one pre-activation at 0) still fails.
  ReluNetAtAKink net;
  auto& [W1, b1, W2, b2, X] = net;
  ad::Tape<double> tape;
  auto A1 = ad::relu(ad::linear(tape.parameter(W1), tape.constant(X), tape.parameter(b1)));
  auto A2 = planted::planted_linear(tape.parameter(W2), A1, tape.parameter(b2), true, planted::Bug::dW_sign);
  auto J = ad::sum(ad::square(A2));
  const auto report = gc::check(tape, J, {&W1, &b1, &W2, &b2});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.passed());
  BOOST_TEST(report.block("b[1]")->verdict == gc::Verdict::kink);
  BOOST_TEST(report.block("W[2]")->verdict == gc::Verdict::fail);
  BOOST_TEST(contains(report.block("W[2]")->diagnosis, "sign flip"), report.block("W[2]")->diagnosis);
  BOOST_TEST(report.block("b[2]")->verdict == gc::Verdict::pass);
}

BOOST_AUTO_TEST_CASE(a_direction_across_a_kink_falls_back_to_elements) {
  // A direction moves every element of its block at once, and one kink flag covers them all: a
  // crossing must not drop the block's only comparison. db[1] sign-flipped, feeding relu at
  // exactly 0 through b[1](0): every mode fails b[1] on the other two elements, and excuses only
  // the one at the kink.
  ReluNetAtAKink net;
  auto& [W1, b1, W2, b2, X] = net;
  ad::Tape<double> tape;
  auto Z1 = planted::planted_linear(tape.parameter(W1), tape.constant(X), tape.parameter(b1), false,
                                    planted::Bug::db_sign);
  auto A2 = ad::linear(tape.parameter(W2), ad::relu(Z1), tape.parameter(b2), ad::Activation::tanh);
  auto J = ad::sum(ad::square(A2));
  for (auto mode : {gc::Mode::all, gc::Mode::directional, gc::Mode::probes}) {
    BOOST_TEST_CONTEXT("mode " << mode) {
      gc::Options o;
      o.mode = mode;
      const auto report = gc::check(tape, J, {&W1, &b1, &W2, &b2}, o);
      BOOST_TEST_MESSAGE(report.table());
      BOOST_TEST(!report.passed());
      const auto* b = report.block("b[1]");
      BOOST_TEST(b->verdict == gc::Verdict::fail);
      // b[1](0) crossed the kink, and is compared too: its sign-flipped value lies outside the
      // interval of its one-sided differences, so it is no kink but part of the failure.
      BOOST_TEST(b->kinks == 0u);
      BOOST_TEST(b->checked == 3u);
      BOOST_TEST(contains(b->diagnosis, "sign flip"), b->diagnosis);
      for (const char* other : {"W[1]", "W[2]", "b[2]"}) BOOST_TEST(report.block(other)->verdict == gc::Verdict::pass, other);
    }
  }
  // A right gradient across a kink is still "kink" in the directional modes, not a failure.
  for (auto mode : {gc::Mode::directional, gc::Mode::probes}) {
    BOOST_TEST_CONTEXT("right gradient, mode " << mode) {
      gc::Options o;
      o.mode = mode;
      const auto report = KinkCost(0.0).check([](ad::Var<double> x) { return ad::relu(x); }, o);
      BOOST_TEST_MESSAGE(report.table());
      BOOST_TEST(report.passed());
      BOOST_TEST(report.block("X")->verdict == gc::Verdict::kink);
      BOOST_TEST(report.block("X")->kinks == 1u);
      BOOST_TEST(any_contains(report.block("X")->warnings, "direction crossed a kink"));
    }
  }
}

BOOST_AUTO_TEST_CASE(a_noisy_cost_is_inconclusive) {
  // The closure draws a fresh random number at every evaluation: at a fixed θ the cost changes,
  // and finite differences would measure the noise. The checker notices before comparing
  // anything, and says so instead of failing a right gradient.
  planted::Mlp<double> mlp;
  std::mt19937 rng(2024);
  std::uniform_real_distribution<double> noise(-1e-6, 1e-6);
  std::size_t calls = 0;
  auto build = [&](ad::Tape<double>& tape) {
    ++calls;
    const double n = noise(rng);
    return ad::add_scalar(mlp.cost(tape), n);
  };
  const auto report = gc::check(build, mlp.parameters());
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.deterministic);
  BOOST_TEST(!report.passed());
  BOOST_REQUIRE_EQUAL(report.blocks.size(), 6u);
  for (const auto& b : report.blocks) {
    BOOST_TEST_CONTEXT(b.name) {
      BOOST_TEST(b.verdict == gc::Verdict::inconclusive);
      BOOST_TEST(b.verdict != gc::Verdict::fail);
      BOOST_TEST(b.checked == 0u);  // nothing compared: a noisy comparison means nothing
      // The cause is named: the cost is not deterministic, and the likely culprit.
      BOOST_TEST(contains(b.diagnosis, "random source is not frozen"), b.diagnosis);
      BOOST_TEST(contains(b.diagnosis, "dropout"), b.diagnosis);
    }
  }
  BOOST_TEST(contains(report.table(), "INCONCLUSIVE"));
  BOOST_TEST(report.to_json().at("deterministic").get<bool>() == false);
  BOOST_TEST(report.to_json().at("blocks")[0].at("verdict").get<std::string>() == "inconclusive");
  // It stopped after the noise floor: a handful of evaluations, not thousands.
  BOOST_TEST(calls < 20u);

  // The same closure without the noise is deterministic and passes: the noise was the cause.
  const auto quiet = gc::check([&](ad::Tape<double>& tape) { return mlp.cost(tape); }, mlp.parameters());
  BOOST_TEST(quiet.deterministic);
  BOOST_TEST(quiet.passed());
}

BOOST_AUTO_TEST_CASE(a_parameter_that_does_not_reach_the_cost_is_unused) {
  // U is on the tape but the cost does not depend on it; V feeds a dead branch (computed, never
  // used by the cost). Both are "unused"; the blocks that do reach the cost pass.
  ad::Parameter<double> W("W", ad::Tensor<double>{{0.5, -1.0}, {0.25, 0.75}});
  ad::Parameter<double> U("U", ad::Tensor<double>{{1.0, 2.0, 3.0}});
  ad::Parameter<double> V("V", ad::Tensor<double>{{-0.5}, {0.5}});
  ad::Tape<double> tape;
  auto w = tape.parameter(W);
  tape.parameter(U);
  auto dead = ad::sum(ad::exp(tape.parameter(V)));
  (void)dead;
  auto J = ad::sum(ad::tanh(w) * w);
  const auto report = gc::check(tape, J, {&W, &U, &V});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.passed());  // unused is not a failure
  BOOST_TEST(report.block("W")->verdict == gc::Verdict::pass);
  BOOST_TEST(report.block("W")->relative_error < 1e-7);
  for (const char* name : {"U", "V"}) {
    BOOST_TEST_CONTEXT(name) {
      const auto* b = report.block(name);
      BOOST_REQUIRE(b);
      BOOST_TEST(b->verdict == gc::Verdict::unused);
      BOOST_TEST(b->numeric_norm == 0);
      BOOST_TEST(b->analytic_norm == 0);
      BOOST_TEST(contains(b->diagnosis, "does not reach the cost"), b->diagnosis);
    }
  }
  BOOST_TEST(contains(report.table(), "unused"));
}

BOOST_AUTO_TEST_CASE(a_reached_block_with_zero_gradient_passes_and_says_so) {
  // Z reaches the cost (backward writes to it) but only through a product with zeros: both
  // gradients are exactly zero. That is a pass, not "unused" (backward did reach it), and the
  // diagnosis states why the relative error 0/0 is taken as a pass.
  ad::Parameter<double> W("W", ad::Tensor<double>{{0.5, -1.0}, {0.25, 0.75}});
  ad::Parameter<double> Z("Z", ad::Tensor<double>{{1.5, -2.0}, {0.3, 4.0}});
  ad::Tape<double> tape;
  auto w = tape.parameter(W);
  auto z = tape.parameter(Z);
  auto J = ad::sum(ad::tanh(w) * w) + ad::sum(ad::mul(z, tape.constant(xt::zeros<double>({2, 2}))));
  const auto report = gc::check(tape, J, {&W, &Z});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.passed());
  BOOST_TEST(tape.reached(Z));  // the premise: backward did reach Z
  const auto* z_result = report.block("Z");
  BOOST_TEST(z_result->verdict == gc::Verdict::pass);
  BOOST_TEST(z_result->analytic_norm == 0);
  BOOST_TEST(z_result->numeric_norm == 0);
  BOOST_TEST(z_result->checked == 4u);
  BOOST_TEST(contains(z_result->diagnosis, "both gradients are exactly zero"), z_result->diagnosis);
  BOOST_TEST(contains(z_result->diagnosis, "pass"), z_result->diagnosis);
  BOOST_TEST(contains(report.table(), "Z: both gradients are exactly zero"));
  // A block with a real gradient carries no such note.
  BOOST_TEST(report.block("W")->diagnosis.empty());
}

BOOST_AUTO_TEST_CASE(a_vanishing_gradient_is_warned_about) {
  // J = 1e-12·Σ P²: the gradient is right (the block passes: the cost is tiny too, so the
  // differences are not rounded away), but its norm ~4.6e-12 is below 1e-10 and the block is
  // warned about. (Blocks of ordinary size get no such warning: see the MLP below.)
  ad::Parameter<double> P("P", ad::Tensor<double>{{0.5, -1.0, 2.0}});
  ad::Tape<double> tape;
  auto J = ad::mul_scalar(ad::sum(ad::square(tape.parameter(P))), 1e-12);
  const auto report = gc::check(tape, J, {&P});
  BOOST_TEST_MESSAGE(report.table());
  const auto* p = report.block("P");
  BOOST_TEST(p->analytic_norm < 1e-10);
  BOOST_TEST(p->analytic_norm > 0);
  BOOST_TEST(p->verdict == gc::Verdict::pass);
  BOOST_TEST(any_contains(p->warnings, "vanishing"), "warnings of P: " << p->warnings.size());
  BOOST_TEST(contains(report.table(), "P: gradient norm"));
  BOOST_TEST(contains(report.table(), "vanishing"));

  // In every mode: the norm is the whole analytic gradient's, whichever elements were compared.
  ad::Parameter<double> Q("Q", planted::Mlp<double>::random(6, 6, 9, 1));
  ad::Tape<double> q_tape;
  auto K = ad::mul_scalar(ad::sum(ad::square(q_tape.parameter(Q))), 1e-12);
  for (auto mode : {gc::Mode::sampled, gc::Mode::directional, gc::Mode::probes}) {
    gc::Options o;
    o.mode = mode;
    const auto q = gc::check(q_tape, K, {&Q}, o);
    BOOST_TEST(q.block("Q")->checked < 36u, mode);  // a sample, or one direction
    BOOST_TEST(any_contains(q.block("Q")->warnings, "vanishing"), mode);
  }
}

BOOST_AUTO_TEST_CASE(a_cost_far_from_order_one_gets_a_note) {
  // J ≈ 1e6: relative errors lose meaning at that scale, and the report says so.
  ad::Parameter<double> P("P", ad::Tensor<double>{{0.5, -1.0, 2.0}});
  ad::Tape<double> tape;
  auto J = ad::mul_scalar(ad::sum(ad::square(tape.parameter(P))), 1e6 / 5.25);  // Σ P² = 5.25
  const auto report = gc::check(tape, J, {&P});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.cost == 1e6, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(report.passed());  // a note, not a failure
  BOOST_TEST(any_contains(report.notes, "far from order 1"));
  BOOST_TEST(any_contains(report.notes, "1.000e+06"));
  BOOST_TEST(contains(report.table(), "note: the cost"));
  BOOST_TEST(report.to_json().at("notes").size() == report.notes.size());

  // A cost of order 1 (the MLP's, J ≈ 1.9) has no note at all.
  planted::Mlp<double> mlp;
  ad::Tape<double> mlp_tape;
  const auto ordinary = gc::check(mlp_tape, mlp.cost(mlp_tape), mlp.parameters());
  BOOST_TEST(ordinary.notes.empty());
  for (const auto& b : ordinary.blocks) BOOST_TEST(!any_contains(b.warnings, "vanishing"), b.name);
}
