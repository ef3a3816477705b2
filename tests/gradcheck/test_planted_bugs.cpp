// Each planted backward bug is flagged in the right block, every other block passes, and the
// diagnosis names the bug: wrong db[l] only, wrong dW[l] only, a missing 1/m, a sign flip, a
// transposed dW, L2 left out of backward, and a block dropped or disconnected in backward.
#define BOOST_TEST_MODULE gradcheck planted bugs
#include <boost/test/unit_test.hpp>

#include <gradcheck/gradcheck.hpp>

#include "expect_only.hpp"
#include "planted.hpp"

using planted::Bug;

namespace {

// `tell_l2_scale`: pass λ/m, which lets the checker recognise L2 left out of backward exactly.
gc::Report check_with(const planted::Plan& plan, bool tell_l2_scale = true) {
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  auto J = mlp.cost(tape, plan);
  gc::Options o;
  if (tell_l2_scale) o.l2_scale = mlp.l2_scale();
  auto report = gc::check(tape, J, mlp.parameters(), o);
  BOOST_REQUIRE_EQUAL(report.blocks.size(), 6u);  // W[l] and b[l] of the three layers, each reported
  return report;
}

}  // namespace

BOOST_AUTO_TEST_CASE(wrong_db_only) {
  // g'(Z) forgotten in db[1]: no constant factor, so the checker says so and shows the worst element.
  expect_only(check_with(planted::plant(1, Bug::db_wrong)), "b[1]", "no simple pattern");
}

BOOST_AUTO_TEST_CASE(wrong_dW_only) {
  expect_only(check_with(planted::plant(2, Bug::dW_wrong)), "W[2]", "no simple pattern");
}

BOOST_AUTO_TEST_CASE(missing_one_over_m) {
  const auto report = check_with(planted::plant(2, Bug::db_times_m));
  expect_only(report, "b[2]", "missing 1/m");
  BOOST_TEST(report.block("b[2]")->diagnosis.find("m = 16") != std::string::npos);
  BOOST_TEST(report.block("b[2]")->diagnosis.find("16×") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_one_over_m_in_dW) {
  expect_only(check_with(planted::plant(3, Bug::dW_times_m)), "W[3]", "missing 1/m");
}

BOOST_AUTO_TEST_CASE(sign_flip) {
  expect_only(check_with(planted::plant(3, Bug::db_sign)), "b[3]", "sign flip");
  expect_only(check_with(planted::plant(1, Bug::dW_sign)), "W[1]", "sign flip");
}

BOOST_AUTO_TEST_CASE(transposed_dW_of_a_square_W) {
  expect_only(check_with(planted::plant(2, Bug::dW_transposed)), "W[2]", "transpose");
}

BOOST_AUTO_TEST_CASE(l2_left_out_of_backward) {
  planted::Plan plan;
  plan.l2_missing = 2;
  const auto report = check_with(plan);
  expect_only(report, "W[2]", "L2");
  BOOST_TEST(report.block("W[2]")->diagnosis.find("left out of backward") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(l2_left_out_of_backward_with_default_options) {
  // Not told λ/m: numeric − analytic = c·W[2] is found by a least-squares fit, and c = λ/m.
  planted::Plan plan;
  plan.l2_missing = 2;
  const auto report = check_with(plan, false);
  BOOST_TEST(report.options.l2_scale == 0);
  expect_only(report, "W[2]", "left out of backward");
  const std::string& diagnosis = report.block("W[2]")->diagnosis;
  BOOST_TEST(diagnosis.find("L2 term") != std::string::npos, diagnosis);
  BOOST_TEST(diagnosis.find("λ/m ≈ 0.04375") != std::string::npos, diagnosis);  // 0.7 / 16
  // Other bugs are not mistaken for it without λ/m either.
  expect_only(check_with(planted::plant(2, Bug::dW_wrong), false), "W[2]", "no simple pattern");
  expect_only(check_with(planted::plant(3, Bug::db_sign), false), "b[3]", "sign flip");
}

BOOST_AUTO_TEST_CASE(block_dropped_in_backward) {
  // Backward writes zeros to db[3]: reached, but the analytic gradient is zero.
  const auto report = check_with(planted::plant(3, Bug::db_zero));
  expect_only(report, "b[3]", "drops");
  BOOST_TEST(report.block("b[3]")->analytic_norm == 0);
}

BOOST_AUTO_TEST_CASE(block_disconnected_in_backward) {
  // Backward never writes db[1]: the sweep does not reach b[1], although the cost depends on it.
  const auto report = check_with(planted::plant(1, Bug::db_skipped));
  expect_only(report, "b[1]", "disconnected");
  // Not "unused": the numeric gradient is not zero, so this is a bug.
  BOOST_TEST(report.block("b[1]")->numeric_norm > 0);
}

BOOST_AUTO_TEST_CASE(data_and_l2_terms_checked_separately) {
  // L2 left out of W[2]'s backward and a sign flip in dW[1]: checked term by term, the data term
  // fails only in W[1], the L2 term only in W[2] (whose analytic L2 gradient is zero), and the
  // biases, which the L2 term does not depend on, are "unused" there.
  planted::Mlp<double> mlp;
  planted::Plan plan = planted::plant(1, Bug::dW_sign);
  plan.l2_missing = 2;
  ad::Tape<double> tape;
  ad::Var<double> data, l2;
  mlp.cost(tape, plan, &data, &l2);
  const auto reports = gc::check_terms(tape, {{"data", data}, {"L2", l2}}, mlp.parameters());
  BOOST_REQUIRE_EQUAL(reports.size(), 2u);
  const auto& d = reports[0];
  const auto& r = reports[1];
  BOOST_TEST_MESSAGE(d.table() << r.table());
  BOOST_TEST(d.term == "data");
  BOOST_TEST(d.table().find("gradient check of the data term") != std::string::npos);
  BOOST_TEST(!d.passed());
  for (const auto& b : d.blocks)
    BOOST_TEST((b.verdict == (b.name == "W[1]" ? gc::Verdict::fail : gc::Verdict::pass)), b.name);
  BOOST_TEST(d.block("W[1]")->diagnosis.find("sign flip") != std::string::npos);

  BOOST_TEST(r.term == "L2");
  BOOST_TEST(!r.passed());
  for (const auto& b : r.blocks) {
    BOOST_TEST_CONTEXT(b.name) {
      if (b.name == "W[2]") {
        BOOST_TEST(b.verdict == gc::Verdict::fail);
        BOOST_TEST(b.analytic_norm == 0);
      } else if (b.name[0] == 'W') {
        BOOST_TEST(b.verdict == gc::Verdict::pass);
      } else {
        BOOST_TEST(b.verdict == gc::Verdict::unused);
      }
    }
  }
}
