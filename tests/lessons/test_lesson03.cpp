// Lesson 3: ŷ = a^(L−1)·x in the deep linear network, the quiz answered by measurement, and the
// gradient reaching layer l shrinking (a = 0.5) or growing (a = 1.5) as a^(L−1−l).
#define BOOST_TEST_MODULE lesson03
#include <cmath>

#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(lesson3_numbers_csv_and_png) {
  const Run run = run_lesson();
  Cleanup cleanup{run.out};
  BOOST_CHECK_CLOSE(run.claim("gain_1.5_L10"), std::pow(1.5, 9), 1e-9);
  BOOST_CHECK_CLOSE(run.claim("gain_1.5_L50"), std::pow(1.5, 49), 1e-9);
  BOOST_CHECK_CLOSE(run.claim("gain_0.5_L50"), std::pow(0.5, 49), 1e-9);
  BOOST_CHECK_CLOSE(run.claim("quiz_1"), std::pow(0.5, 4), 1e-9);
  BOOST_CHECK_CLOSE(run.claim("quiz_4"), std::pow(0.3, 9), 1e-9);
  BOOST_CHECK_EQUAL(run.claim("quiz_answer"), 4.0);  // 0.3E with 10 layers
  BOOST_CHECK_CLOSE(run.claim("dA1_over_dA19_0.5"), std::pow(0.5, 18), 1e-9);
  BOOST_CHECK_CLOSE(run.claim("dA1_over_dA19_1.5"), std::pow(1.5, 18), 1e-9);
  BOOST_CHECK_CLOSE(run.claim("dW1_0.5"), std::sqrt(10.0) * std::pow(0.5, 18), 1e-9);

  const auto per_layer = read_columns(run.out / "lesson03_gradient_per_layer.csv");
  BOOST_REQUIRE_EQUAL(per_layer.at("layer").size(), 20u);
  for (std::size_t l = 0; l + 1 < 20; ++l) {  // ‖dA[l]‖ = √2·a^(19−l) for l = 1..19 (index l − 1)
    BOOST_CHECK_CLOSE(per_layer.at("a = 0.5")[l], std::sqrt(2.0) * std::pow(0.5, 18.0 - double(l)), 1e-9);
    BOOST_CHECK_CLOSE(per_layer.at("a = 1")[l], std::sqrt(2.0), 1e-9);
  }
  run.check_picture("lesson03_gradient_per_layer");
  run.check_picture("lesson03_output_vs_depth");
}
