// Lesson 7: the course's softmax example, a softmax classifier's straight class boundaries, and
// dZ = (ŷ − y)/m from the engine's backward and the gradient checker.
#define BOOST_TEST_MODULE lesson07
#include <algorithm>
#include <cmath>

#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(lesson7_numbers_csv_and_png) {
  const Run run = run_lesson();
  Cleanup cleanup{run.out};
  BOOST_CHECK_SMALL(run.claim("softmax_1") - 0.842, 5e-4);
  BOOST_CHECK_SMALL(run.claim("softmax_2") - 0.042, 5e-4);
  BOOST_CHECK_SMALL(run.claim("softmax_3") - 0.002, 5e-4);
  BOOST_CHECK_SMALL(run.claim("softmax_4") - 0.114, 5e-4);
  BOOST_CHECK_EQUAL(run.claim("hardmax"), 1.0);
  BOOST_CHECK(run.claim("accuracy") >= 0.95);
  BOOST_CHECK(run.claim("boundary_distance") <= 1.0);
  BOOST_CHECK_SMALL(run.claim("dZ_max_diff"), 1e-15);
  BOOST_CHECK(run.claim("gradcheck_relative_error") < 1e-7);
  BOOST_CHECK_EQUAL(run.claim("gradcheck_passed"), 1.0);

  const auto points = read_columns(run.out / "lesson07_regions.csv");
  BOOST_CHECK_EQUAL(points.at("class").size(), 300u);
  const auto grid = read_columns(run.out / "lesson07_regions_grid.csv");
  BOOST_CHECK_EQUAL(grid.at("class").size(), 120u * 120u);
  for (int c = 0; c < 3; ++c)  // every class owns part of the plane
    BOOST_CHECK(std::count(grid.at("class").begin(), grid.at("class").end(), double(c)) > 100);
  run.check_picture("lesson07_regions");
}
