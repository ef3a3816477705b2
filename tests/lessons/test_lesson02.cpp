// Lesson 2: the course's gradient check by hand (θ as one vector, ε = 1e-7) beside gc::check, at
// random initialization, after training, with dropout under frozen masks, and one planted bug at a
// time, each failing exactly its block with the diagnosis the report gives.
#define BOOST_TEST_MODULE lesson02
#include <map>

#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(lesson2_numbers_csv_and_png) {
  const Run run = run_lesson();
  Cleanup cleanup{run.out};
  BOOST_CHECK(run.claim("course_init") < 1e-7);
  BOOST_CHECK(run.claim("checker_init") < 1e-7);
  BOOST_CHECK_EQUAL(run.claim("checker_init_passed"), 1.0);
  BOOST_CHECK(run.claim("cost_drop") < 0.6);
  // After training the course's figure is near 1e-7 (rounding over small gradients), never a bug.
  BOOST_CHECK(run.claim("course_trained") < 1e-5);
  BOOST_CHECK_EQUAL(run.claim("checker_trained_passed"), 1.0);
  BOOST_CHECK(run.claim("checker_trained_graded") < 1e-7);
  // Dropout: new masks at every J make the course's check meaningless; frozen masks make it pass.
  BOOST_CHECK(run.claim("course_dropout_live") > 1e-2);
  BOOST_CHECK(run.claim("course_dropout_frozen") < 1e-7);
  BOOST_CHECK_EQUAL(run.claim("checker_dropout_live_deterministic"), 1.0);
  BOOST_CHECK_EQUAL(run.claim("checker_dropout_live_passed"), 1.0);
  BOOST_CHECK(run.claim("checker_dropout_frozen") < 1e-7);
  BOOST_CHECK_EQUAL(run.claim("checker_dropout_frozen_passed"), 1.0);

  // Each planted bug: the course's one number says "bug", the checker fails exactly its block and
  // says why.
  const std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"db_forgets_tanh_prime", {"b[2]", "no simple pattern"}},
      {"dW_times_m", {"W[2]", "missing 1/m (m = 8)"}},
      {"dW_sign_flipped", {"W[2]", "sign flip"}},
      {"l2_left_out", {"W[1]", "left out of backward"}}};
  for (const auto& [bug, block_and_cause] : expected) {
    BOOST_TEST_INFO(bug);
    BOOST_CHECK(run.claim(bug + "_course") > 1e-3);
    BOOST_CHECK_EQUAL(run.claim(bug + "_failing_blocks"), 1.0);
    BOOST_CHECK_EQUAL(run.claim(bug + "_named"), 1.0);
  }
  std::istringstream bugs(read_text(run.out / "lesson02_bugs.csv"));
  std::string line;
  std::getline(bugs, line);
  std::size_t rows = 0;
  while (std::getline(bugs, line)) {
    const auto cells = split_csv(line);
    BOOST_REQUIRE_EQUAL(cells.size(), 5u);
    const auto& [block, cause] = expected.at(cells[0]);
    BOOST_TEST_INFO(line);
    BOOST_CHECK_EQUAL(cells[1], block);
    BOOST_CHECK_EQUAL(cells[3], block);
    BOOST_CHECK(cells[4].find(cause) != std::string::npos);
    ++rows;
  }
  BOOST_CHECK_EQUAL(rows, expected.size());

  const auto blocks = read_columns(run.out / "lesson02_block_errors.csv");
  BOOST_CHECK_EQUAL(blocks.at("block").size(), 6u);
  BOOST_CHECK(blocks.at("bug: dW_times_m").at(2) > 1e-3);  // W[2]
  BOOST_CHECK(blocks.at("random init").at(2) < 1e-7);
  run.check_picture("lesson02_block_errors");
}
