// Lesson 6: z̃ = γ·z_norm + β with no b before it, training with and without batch norm, and test
// time with the running (exponentially weighted) statistics against a single example's own.
#define BOOST_TEST_MODULE lesson06
#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(lesson6_numbers_csv_and_png) {
  const Run run = run_lesson();
  Cleanup cleanup{run.out};
  BOOST_CHECK_SMALL(run.claim("z_tilde_max_diff"), 1e-12);
  BOOST_CHECK_SMALL(run.claim("db_norm"), 1e-12);  // b before batch norm gets no gradient
  BOOST_CHECK(run.claim("dbeta_norm") > 1.0);
  // Same network, α and mini-batches: batch norm trains faster on badly scaled features.
  BOOST_CHECK(run.claim("bn_final_cost") < 0.6 * run.claim("plain_final_cost"));
  BOOST_CHECK(run.claim("bn_epochs_to_0.3") < run.claim("plain_epochs_to_0.3"));
  // Test time: running statistics work; a batch of one is refused by nn, and by the formula it
  // gives one answer for all (the majority class's share at best).
  BOOST_CHECK(run.claim("test_accuracy_running") > 0.9);
  BOOST_CHECK(run.claim("test_accuracy_test_batch") > 0.9);
  BOOST_CHECK_EQUAL(run.claim("single_refused"), 1.0);
  BOOST_CHECK(run.claim("test_accuracy_single") <= run.claim("majority_share"));
  BOOST_CHECK(run.claim("test_accuracy_running") > run.claim("test_accuracy_single") + 0.3);
  BOOST_CHECK(run.claim("running_mean_rel_diff") < 0.1);

  const auto curves = read_columns(run.out / "lesson06_training_curves.csv");
  BOOST_REQUIRE_EQUAL(curves.at("epoch").size(), 30u);
  BOOST_CHECK_EQUAL(curves.at("batch norm").back(), run.claim("bn_final_cost"));
  BOOST_CHECK_EQUAL(curves.at("no batch norm").back(), run.claim("plain_final_cost"));
  run.check_picture("lesson06_training_curves");
}
