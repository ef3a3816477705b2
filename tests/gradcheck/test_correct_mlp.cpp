// A correct MLP (20-32-32-5, tanh, softmax cross-entropy plus L2, double) passes in every mode
// with relative error < 1e-7, and the report names every block in its table and its JSON.
#define BOOST_TEST_MODULE gradcheck correct MLP
#include <boost/test/unit_test.hpp>


#include <gradcheck/gradcheck.hpp>

#include "planted.hpp"

#include "allocation_counter.hpp"

namespace {

const char* const block_names[] = {"W[1]", "b[1]", "W[2]", "b[2]", "W[3]", "b[3]"};

gc::Report check_mlp(gc::Mode mode, const planted::Plan& plan = {}, std::uint64_t seed = 7) {
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  auto J = mlp.cost(tape, plan);
  gc::Options o;
  o.mode = mode;
  o.seed = seed;
  return gc::check(tape, J, mlp.parameters(), o);
}

}  // namespace

BOOST_AUTO_TEST_CASE(passes_in_every_mode) {
  for (auto mode : {gc::Mode::all, gc::Mode::sampled, gc::Mode::directional, gc::Mode::probes}) {
    BOOST_TEST_CONTEXT("mode " << gc::to_string(mode)) {
      const auto report = check_mlp(mode);
      BOOST_TEST_MESSAGE(report.table());
      BOOST_TEST(report.passed());
      BOOST_TEST(report.deterministic);
      BOOST_TEST(report.contract_failures.empty());
      BOOST_TEST(report.relative_error < 1e-7);
      BOOST_REQUIRE_EQUAL(report.blocks.size(), 6u);
      for (const auto& b : report.blocks) {
        BOOST_TEST_CONTEXT(b.name) {
          BOOST_TEST(b.verdict == gc::Verdict::pass);
          BOOST_TEST(b.relative_error < 1e-7);
          BOOST_TEST(b.checked > 0u);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(directional_probes_pass_for_any_direction) {
  // A single directional derivative has no averaging over elements: a step too small for it
  // (the course's 1e-7) left some random directions at the rounding floor, just above 1e-7.
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    const auto report = check_mlp(gc::Mode::directional, {}, seed);
    BOOST_TEST_CONTEXT("seed " << seed) {
      for (const auto& b : report.blocks) {
        BOOST_TEST(b.verdict == gc::Verdict::pass, b.name << ": " << b.relative_error);
        BOOST_TEST(b.directional);
        BOOST_TEST(b.eps_sweep.empty(), b.name << " needed a sweep");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(all_mode_checks_every_element) {
  const auto report = check_mlp(gc::Mode::all);
  std::size_t checked = 0;
  for (const auto& b : report.blocks) {
    BOOST_TEST(b.checked == b.shape[0] * b.shape[1]);
    checked += b.checked;
  }
  BOOST_TEST(checked == 1893u);
  // 2 replays per element (2P), J at θ and the noise floor's repeats (noise_repeats in all), and one
  // replay per block putting every node back at θ: 3795. No sweep, nothing failed.
  BOOST_TEST(report.evaluations >= 2 * 1893u);
  BOOST_TEST(report.evaluations <= 2 * 1893u + report.options.noise_repeats + report.blocks.size());
}

BOOST_AUTO_TEST_CASE(evaluations_do_not_allocate) {
  // Checking every element of the weights (~3650 replays) allocates what a sample covering every
  // row and column of each weight block does (~190 replays): the report, not the evaluations. Same
  // tape, so the same buffers. (Weights only: sampled mode checks a bias whole.)
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  auto J = mlp.cost(tape, {});
  auto count = [&](gc::Mode mode, std::size_t& evaluations) {
    gc::Options o;
    o.mode = mode;
    o.samples_per_block = 1;
    const std::size_t before = allocation_counter::operator_new_calls();
    const auto report = gc::check(tape, J, mlp.weights(), o);
    const std::size_t allocated = allocation_counter::operator_new_calls() - before;
    BOOST_TEST(report.passed());
    evaluations = report.evaluations;
    return allocated;
  };
  std::size_t few = 0, many = 0;
  count(gc::Mode::all, many);  // warm-up: lazily allocated gradients and scratch
  const std::size_t sampled = count(gc::Mode::sampled, few);
  const std::size_t all = count(gc::Mode::all, many);
  BOOST_TEST_MESSAGE("sampled: " << few << " evaluations, " << sampled << " allocations; all: " << many
                                 << " evaluations, " << all << " allocations");
  BOOST_TEST(many > 15 * few);
  BOOST_TEST(all <= sampled + 16, "checking more elements allocated " << all - sampled << " more times");
}

BOOST_AUTO_TEST_CASE(the_planted_op_without_a_bug_is_correct) {
  // The planted-bug tests rely on PlantedLinear being right apart from its bug.
  planted::Plan plan;
  plan.planted_everywhere = true;
  const auto report = check_mlp(gc::Mode::all, plan);
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.passed());
  BOOST_TEST(report.relative_error < 1e-7);
}

BOOST_AUTO_TEST_CASE(table_and_json_name_every_block) {
  const auto report = check_mlp(gc::Mode::all);
  const std::string table = report.table();
  BOOST_TEST(table.find("PASS") != std::string::npos);
  BOOST_TEST(table.find("seed 7") != std::string::npos);
  for (const char* name : block_names) BOOST_TEST(table.find(name) != std::string::npos, name);

  const auto j = report.to_json();
  BOOST_TEST(j.at("passed").get<bool>());
  BOOST_TEST(j.at("options").at("mode").get<std::string>() == "all");
  BOOST_TEST(j.at("options").at("seed").get<std::uint64_t>() == 7u);
  BOOST_REQUIRE_EQUAL(j.at("blocks").size(), 6u);
  for (std::size_t k = 0; k < 6; ++k) {
    const auto& b = j.at("blocks")[k];
    BOOST_TEST(b.at("name").get<std::string>() == block_names[k]);
    BOOST_TEST(b.at("verdict").get<std::string>() == "pass");
    BOOST_TEST(b.at("relative_error").get<double>() < 1e-7);
    for (const char* key : {"shape", "checked", "max_abs_diff", "worst", "kinks", "best_eps", "eps_sweep",
                            "taylor_slope", "diagnosis", "warnings"})
      BOOST_TEST(b.contains(key), key);
  }
  BOOST_TEST(j.at("blocks")[2].at("shape") == nlohmann::json::array({32, 32}));
  // Round trip: the JSON is valid text.
  BOOST_TEST(nlohmann::json::parse(j.dump()) == j);
}
