// How the checker searches, beyond the course's recipe: it keeps going after a failure, samples
// every block (stratified, repeatable by seed), probes blocks before checking elements, sweeps ε
// on a failure, and gives an ε-free second opinion (the Taylor remainder's slope).
#define BOOST_TEST_MODULE gradcheck search strategies
#include <boost/test/unit_test.hpp>

#include <gradcheck/gradcheck.hpp>

#include "planted.hpp"

using planted::Bug;

namespace {

gc::Report check_with(const planted::Plan& plan, const gc::Options& o) {
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  auto J = mlp.cost(tape, plan);
  return gc::check(tape, J, mlp.parameters(), o);
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
  // k elements in every block, however large; all of a block no larger than k (b[3] has 5).
  BOOST_TEST(report.block("W[1]")->checked == 10u);
  BOOST_TEST(report.block("W[2]")->checked == 10u);
  BOOST_TEST(report.block("W[3]")->checked == 10u);
  BOOST_TEST(report.block("b[1]")->checked == 10u);
  BOOST_TEST(report.block("b[3]")->checked == 5u);
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
        BOOST_TEST(b.checked == 8u);  // element level after the probe failed
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
