// Random compositions of every operation (random_graph.hpp) checked in double against centered
// finite differences: 500 fixed seeds per run, so the test is the same every time. A failure
// prints its seed and the graph; RANDOM_GRAPHS_SEED=<seed> replays that one graph alone (with its
// description in the log), RANDOM_GRAPHS_COUNT=<n> runs seeds 1..n.
#define BOOST_TEST_MODULE autodiff random graphs
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <xtensor/xnorm.hpp>

#include "finite_differences.hpp"
#include "random_graph.hpp"

namespace {

std::optional<unsigned long> env_number(const char* name) {
  const char* s = std::getenv(name);
  if (!s || !*s) return std::nullopt;
  return std::stoul(s);
}

// Far below what a wrong backward gives (a missing factor or term is ~1e-1), far above what
// centered differences at ε = 1e-6 leave in double on these graphs (~1e-10; the log's worst).
constexpr double tolerance = 1e-6;
// A block's gradient norm below which the error is taken as absolute (scaled by this floor):
// exact zeros (x/x, a shift under log_softmax) come back as ±1e-16 from backward and 0 from finite
// differences, and for tiny gradients the differences' rounding (~1e-10·|J|) is all that is left.
constexpr double gradient_floor = 1e-2;

// ‖analytic − numeric‖ / max(‖analytic‖ + ‖numeric‖, floor), from fd's relative error.
double block_error(const fd::BlockError& b, const ad::Parameter<double>& p) {
  const double norms = xt::norm_l2(p.grad)() + b.numeric_norm;
  return b.relative_error * norms / std::max(norms, gradient_floor);
}

struct Outcome {
  double max_relative_error = 0;
  std::size_t checked_elements = 0;
  std::vector<std::string> ops;
};

// Checks one graph; BOOST_TEST failures name the seed and show the graph.
Outcome check_graph(unsigned seed) {
  rg::RandomGraph g(seed);
  const fd::Report report = fd::check(g.tape, g.cost, g.checkable);
  double worst = 0;
  for (std::size_t k = 0; k < report.blocks.size(); ++k)
    worst = std::max(worst, block_error(report.blocks[k], *g.checkable[k]));
  BOOST_TEST(worst < tolerance, "seed " << seed << " (replay: RANDOM_GRAPHS_SEED=" << seed
                                        << "): finite differences disagree (error " << worst << "): " << report.str()
                                        << "\n" << g.description);
  for (auto* p : g.detached_only) {
    BOOST_TEST(!g.tape.reached(*p), "seed " << seed << ": " << p->name << " reaches the cost only through detach");
    BOOST_TEST(xt::all(xt::equal(p->grad, 0.0)), "seed " << seed << ": " << p->name << " has a gradient through detach");
  }
  Outcome o{worst, 0, g.ops};
  for (auto* p : g.checkable) o.checked_elements += p->value.size();
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_graphs_agree_with_finite_differences) {
  if (const auto seed = env_number("RANDOM_GRAPHS_SEED")) {
    BOOST_TEST_MESSAGE("seed " << *seed << ":\n" << rg::RandomGraph(unsigned(*seed)).description);
    check_graph(unsigned(*seed));
    return;
  }
  const unsigned count = unsigned(env_number("RANDOM_GRAPHS_COUNT").value_or(500));
  std::map<std::string, std::size_t> uses;
  double worst = 0;
  unsigned worst_seed = 0;
  std::size_t elements = 0;
  for (unsigned seed = 1; seed <= count; ++seed) {
    const Outcome o = check_graph(seed);
    if (o.max_relative_error >= worst) worst = o.max_relative_error, worst_seed = seed;
    elements += o.checked_elements;
    for (const auto& op : o.ops) ++uses[op];
  }
  BOOST_TEST_MESSAGE(count << " graphs, " << elements << " parameter elements checked, worst relative error "
                           << worst << " (seed " << worst_seed << ")");
  // The graphs must actually exercise every operation, repeatedly.
  if (count >= 500)
    for (const auto& name : rg::RandomGraph::all_operations())
      BOOST_TEST(uses[name] >= 10, name << " was applied only " << uses[name] << " times in " << count << " graphs");
  BOOST_TEST(elements > 10 * count);
}

BOOST_AUTO_TEST_CASE(a_seed_always_builds_the_same_graph) {
  for (unsigned seed : {1u, 77u, 499u}) {
    rg::RandomGraph a(seed), b(seed);
    BOOST_TEST(a.description == b.description);
    BOOST_TEST(fixtures::bit_identical(a.cost.value(), b.cost.value()));
  }
}
