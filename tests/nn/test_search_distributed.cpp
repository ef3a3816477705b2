// run_distributed_search and on_every_rank under `mpirun -np 2` (meson runs it so): every rank
// runs the same test cases in the same order. Real trials on 2 ranks × 2 workers give rank 0 the
// records of run_search in one process; an error on one rank only is thrown on both; ranks that run
// different searches are refused on both.
#define BOOST_TEST_MODULE test_search_distributed
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <map>

#include <nn/distributed.hpp>
#include <nn/nn.hpp>
#include <nn/search_distributed.hpp>

#include "helpers.hpp"

namespace {

nn::MpiWorld* world_ = nullptr;

struct MpiFixture {
  MpiFixture() { world_ = new nn::MpiWorld; }
  ~MpiFixture() { delete world_; }
};
BOOST_TEST_GLOBAL_FIXTURE(MpiFixture);

nn::MpiWorld& world() { return *world_; }

const std::vector<nn::SearchDimension> space = {
    {"alpha", 1e-3, 3e-2, nn::Scale::log},
    {"units", 4, 12, nn::Scale::linear, true},
};

void build(nn::TrialModel<double>& m, const nn::TrialJob& job) {
  m.model.dense(std::size_t(job.values.at("units")), nn::Activation::relu).dense(3);
  m.model.build(5, job.seed);
  m.optimizer = std::make_unique<nn::Adam<double>>(job.values.at("alpha"));
  m.trainer = std::make_unique<nn::Trainer<double>>(
      m.model, nn::Loss::softmax_cross_entropy, *m.optimizer,
      nn::TrainOptions{.batch_size = 16, .seed = job.seed, .progress = nn::Progress::none});
}

nn::TrialReport real_trial(nn::TrialContext& c) {
  static const auto train = helpers::blobs<double>(30, 3, 5, /*seed*/ 3);
  static const auto dev = helpers::blobs<double>(10, 3, 5, /*seed*/ 4);
  return nn::train_trial<double>(c, build, train, dev);
}

using Key = std::pair<std::size_t, std::size_t>;  // (trial, rung)
std::map<Key, nn::TrialRecord> by_job(const std::vector<nn::TrialRecord>& records) {
  std::map<Key, nn::TrialRecord> m;
  for (const auto& r : records) BOOST_TEST(m.emplace(Key{r.job.trial, r.job.rung}, r).second);
  return m;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void check_identical(const nn::TrialRecord& a, const nn::TrialRecord& b) {
  BOOST_TEST((a.job.values == b.job.values));
  BOOST_TEST((a.report.outcome == b.report.outcome));
  BOOST_TEST(same_bits(a.report.score, b.report.score), "trial " << a.job.trial << " rung " << a.job.rung);
  BOOST_REQUIRE(a.report.epochs.size() == b.report.epochs.size());
  for (std::size_t e = 0; e < a.report.epochs.size(); ++e) {
    BOOST_TEST(a.report.epochs[e].epoch == b.report.epochs[e].epoch);
    BOOST_TEST(same_bits(a.report.epochs[e].dev_cost, b.report.epochs[e].dev_cost));
    BOOST_TEST(same_bits(a.report.epochs[e].cost, b.report.epochs[e].cost));
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(two_ranks_of_two_workers_give_rank_0_the_records_of_one_process) {
  BOOST_REQUIRE(world().size() == 2);
  nn::RandomScheduler spread(space, 3, 12, 3);
  const auto distributed = nn::run_distributed_search(
      world(), spread, real_trial, {.workers = 2, .results_path = {}, .stop = nullptr, .on_record = {}});
  if (world().rank() != 0) {
    BOOST_TEST(distributed.records.empty());  // rank 0's records are the search's
    return;
  }
  nn::RandomScheduler here(space, 3, 12, 3);
  const auto one =
      nn::run_search(here, real_trial, {.workers = 1, .results_path = {}, .stop = nullptr, .on_record = {}});
  auto a = by_job(one.records), b = by_job(distributed.records);
  BOOST_TEST(a.size() == 12u);
  BOOST_TEST(b.size() == 12u);
  for (const auto& [key, r] : a) {
    BOOST_REQUIRE(b.count(key));
    check_identical(r, b.at(key));
  }
  BOOST_REQUIRE(distributed.jobs_by_rank.size() == 2u);
  BOOST_TEST(distributed.jobs_by_rank[0] + distributed.jobs_by_rank[1] == 12u);
}

BOOST_AUTO_TEST_CASE(asha_promotions_across_ranks_give_each_common_job_the_bits_of_one_process) {
  const nn::AshaOptions o{.trials = 10, .min_budget = 1, .max_budget = 8, .eta = 2};
  nn::AshaScheduler spread(space, 6, o);
  const auto distributed = nn::run_distributed_search(
      world(), spread, real_trial, {.workers = 2, .results_path = {}, .stop = nullptr, .on_record = {}});
  if (world().rank() != 0) return;
  nn::AshaScheduler here(space, 6, o);
  const auto one =
      nn::run_search(here, real_trial, {.workers = 1, .results_path = {}, .stop = nullptr, .on_record = {}});
  auto a = by_job(one.records), b = by_job(distributed.records);
  std::size_t rung0 = 0, promoted = 0;
  for (const auto& [key, r] : a) {
    if (key.second == 0) BOOST_REQUIRE(b.count(key));
    if (!b.count(key)) continue;
    rung0 += key.second == 0;
    promoted += key.second > 0;
    check_identical(r, b.at(key));
  }
  BOOST_TEST(rung0 == 10u);
  BOOST_TEST(promoted >= 1u);
}

BOOST_AUTO_TEST_CASE(an_error_on_one_rank_is_thrown_on_every_rank) {
  const int rank = world().rank();
  try {
    nn::on_every_rank(world(), [&] {
      if (rank == 1) throw nn::DataError("rank one's data.csv line 3: not a number");
    });
    BOOST_FAIL("no rank threw");
  } catch (const nn::DataError& e) {
    const std::string expected =
        rank == 1 ? "rank one's data.csv line 3: not a number" : "rank 1: rank one's data.csv line 3: not a number";
    BOOST_TEST(std::string(e.what()) == expected);
  }
  nn::on_every_rank(world(), [] {});  // and nothing when no rank throws
}

BOOST_AUTO_TEST_CASE(ranks_running_different_searches_are_refused_on_every_rank) {
  nn::RandomScheduler mine(space, /*seed*/ 10 + std::uint64_t(world().rank()), 2, 1);
  try {
    nn::run_distributed_search(world(), mine, real_trial, {});
    BOOST_FAIL("not refused");
  } catch (const nn::ConfigError& e) {
    BOOST_TEST(std::string(e.what()).find("runs another search than rank 0") != std::string::npos, e.what());
  }
}
