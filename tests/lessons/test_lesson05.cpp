// Lesson 5: normalized inputs reach the cost in far fewer steps than raw ones (each at its own
// fastest safe rate, 1/λ_max), and a test set normalized with its own μ, σ costs far more than
// one normalized with the training set's.
#define BOOST_TEST_MODULE lesson05
#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(lesson5_numbers_csv_and_png) {
  const Run run = run_lesson();
  Cleanup cleanup{run.out};
  // x2 has scale 30: the raw Hessian's λ_max is ~2·30², the normalized one's ~2.
  BOOST_CHECK(run.claim("raw_lambda_max") > 1000);
  BOOST_CHECK(run.claim("normalized_lambda_max") < 4);
  BOOST_CHECK(run.claim("normalized_steps") < 50);
  BOOST_CHECK(run.claim("raw_steps") < 200000);  // it does get there
  BOOST_CHECK(run.claim("raw_steps") > 20 * run.claim("normalized_steps"));
  BOOST_CHECK(run.claim("test_cost_own_stats") > 10 * run.claim("test_cost_train_stats"));

  const auto raw_path = read_columns(run.out / "lesson05_raw_contours.csv");
  BOOST_CHECK_EQUAL(raw_path.at("step").size(), 60u);
  const auto grid = read_columns(run.out / "lesson05_raw_contours_grid.csv");
  BOOST_CHECK_EQUAL(grid.at("J").size(), 70u * 70u);
  run.check_picture("lesson05_raw_contours");
  run.check_picture("lesson05_normalized_contours");
}
