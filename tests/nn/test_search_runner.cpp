// run_search: trials on 2 workers give the same bits per job as on 1; every finished job is in
// the results file, and a resumed search runs none of them again; a results file of another
// search is refused; a diverging or throwing trial is recorded and the search goes on.
#define BOOST_TEST_MODULE nn search runner
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <csignal>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <nn/nn.hpp>

#include "error_text.hpp"
#include "helpers.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("dlcourse_search_" + std::to_string(::getpid()) + "_" +
                                              std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

const std::vector<nn::SearchDimension> space = {
    {"alpha", 1e-3, 3e-2, nn::Scale::log},
    {"keep_prob", 0.6, 1, nn::Scale::linear},
    {"units", 4, 12, nn::Scale::linear, true},
};

const nn::Dataset<float>& train_set() {
  static const auto d = helpers::blobs<float>(30, 3, 5, /*seed*/ 3);
  return d;
}
const nn::Dataset<float>& dev_set() {
  static const auto d = helpers::blobs<float>(10, 3, 5, /*seed*/ 4);
  return d;
}

// A real trial: Dense → relu → Dropout → Dense with Adam, everything seeded by the job.
void build(nn::TrialModel<float>& m, const nn::TrialJob& job) {
  m.model.dense(std::size_t(job.values.at("units")), nn::Activation::relu)
      .dropout(job.values.at("keep_prob"))
      .dense(3);
  m.model.build(5, job.seed);
  m.optimizer = std::make_unique<nn::Adam<float>>(job.values.at("alpha"));
  m.trainer = std::make_unique<nn::Trainer<float>>(
      m.model, nn::Loss::softmax_cross_entropy, *m.optimizer,
      nn::TrainOptions{.batch_size = 16, .seed = job.seed, .progress = nn::Progress::none});
}

nn::TrialReport real_trial(nn::TrialContext& c) { return nn::train_trial<float>(c, build, train_set(), dev_set()); }

using Key = std::pair<std::size_t, std::size_t>;  // (trial, rung)
std::map<Key, nn::TrialRecord> by_job(const std::vector<nn::TrialRecord>& records) {
  std::map<Key, nn::TrialRecord> m;
  for (const auto& r : records) BOOST_TEST(m.emplace(Key{r.job.trial, r.job.rung}, r).second);
  return m;
}

nn::TrialReport scored(double score) {
  nn::TrialReport r;
  r.score = score;
  return r;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Same job → same score and per-epoch dev costs, to the bit.
void check_identical(const nn::TrialRecord& a, const nn::TrialRecord& b) {
  BOOST_TEST((a.job.values == b.job.values));
  BOOST_TEST(same_bits(a.report.score, b.report.score), "trial " << a.job.trial << " rung " << a.job.rung << ": "
                                                                 << a.report.score << " vs " << b.report.score);
  BOOST_REQUIRE(a.report.epochs.size() == b.report.epochs.size());
  for (std::size_t e = 0; e < a.report.epochs.size(); ++e) {
    BOOST_TEST(same_bits(a.report.epochs[e].dev_cost, b.report.epochs[e].dev_cost));
    BOOST_TEST(same_bits(a.report.epochs[e].cost, b.report.epochs[e].cost));
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(no_workers_is_refused_and_runs_nothing) {
  nn::RandomScheduler scheduler(space, 11, 2, 1);
  std::size_t ran = 0;
  const auto message = test_support::message_of<nn::ConfigError>([&] {
    nn::run_search(
        scheduler, [&](nn::TrialContext& c) { return ++ran, real_trial(c); },
        {.workers = 0, .results_path = {}, .stop = nullptr, .on_record = {}});
  });
  BOOST_TEST(test_support::contains(message, "workers must be at least 1"), message);
  BOOST_TEST(ran == 0u);
}

BOOST_AUTO_TEST_CASE(two_workers_give_the_bits_of_one) {
  nn::RandomScheduler serial(space, 11, 6, 3), parallel(space, 11, 6, 3);
  const auto one = nn::run_search(serial, real_trial, {.workers = 1, .results_path = {}, .stop = nullptr, .on_record = {}});
  const auto two = nn::run_search(parallel, real_trial, {.workers = 2, .results_path = {}, .stop = nullptr, .on_record = {}});
  BOOST_REQUIRE(one.records.size() == 6u);
  BOOST_REQUIRE(two.records.size() == 6u);
  auto a = by_job(one.records), b = by_job(two.records);
  for (const auto& [key, r] : a) {
    BOOST_REQUIRE(b.count(key));
    BOOST_TEST((r.report.outcome == nn::Outcome::finished));
    BOOST_TEST(r.report.epochs.size() == 3u);
    check_identical(r, b.at(key));
  }
  // Not vacuous: the trials differ from one another.
  BOOST_TEST(!same_bits(a.at({0, 0}).report.score, a.at({1, 0}).report.score));
}

BOOST_AUTO_TEST_CASE(asha_on_two_workers_gives_each_job_the_bits_of_one_worker) {
  // Which trials go on may differ (asynchronous promotions see rungs at other moments), but a job
  // run by both searches (same trial, same rung: a promoted trial trains on from its rung before)
  // has the same result.
  const nn::AshaOptions o{.trials = 8, .min_budget = 1, .max_budget = 4, .eta = 2};
  nn::AshaScheduler serial(space, 5, o), parallel(space, 5, o);
  const auto one = nn::run_search(serial, real_trial, {.workers = 1, .results_path = {}, .stop = nullptr, .on_record = {}});
  const auto two = nn::run_search(parallel, real_trial, {.workers = 2, .results_path = {}, .stop = nullptr, .on_record = {}});
  auto a = by_job(one.records), b = by_job(two.records);
  std::size_t common = 0, promoted = 0;
  for (const auto& [key, r] : a) {
    promoted += key.second > 0;
    if (!b.count(key)) continue;
    ++common;
    check_identical(r, b.at(key));
    BOOST_TEST(r.job.budget == serial.budget(key.second));
    BOOST_TEST(r.report.epochs.back().epoch == r.job.budget);  // trained on, not from scratch
  }
  BOOST_TEST(common >= 8u);
  BOOST_TEST(promoted >= 4u);
  BOOST_TEST(one.scheduler_seconds < one.seconds);
}

BOOST_AUTO_TEST_CASE(a_promoted_trial_without_its_model_gives_the_record_of_one_that_kept_it) {
  // A promoted job that lands where the trial's model is not kept (another rank of a distributed
  // search, or a resumed search) replays the earlier rungs' fits (TrialJob::earlier_budgets), each
  // with its own early stopping: its record is the one of the trial that trained on, to the bit;
  // so does a model kept from a lower rung while the rungs between ran elsewhere.
  // The job goes through its message encoding (to_json / job_from_json) on the way.
  auto build_patient = [](nn::TrialModel<float>& m, const nn::TrialJob& job) {
    build(m, job);
    m.trainer->options().patience = 1;  // early stopping within a rung's fit
  };
  auto kept_trial = [&](nn::TrialContext& c) { return nn::train_trial<float>(c, build_patient, train_set(), dev_set()); };
  nn::AshaScheduler asha(space, 8, nn::AshaOptions{.trials = 8, .min_budget = 1, .max_budget = 8, .eta = 2});
  const auto kept = nn::run_search(asha, kept_trial, {.workers = 1, .results_path = {}, .stop = nullptr, .on_record = {}});
  std::size_t promoted = 0, stale_ones = 0;
  for (const auto& r : kept.records) {
    if (r.job.rung == 0) continue;
    ++promoted;
    const nn::TrialJob job = nn::job_from_json(nn::to_json(r.job));
    BOOST_TEST(job.earlier_budgets.size() == r.job.rung);
    BOOST_TEST(job.last_rung == r.job.last_rung);
    std::any fresh;
    nn::TrialContext context(job, fresh, nullptr);
    nn::TrialReport report = kept_trial(context);
    if (report.outcome == nn::Outcome::finished && !job.last_rung) report.outcome = nn::Outcome::stopped_early;
    BOOST_TEST((report.outcome == r.report.outcome));
    check_identical(r, nn::TrialRecord{job, report, 0});
    BOOST_REQUIRE(!report.epochs.empty());
    BOOST_TEST(report.epochs.front().epoch == r.report.epochs.front().epoch);  // this job's epochs only
    if (r.job.rung < 2) continue;
    // A model kept from rung 0 while rungs 1.. ran elsewhere catches up through the rungs between.
    nn::TrialJob rung0 = job;
    rung0.rung = 0, rung0.budget = job.earlier_budgets[0], rung0.earlier_budgets.clear(), rung0.last_rung = false;
    std::any stale;
    nn::TrialContext first(rung0, stale, nullptr);
    kept_trial(first);
    nn::TrialContext later(job, stale, nullptr);
    nn::TrialReport caught_up = kept_trial(later);
    if (caught_up.outcome == nn::Outcome::finished && !job.last_rung) caught_up.outcome = nn::Outcome::stopped_early;
    check_identical(r, nn::TrialRecord{job, caught_up, 0});
    ++stale_ones;
  }
  BOOST_TEST(promoted >= 3u);
  BOOST_TEST(stale_ones >= 1u);
}

BOOST_AUTO_TEST_CASE(a_resumed_search_runs_nothing_that_finished) {
  TempDir dir;
  const auto path = (dir.path / "results.jsonl").string();
  std::atomic<bool> stop{false};
  std::vector<Key> calls;
  bool interrupt = true;
  auto objective = [&](nn::TrialContext& c) {
    calls.emplace_back(c.job.trial, c.job.rung);
    if (calls.size() == 5 && interrupt) stop = true;  // "Ctrl-C" during the fifth job, which still finishes
    nn::TrialReport r;
    r.score = double((c.job.trial * 7) % 5) + 1.0 / double(c.job.budget);
    r.epochs.resize(c.job.budget);
    return r;
  };
  const nn::AshaOptions o{.trials = 9, .min_budget = 1, .max_budget = 9, .eta = 3};
  nn::AshaScheduler first(space, 2, o);
  const auto interrupted = nn::run_search(first, objective, {.workers = 1, .results_path = path, .stop = &stop, .on_record = {}});
  BOOST_TEST(interrupted.interrupted);
  BOOST_TEST(interrupted.records.size() == 5u);
  const std::set<Key> before(calls.begin(), calls.end());

  calls.clear();
  stop = false;
  interrupt = false;
  nn::AshaScheduler second(space, 2, o);
  const auto resumed = nn::run_search(second, objective, {.workers = 1, .results_path = path, .stop = &stop, .on_record = {}});
  BOOST_TEST(resumed.restored == 5u);
  BOOST_TEST(!resumed.interrupted);
  for (const auto& k : calls)
    BOOST_TEST(!before.count(k), "trial " << k.first << " rung " << k.second << " ran again");

  // The same search without an interrupt: the same jobs, the same results.
  calls.clear();
  nn::AshaScheduler whole(space, 2, o);
  const auto uninterrupted = nn::run_search(whole, objective, {});
  auto a = by_job(resumed.records), b = by_job(uninterrupted.records);
  BOOST_TEST(a.size() == b.size());
  for (const auto& [k, r] : b) {
    BOOST_REQUIRE(a.count(k));
    BOOST_TEST(same_bits(a.at(k).report.score, r.report.score));
  }
  // And the file holds each job once, after its header.
  const auto lines = nn::read_results(path);
  BOOST_TEST(lines.size() == b.size());
}

BOOST_AUTO_TEST_CASE(an_interrupted_trial_is_not_recorded_and_runs_again) {
  TempDir dir;
  const auto path = (dir.path / "results.jsonl").string();
  std::atomic<bool> stop{false};
  std::vector<std::size_t> calls;
  bool interrupt = true;
  auto objective = [&](nn::TrialContext& c) {
    calls.push_back(c.job.trial);
    nn::TrialReport r;
    r.score = double(c.job.trial);
    if (c.job.trial == 2 && interrupt) {
      interrupt = false;
      stop = true;  // Ctrl-C in the middle of trial 2: it gives up
      BOOST_TEST(c.stop_requested());
      r.outcome = nn::Outcome::interrupted;
    }
    return r;
  };
  nn::RandomScheduler first(space, 1, 4, 1);
  const auto run = nn::run_search(first, objective, {.workers = 1, .results_path = path, .stop = &stop, .on_record = {}});
  BOOST_TEST(run.records.size() == 2u);
  stop = false;
  calls.clear();
  nn::RandomScheduler second(space, 1, 4, 1);
  const auto resumed = nn::run_search(second, objective, {.workers = 1, .results_path = path, .stop = &stop, .on_record = {}});
  BOOST_TEST(calls == (std::vector<std::size_t>{2, 3}), boost::test_tools::per_element());
  BOOST_TEST(resumed.records.size() == 4u);
}

BOOST_AUTO_TEST_CASE(a_results_file_of_another_search_is_refused) {
  TempDir dir;
  const auto path = (dir.path / "results.jsonl").string();
  auto objective = [](nn::TrialContext&) { return scored(1); };
  nn::RandomScheduler a(space, 1, 2, 1);
  nn::run_search(a, objective, {.workers = 1, .results_path = path, .stop = nullptr, .on_record = {}});
  const auto size = fs::file_size(path);
  nn::RandomScheduler other_seed(space, 2, 2, 1);
  const auto message = test_support::message_of<nn::ConfigError>([&] { nn::run_search(other_seed, objective, {.workers = 1, .results_path = path, .stop = nullptr, .on_record = {}}); });
  BOOST_TEST(message.find("different search") != std::string::npos, message);
  BOOST_TEST(message.find("search.seed: 1 in the file, 2 for this search") != std::string::npos, message);
  auto narrower = space;
  narrower[0].hi = 1e-2;
  nn::RandomScheduler other_space(narrower, 1, 2, 1);
  BOOST_CHECK_THROW(nn::run_search(other_space, objective, {.workers = 1, .results_path = path, .stop = nullptr, .on_record = {}}), nn::ConfigError);
  nn::AshaScheduler other_method(space, 1, {});
  BOOST_CHECK_THROW(nn::run_search(other_method, objective, {.workers = 1, .results_path = path, .stop = nullptr, .on_record = {}}), nn::ConfigError);
  BOOST_TEST(fs::file_size(path) == size);  // and the file is left as it was
}

BOOST_AUTO_TEST_CASE(a_line_cut_short_by_a_crash_is_dropped_on_resume) {
  TempDir dir;
  const auto path = (dir.path / "results.jsonl").string();
  std::size_t calls = 0;
  auto objective = [&](nn::TrialContext&) {
    ++calls;
    return scored(1);
  };
  nn::RandomScheduler a(space, 1, 2, 1);
  nn::run_search(a, objective, {.workers = 1, .results_path = path, .stop = nullptr, .on_record = {}});
  { std::ofstream(path, std::ios::app) << R"({"trial":2,"rung":0,"bud)"; }
  calls = 0;
  nn::RandomScheduler b(space, 1, 3, 1);
  const auto r = nn::run_search(b, objective, {.workers = 1, .results_path = path, .stop = nullptr, .on_record = {}});
  BOOST_TEST(calls == 1u);
  BOOST_TEST(r.records.size() == 3u);
  BOOST_TEST(nn::read_results(path).size() == 3u);
  // A corrupt complete line is an error naming the line, not silently skipped.
  { std::ofstream(path, std::ios::app) << "{not json}\n"; }
  nn::RandomScheduler c(space, 1, 3, 1);
  const auto message = test_support::message_of<nn::DataError>([&] { nn::run_search(c, objective, {.workers = 1, .results_path = path, .stop = nullptr, .on_record = {}}); });
  BOOST_TEST(message.find("line 5") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(diverging_and_throwing_trials_are_recorded_and_the_search_goes_on) {
  TempDir dir;
  const auto path = (dir.path / "results.jsonl").string();
  // Trial 1 trains with plain gradient descent at α = 1e30 (its cost overflows), trial 2 throws.
  auto objective = [](nn::TrialContext& c) -> nn::TrialReport {
    if (c.job.trial == 2) throw std::runtime_error("out of cheese");
    return nn::train_trial<float>(
        c,
        [](nn::TrialModel<float>& m, const nn::TrialJob& job) {
          m.model.dense(8, nn::Activation::relu).dense(3);
          m.model.build(5, job.seed);
          m.optimizer = std::make_unique<nn::GradientDescent<float>>(job.trial == 1 ? 1e30 : 0.05);
          m.trainer = std::make_unique<nn::Trainer<float>>(
              m.model, nn::Loss::softmax_cross_entropy, *m.optimizer,
              nn::TrainOptions{.batch_size = 16, .seed = job.seed, .progress = nn::Progress::none});
        },
        train_set(), dev_set());
  };
  nn::RandomScheduler s(space, 1, 4, 3);
  const auto result = nn::run_search(s, objective, {.workers = 2, .results_path = path, .stop = nullptr, .on_record = {}});
  auto m = by_job(nn::read_results(path));
  BOOST_REQUIRE(m.size() == 4u);
  BOOST_TEST(nn::to_string(m.at({0, 0}).report.outcome) == "finished");
  BOOST_TEST(nn::to_string(m.at({1, 0}).report.outcome) == "diverged");
  BOOST_TEST(!m.at({1, 0}).report.error.empty());
  BOOST_TEST(std::isinf(m.at({1, 0}).report.score));
  BOOST_TEST(nn::to_string(m.at({2, 0}).report.outcome) == "failed");
  BOOST_TEST(m.at({2, 0}).report.error == "out of cheese");
  BOOST_TEST(nn::to_string(m.at({3, 0}).report.outcome) == "finished");
  BOOST_TEST(std::isfinite(m.at({3, 0}).report.score));
  // The best trials skip the failed ones; the summary names them all.
  const auto best = nn::best_trials(result.records, 2);
  BOOST_TEST(std::isfinite(best[0].report.score));
  BOOST_TEST(std::isfinite(best[1].report.score));
  const auto table = nn::summary_table(result.records, space);
  BOOST_TEST(table.find("diverged") != std::string::npos, table);
  BOOST_TEST(table.find("keep_prob") != std::string::npos, table);
}

BOOST_AUTO_TEST_CASE(the_summary_plots_the_score_against_each_hyperparameter_on_its_scale) {
  TempDir dir;
  const std::vector<nn::SearchDimension> s = {{"alpha", 1e-4, 1, nn::Scale::log},
                                              {"beta", 0.9, 0.999, nn::Scale::one_minus_log}};
  nn::RandomScheduler sched(s, 1, 5, 1);
  auto objective = [](nn::TrialContext& c) { return scored(c.job.values.at("alpha")); };
  const auto result = nn::run_search(sched, objective, {});
  const auto plots = nn::plot_scores(dir.path / "search", result.records, s, {.gnuplot = {}, .width = 720, .height = 480, .print_note = false});
  BOOST_REQUIRE(plots.size() == 2u);
  BOOST_TEST(plots[1].csv.at(0).filename() == "search_beta.csv");
  std::ifstream in(plots[1].csv.at(0));
  std::string header;
  std::getline(in, header);
  BOOST_TEST(header == "1-beta,score");  // β plotted as 1 − β (on a log axis)
  std::size_t rows = 0;
  for (std::string line; std::getline(in, line);) {
    const double one_minus_beta = std::stod(line.substr(0, line.find(',')));
    BOOST_TEST(one_minus_beta >= 1e-3 - 1e-12);
    BOOST_TEST(one_minus_beta <= 0.1 + 1e-12);
    ++rows;
  }
  BOOST_TEST(rows == 5u);
}

BOOST_AUTO_TEST_CASE(ctrl_c_sets_the_flag_instead_of_killing_and_the_search_stops_after_the_running_job) {
  std::vector<std::size_t> calls;
  struct sigaction before {};
  sigaction(SIGINT, nullptr, &before);
  {
    nn::InterruptGuard guard;
    BOOST_TEST(!guard.flag().load());
    auto objective = [&](nn::TrialContext& c) {
      calls.push_back(c.job.trial);
      if (c.job.trial == 1) std::raise(SIGINT);  // the user presses Ctrl-C during trial 1
      return scored(1);
    };
    nn::RandomScheduler s(space, 1, 5, 1);
    const auto r = nn::run_search(s, objective, {.workers = 1, .results_path = {}, .stop = &guard.flag(), .on_record = {}});
    BOOST_TEST(guard.flag().load());
    BOOST_TEST(r.interrupted);
    BOOST_TEST(r.records.size() == 2u);  // trial 1 finished and was kept; nothing after it started
    BOOST_CHECK_THROW(nn::InterruptGuard second, nn::ConfigError);  // one at a time
  }
  BOOST_TEST(calls == (std::vector<std::size_t>{0, 1}), boost::test_tools::per_element());
  // The guard is gone: the old disposition is back.
  struct sigaction now {};
  sigaction(SIGINT, nullptr, &now);
  BOOST_TEST((now.sa_handler == before.sa_handler));
}
