// Lesson 10: the course's TensorFlow numbers (w = 0.1 after one step, ≈ 5 after 1001) from the
// engine's placeholder, feed and replay, and a second feed reaching the other minimum, w = 10.
#define BOOST_TEST_MODULE lesson10
#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(lesson10_numbers_csv_and_png) {
  const Run run = run_lesson();
  Cleanup cleanup{run.out};
  BOOST_CHECK_EQUAL(run.claim("w_initial"), 0.0);
  // float32: 0 − 0.01f·(−10) rounds to 0.099999994, the course's TensorFlow figure.
  BOOST_CHECK_EQUAL(float(run.claim("w_after_1")), 0.099999994f);
  // 5(1 − 0.98^1001) = 5 − 8e-9 exactly; float32 rounding leaves a few 1e-6 (the course: 4.9999886).
  BOOST_CHECK_SMALL(run.claim("w_after_1001") - 5.0, 5e-5);
  BOOST_CHECK_SMALL(run.claim("J_after_1001"), 1e-6);
  BOOST_CHECK_SMALL(run.claim("w_after_refeed") - 10.0, 1e-3);

  const auto w = read_columns(run.out / "lesson10_w_per_step.csv");
  BOOST_REQUIRE_EQUAL(w.at("step").size(), 2001u);
  BOOST_CHECK_CLOSE(w.at("w (float32, the engine)")[0], 0.1, 1e-4);
  // The engine's float path follows the exact one: w_k = 5(1 − 0.98^k).
  for (std::size_t k : {1u, 10u, 100u, 500u})
    BOOST_CHECK_CLOSE(w.at("w (float32, the engine)")[k], w.at("w exact")[k], 1e-3);
  run.check_picture("lesson10_w_per_step");
}
