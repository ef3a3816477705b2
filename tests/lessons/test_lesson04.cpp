// Lesson 4: the initializers' variances, the activation scale per layer under each
// initialization (He kept, Xavier halving the variance per ReLU layer, 0.01 vanishing, zeros
// exactly zero) and zeros never breaking the symmetry.
#define BOOST_TEST_MODULE lesson04
#include <cmath>

#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(lesson4_numbers_csv_and_png) {
  const Run run = run_lesson();
  Cleanup cleanup{run.out};
  // 500 000 draws: the sample variance is within a few 0.1% of the rule's.
  for (const char* key : {"he_variance_ratio", "xavier_variance_ratio", "glorot_variance_ratio"}) {
    BOOST_TEST_INFO(key);
    BOOST_CHECK_CLOSE(run.claim(key), 1.0, 1.5);  // percent
  }
  BOOST_CHECK(run.claim("he_A10_over_A1") > 0.5 && run.claim("he_A10_over_A1") < 2.0);
  // Xavier: Var halves per ReLU layer, 9 layers from A[1] to A[10]: (1/√2)^9 ≈ 0.044.
  BOOST_CHECK(run.claim("xavier_A10_over_A1") > 0.02 && run.claim("xavier_A10_over_A1") < 0.1);
  // 0.01·N(0, 1): each layer scales by ~0.01·√(100/2) ≈ 0.07, 10 layers: ~1e-12.
  BOOST_CHECK(run.claim("small_A10_std") < 1e-9);
  BOOST_CHECK_EQUAL(run.claim("zeros_A10_std"), 0.0);
  BOOST_CHECK_EQUAL(run.claim("zeros_dW1_std"), 0.0);
  BOOST_CHECK_EQUAL(run.claim("zeros_row_spread"), 0.0);  // every unit of a layer still the same
  BOOST_CHECK(run.claim("he_row_spread") > 0.1);
  BOOST_CHECK(run.claim("he_dW1_std") > 1e-4);

  const auto scale = read_columns(run.out / "lesson04_activation_scale.csv");
  BOOST_REQUIRE_EQUAL(scale.at("layer").size(), 10u);
  BOOST_CHECK(std::isnan(scale.at("zeros")[0]));  // exactly 0: an empty cell, a gap on the log plot
  for (std::size_t l = 1; l < 10; ++l) BOOST_CHECK(scale.at("0.01·random")[l] < scale.at("0.01·random")[l - 1]);
  run.check_picture("lesson04_activation_scale");
  run.check_picture("lesson04_gradient_scale");
}
