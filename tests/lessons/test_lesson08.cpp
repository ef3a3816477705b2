// Lesson 8: nn's optimizers on a saddle and a plateau (the adaptive ones leave both quickly,
// gradient descent crawls), the learning-rate schedules against the course's table (the trainer's
// epoch is the course's epoch_num), and the exponentially weighted average's quiz.
#define BOOST_TEST_MODULE lesson08
#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(lesson8_numbers_csv_and_png) {
  const Run run = run_lesson();
  Cleanup cleanup{run.out};
  // Saddle: gradient descent leaves the ridge at the (1 + 2α)^t pace, ln(500)/ln(1.1) ≈ 65 steps;
  // RMSProp and Adam in a few.
  BOOST_CHECK(run.claim("saddle_gradient_descent_escape") > 50);
  BOOST_CHECK(run.claim("saddle_gradient_descent_escape") < 80);
  BOOST_CHECK(run.claim("saddle_rmsprop_escape") < 20);
  BOOST_CHECK(run.claim("saddle_adam_escape") < 20);
  BOOST_CHECK(run.claim("saddle_adam_final_cost") < -0.99);  // the minimum is −1 at (0, ±√2)
  // Plateau: gradient descent and (the course's) momentum never leave in 200 steps; RMSProp and
  // Adam do.
  BOOST_CHECK_EQUAL(run.claim("plateau_gradient_descent_leave"), 201.0);
  BOOST_CHECK_EQUAL(run.claim("plateau_momentum_leave"), 201.0);
  BOOST_CHECK(run.claim("plateau_gradient_descent_final_cost") > 0.99);
  BOOST_CHECK(run.claim("plateau_rmsprop_leave") < 100);
  BOOST_CHECK(run.claim("plateau_adam_leave") < 100);
  BOOST_CHECK(run.claim("plateau_adam_final_cost") < 1e-3);

  // The course's table: α0 = 0.2, decay_rate = 1.
  const double table[] = {0.1, 0.2 / 3, 0.05, 0.04};
  for (int k = 1; k <= 4; ++k) {
    BOOST_TEST_INFO("epoch_num " << k);
    BOOST_CHECK_CLOSE(run.claim(fmt::format("course_alpha_epoch_{}", k)), table[k - 1], 1e-9);
    BOOST_CHECK_CLOSE(run.claim(fmt::format("optimizer_alpha_index_{}", k)), table[k - 1], 1e-9);
    BOOST_CHECK_CLOSE(run.claim(fmt::format("trainer_alpha_epoch_{}", k)), table[k - 1], 1e-9);
  }
  // Fashion-MNIST curves: every optimizer lowers the cost and reaches a useful dev accuracy.
  for (const char* name : {"gradient_descent", "momentum", "rmsprop", "adam"}) {
    BOOST_TEST_INFO(name);
    BOOST_CHECK(run.claim(fmt::format("fashion_{}_last_cost", name)) < run.claim(fmt::format("fashion_{}_first_cost", name)));
    BOOST_CHECK(run.claim(fmt::format("fashion_{}_dev_accuracy", name)) > 0.7);
  }
  const auto fashion = read_columns(run.out / "lesson08_fashion_cost.csv");
  BOOST_CHECK_EQUAL(fashion.at("epoch").size(), 6u);
  run.check_picture("lesson08_fashion_cost");
  run.check_picture("lesson08_fashion_dev_accuracy");
  BOOST_CHECK_EQUAL(run.claim("ewa_quiz_v2"), 7.5);
  BOOST_CHECK_EQUAL(run.claim("ewa_quiz_v2_corrected"), 10.0);
  BOOST_CHECK_CLOSE(run.claim("exponential_epoch_10"), 0.2 * std::pow(0.95, 10), 1e-9);
  BOOST_CHECK_CLOSE(run.claim("staircase_epoch_7"), 0.05, 1e-9);

  const auto decay = read_columns(run.out / "lesson08_decay.csv");
  BOOST_REQUIRE_EQUAL(decay.at("epoch_num").size(), 11u);
  const auto saddle = read_columns(run.out / "lesson08_saddle.csv");
  BOOST_CHECK_EQUAL(saddle.at("step").size(), 201u);
  BOOST_CHECK_EQUAL(saddle.at("adam_x").front(), 1.5);
  run.check_picture("lesson08_saddle");
  run.check_picture("lesson08_plateau");
  run.check_picture("lesson08_decay");
}
