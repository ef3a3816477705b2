// How the checker searches, beyond the course's recipe: it keeps going after a failure, samples
// every block (stratified, repeatable by seed; vectors whole), probes blocks before checking
// elements (a failed probe is never overruled by a sample), sweeps ε on a failure (graded at the
// best ε when that decides the verdict), and gives an ε-free second opinion (the Taylor slope).
#define BOOST_TEST_MODULE gradcheck search strategies
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include <gradcheck/gradcheck.hpp>

#include "planted.hpp"
#include "error_text.hpp"

using planted::Bug;

namespace {

gc::Report check_with(const planted::Plan& plan, const gc::Options& o) {
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  auto J = mlp.cost(tape, plan);
  return gc::check(tape, J, mlp.parameters(), o);
}

using test_support::contains;

bool any_contains(const std::vector<std::string>& texts, const std::string& part) {
  return std::any_of(texts.begin(), texts.end(), [&](const std::string& t) { return contains(t, part); });
}

gc::Options with_mode(gc::Mode mode, std::uint64_t seed = 3) {
  gc::Options o;
  o.mode = mode;
  o.seed = seed;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(keeps_going_after_a_failure) {
  planted::Plan plan;
  plan.layer[1] = Bug::db_sign;    // the first block to fail...
  plan.layer[3] = Bug::dW_times_m; // ...and a later one
  const auto report = check_with(plan, {});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_REQUIRE_EQUAL(report.blocks.size(), 6u);
  for (const auto& b : report.blocks) {
    BOOST_TEST_CONTEXT(b.name) {
      BOOST_TEST(b.checked == b.shape[0] * b.shape[1]);  // every block fully checked
      const bool planted = b.name == "b[1]" || b.name == "W[3]";
      BOOST_TEST((b.verdict == gc::Verdict::fail) == planted);
      BOOST_TEST((b.verdict == gc::Verdict::pass) == !planted);
    }
  }
}

BOOST_AUTO_TEST_CASE(sampling_is_stratified) {
  auto o = with_mode(gc::Mode::sampled);
  o.samples_per_block = 10;
  const auto report = check_with({}, o);
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.passed());
  BOOST_REQUIRE_EQUAL(report.blocks.size(), 6u);
  // k elements in every matrix block, but never fewer than cover every row and every column (32 of
  // the (32, 20), (32, 32) and (5, 32) blocks); all of a vector block (a bias: each element is its
  // own unit's parameter), however small k is. The row says what was covered.
  BOOST_TEST(report.block("W[1]")->checked == 32u);
  BOOST_TEST(report.block("W[2]")->checked == 32u);
  BOOST_TEST(report.block("W[3]")->checked == 32u);
  BOOST_TEST(report.block("W[2]")->coverage == "32 of 1024 elements, every row and column");
  BOOST_TEST(report.block("b[1]")->checked == 32u);
  BOOST_TEST(report.block("b[2]")->checked == 32u);
  BOOST_TEST(report.block("b[3]")->checked == 5u);

  // A row vector (1, n) too, e.g. a γ stored as a row.
  ad::Parameter<double> gamma("gamma", planted::Mlp<double>::random(1, 30, 4, 1));
  ad::Tape<double> tape;
  const auto row = gc::check(tape, ad::sum(ad::tanh(tape.parameter(gamma))), {&gamma}, o);
  BOOST_TEST(row.passed());
  BOOST_TEST(row.block("gamma")->checked == 30u);
}

BOOST_AUTO_TEST_CASE(sampling_is_repeatable_by_seed) {
  // A sampled check of a wrong block: the worst element found depends on the sample only.
  auto o = with_mode(gc::Mode::sampled, 11);
  o.samples_per_block = 5;
  const auto plan = planted::plant(2, Bug::dW_wrong);
  const auto first = check_with(plan, o), again = check_with(plan, o);
  BOOST_TEST(first.table().find("seed 11") != std::string::npos);  // printed, so a run can be repeated
  for (std::size_t k = 0; k < first.blocks.size(); ++k) {
    BOOST_TEST(first.blocks[k].worst_index == again.blocks[k].worst_index);
    BOOST_TEST(first.blocks[k].relative_error == again.blocks[k].relative_error);
  }
  // Another seed samples other elements somewhere.
  o.seed = 12;
  const auto other = check_with(plan, o);
  bool differs = false;
  for (std::size_t k = 0; k < first.blocks.size(); ++k)
    differs = differs || first.blocks[k].worst_index != other.blocks[k].worst_index;
  BOOST_TEST(differs);
}

BOOST_AUTO_TEST_CASE(probes_check_elements_only_in_the_failing_block) {
  auto o = with_mode(gc::Mode::probes);
  o.samples_per_block = 8;
  const auto report = check_with(planted::plant(2, Bug::db_times_m), o);
  BOOST_TEST_MESSAGE(report.table());
  for (const auto& b : report.blocks) {
    BOOST_TEST_CONTEXT(b.name) {
      if (b.name == "b[2]") {
        BOOST_TEST(b.verdict == gc::Verdict::fail);
        BOOST_TEST(b.checked == 32u);  // element level after the probe failed: the whole (small) block
        BOOST_TEST(b.diagnosis.find("missing 1/m") != std::string::npos, b.diagnosis);
        bool probe_noted = false;
        for (const auto& w : b.warnings) probe_noted = probe_noted || w.find("directional probe") != std::string::npos;
        BOOST_TEST(probe_noted);
      } else {
        BOOST_TEST(b.verdict == gc::Verdict::pass);
        BOOST_TEST(b.checked == 1u);  // one direction, no element-level work
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_failed_probe_is_not_overruled_by_a_sample) {
  // One wrong element among W[2]'s 1024 (its largest, sign-flipped): all mode fails W[2], and so
  // must the directional modes, whose probe catches it but whose sample of k elements would not.
  const auto plan = planted::plant(2, Bug::dW_one_element);
  const auto all = check_with(plan, {});
  BOOST_TEST_MESSAGE(all.table());
  BOOST_TEST(all.block("W[2]")->verdict == gc::Verdict::fail);
  for (auto mode : {gc::Mode::probes, gc::Mode::directional}) {
    BOOST_TEST_CONTEXT("mode " << mode) {
      auto o = with_mode(mode);
      const auto report = check_with(plan, o);
      BOOST_TEST_MESSAGE(report.table());
      BOOST_TEST(!report.passed());
      const auto* w = report.block("W[2]");
      BOOST_TEST(w->verdict == gc::Verdict::fail);
      BOOST_TEST(w->checked == 1024u);  // small enough to be checked whole once flagged
      BOOST_TEST(w->worst_index == all.block("W[2]")->worst_index);  // the wrong element itself
      BOOST_TEST(any_contains(w->warnings, "checked all 1024 elements"));

      // Over whole_recheck_limit the block gets a sample, which misses the element here: the
      // direction's verdict stands, and the report says where the bug must be.
      o.whole_recheck_limit = 100;
      const auto sampled = check_with(plan, o);
      BOOST_TEST_MESSAGE(sampled.table());
      BOOST_TEST(!sampled.passed());
      w = sampled.block("W[2]");
      BOOST_TEST(w->verdict == gc::Verdict::fail);
      BOOST_TEST(w->directional);  // the row is the direction's, whose verdict it is
      BOOST_TEST(contains(w->diagnosis, "not sampled"), w->diagnosis);
      BOOST_TEST(contains(w->diagnosis, "Mode::all"), w->diagnosis);
    }
  }
}

BOOST_AUTO_TEST_CASE(eps_sweep_is_recorded_on_a_failure) {
  const auto report = check_with(planted::plant(3, Bug::db_sign), {});
  const auto* b = report.block("b[3]");
  BOOST_REQUIRE(b);
  BOOST_TEST(b->verdict == gc::Verdict::fail);  // fails at the best ε too
  BOOST_TEST(b->eps_sweep.size() >= 5u);
  for (auto [eps, err] : b->eps_sweep) BOOST_TEST(err > 1e-3, "ε " << eps);
  BOOST_TEST(report.table().find("error vs ε") != std::string::npos);
  BOOST_TEST(report.to_json().at("blocks")[5].at("eps_sweep").size() == b->eps_sweep.size());
  // Passing blocks are not swept.
  BOOST_TEST(report.block("W[3]")->eps_sweep.empty());
}

BOOST_AUTO_TEST_CASE(a_step_size_problem_alone_passes) {
  // ε = 0.3 is far too coarse: the truncation error fails the first comparison, the sweep finds
  // a good ε and the check passes, with a warning about the step size.
  gc::Options o;
  o.eps = 0.3;
  const auto report = check_with({}, o);
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.passed());
  bool swept = false;
  for (const auto& b : report.blocks) {
    BOOST_TEST_CONTEXT(b.name) {
      BOOST_TEST(b.verdict == gc::Verdict::pass);
      if (!b.eps_sweep.empty()) {
        swept = true;
        BOOST_TEST(b.best_eps < 0.3);
        bool warned = false;
        for (const auto& w : b.warnings) warned = warned || w.find("step-size") != std::string::npos;
        BOOST_TEST(warned);
      }
    }
  }
  BOOST_TEST(swept);
}

BOOST_AUTO_TEST_CASE(the_sweep_grades_at_the_best_eps_when_that_decides_the_verdict) {
  // J = Σ exp(P) + c·Σ detach(exp(P)): backward leaves out the c part, a relative error ≈ c/2 =
  // 9e-4 at any fine step (a warning). At the coarse first ε = 0.085, truncation adds h²/12 ≈ 6e-4:
  // 1.5e-3, a failure. The best ε is less than twice better, but it decides the verdict.
  ad::Parameter<double> P("P", ad::Tensor<double>{{0.5, -0.3, 0.8}, {0.1, -0.7, 0.2}});
  ad::Tape<double> tape;
  auto e = ad::exp(tape.parameter(P));
  auto J = ad::sum(e) + ad::mul_scalar(ad::sum(ad::detach(e)), 1.8e-3);
  gc::Options o;
  o.eps = 0.085;
  o.sweep_eps = false;
  const auto first = gc::check(tape, J, {&P}, o);
  BOOST_TEST(first.block("P")->verdict == gc::Verdict::fail);  // the premise: the first ε fails
  BOOST_TEST(first.block("P")->relative_error < 2e-3);

  o.sweep_eps = true;
  const auto report = gc::check(tape, J, {&P}, o);
  BOOST_TEST_MESSAGE(report.table());
  const auto* p = report.block("P");
  BOOST_TEST(p->verdict == gc::Verdict::warning);
  // The row's figures are the requested ε's; the verdict's are the best ε's, shown beside them.
  BOOST_TEST(p->relative_error == first.block("P")->relative_error);
  BOOST_TEST(p->best_relative_error > 1e-7);
  BOOST_TEST(p->best_relative_error < 1e-3);
  BOOST_TEST(p->best_relative_error > 0.5 * first.block("P")->relative_error);  // not a "twice better" ε
  BOOST_TEST(p->best_eps <= 1e-2);
  BOOST_TEST(report.passed());
  // Honest about it: the row names the ε it was graded at, and a warning gives both errors.
  BOOST_TEST(contains(report.table(), fmt::format("warning at ε={:.0e}", p->best_eps)), report.table());
  BOOST_TEST(any_contains(p->warnings, "step-size"));
}

BOOST_AUTO_TEST_CASE(taylor_slope_tells_right_from_wrong) {
  // No sweep and a coarse ε: a right gradient "fails" on truncation error alone, and the Taylor
  // remainder, which needs no ε, says it is right (slope ~2); a wrong one has slope ~1.
  gc::Options o;
  o.eps = 0.3;
  o.sweep_eps = false;
  const auto coarse = check_with({}, o);
  BOOST_TEST_MESSAGE(coarse.table());
  bool measured = false;
  for (const auto& b : coarse.blocks)
    if (b.taylor_slope != 0) {
      measured = true;
      BOOST_TEST(b.taylor_slope > 1.7, b.name);
      BOOST_TEST(b.taylor_slope < 2.5, b.name);
    }
  BOOST_TEST(measured);

  const auto wrong = check_with(planted::plant(2, Bug::db_times_m), {});
  const auto* b = wrong.block("b[2]");
  BOOST_TEST_MESSAGE(wrong.table());
  BOOST_TEST(b->taylor_slope > 0.7);
  BOOST_TEST(b->taylor_slope < 1.3);
  BOOST_TEST(wrong.table().find("~1: the gradient is wrong") != std::string::npos);
}
