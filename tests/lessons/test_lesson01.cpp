// Lesson 1: the course's 3.0001 and 3.0301 at ε = 0.01, the orders O(ε²) and O(ε), and rounding
// taking over at small ε, read back from what the program wrote.
#define BOOST_TEST_MODULE lesson01
#include <algorithm>

#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(lesson1_numbers_csv_and_png) {
  const Run run = run_lesson();
  Cleanup cleanup{run.out};
  BOOST_CHECK_EQUAL(run.claim("analytic"), 3.0);
  BOOST_CHECK_CLOSE(run.claim("centered_at_0.01"), 3.0001, 1e-9);
  BOOST_CHECK_CLOSE(run.claim("one_sided_at_0.01"), 3.0301, 1e-9);
  BOOST_CHECK_CLOSE(run.claim("centered_slope"), 2.0, 1.0);   // percent
  BOOST_CHECK_CLOSE(run.claim("one_sided_slope"), 1.0, 2.0);
  // Rounding: the two-sided error is smallest near (machine ε)^(1/3) ≈ 6e-6, the one-sided near
  // (machine ε)^(1/2) ≈ 1.5e-8, and at ε = 1e-12 the two-sided error is back above 1e-6.
  BOOST_CHECK(run.claim("centered_best_eps") > 1e-7 && run.claim("centered_best_eps") < 1e-4);
  BOOST_CHECK(run.claim("one_sided_best_eps") > 1e-10 && run.claim("one_sided_best_eps") < 1e-6);
  BOOST_CHECK(run.claim("centered_error_at_1e-12") > 1e-6);

  const auto sweep = read_columns(run.out / "lesson01_eps_sweep.csv");
  BOOST_REQUIRE_EQUAL(sweep.at("epsilon").size(), 34u);
  BOOST_CHECK_CLOSE(sweep.at("epsilon").front(), 0.1, 1e-12);
  BOOST_CHECK_CLOSE(sweep.at("epsilon").back(), 1e-12, 1e-9);
  // At ε = 0.1 the errors are exactly ε² and 3ε + ε² (up to rounding).
  BOOST_CHECK_CLOSE(sweep.at("two-sided |error|").front(), 0.01, 1e-6);
  BOOST_CHECK_CLOSE(sweep.at("one-sided |error|").front(), 0.31, 1e-6);
  run.check_picture("lesson01_eps_sweep");
}

// Without gnuplot the lesson still runs to the end: its numbers and CSV, one note per picture.
BOOST_AUTO_TEST_CASE(lesson1_without_gnuplot_writes_the_csv_and_a_note) {
  const Run run = run_lesson("", "DLCOURSE_GNUPLOT=/nonexistent/gnuplot");
  Cleanup cleanup{run.out};
  BOOST_CHECK_CLOSE(run.claim("centered_at_0.01"), 3.0001, 1e-9);
  BOOST_CHECK(fs::exists(run.out / "lesson01_eps_sweep.csv"));
  BOOST_CHECK(!fs::exists(run.out / "lesson01_eps_sweep.png"));
  BOOST_TEST_INFO(run.stderr_text);
  BOOST_CHECK(run.stderr_text.find("plot: no gnuplot ('/nonexistent/gnuplot'") == 0);
  BOOST_CHECK_EQUAL(std::count(run.stderr_text.begin(), run.stderr_text.end(), '\n'), 1);
}
