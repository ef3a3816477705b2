// Lesson 9: sampling scales, coarse to fine, ASHA, caviar's bit-identical trials, panda.
#define BOOST_TEST_MODULE lesson09
#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(lesson9_numbers_csv_and_png) {
  const Run run = run_lesson();
  Cleanup cleanup{run.out};
  // Log scale: a quarter of the draws in each decade; linear: 90% in the top one.
  BOOST_CHECK_CLOSE(run.claim("log_scale_first_decade"), 0.25, 6);
  BOOST_CHECK_CLOSE(run.claim("linear_scale_last_decade"), 0.9, 2);
  BOOST_CHECK_CLOSE(run.claim("beta_log_above_0.99"), 0.5, 4);
  BOOST_CHECK_CLOSE(run.claim("beta_linear_above_0.99"), 0.009 / 0.099, 8);
  // Coarse to fine zooms in (4 decades of α at first) and does not get worse.
  BOOST_CHECK_EQUAL(run.claim("ctf_alpha_decades_round_1"), 4.0);
  BOOST_CHECK(run.claim("ctf_alpha_decades_round_3") < 3.0);
  BOOST_CHECK(run.claim("ctf_best_dev_cost_round_3") <= run.claim("ctf_best_dev_cost_round_1") * 1.02);
  // ASHA with η = 3 from 1 to 9 epochs: about 27·1 + 9·2 + 3·6 = 63 of 243 epochs (a few more:
  // asynchronous promotions see rungs before they fill); its winner is among the best of the
  // full-budget runs.
  BOOST_CHECK(run.claim("asha_epoch_share") >= 27.0 / 243);
  BOOST_CHECK(run.claim("asha_epoch_share") < 0.35);
  BOOST_CHECK(run.claim("asha_winner_rank") >= 1);
  BOOST_CHECK(run.claim("asha_winner_rank") <= 5);
  BOOST_CHECK_EQUAL(run.claim("caviar_max_difference"), 0.0);
  BOOST_CHECK_EQUAL(run.claim("panda_epochs"), 8.0);
  BOOST_CHECK_CLOSE(run.claim("panda_learning_rate_epoch_8"), 0.005, 1e-4);
  run.check_picture("lesson09_scales");
  run.check_picture("lesson09_ctf_alpha");
  run.check_picture("lesson09_asha_keep_prob");
  run.check_picture("lesson09_panda");
  const auto panda = read_columns(run.out / "lesson09_panda.csv");
  BOOST_CHECK_EQUAL(panda.at("epoch").size(), 8u);
}
