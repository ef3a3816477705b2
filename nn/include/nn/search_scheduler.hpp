// What a search runs and records: jobs (a trial trained to a budget of epochs), their reports and
// records, and the Scheduler interface that decides which job comes next. Schedulers are pure
// bookkeeping (no training, no threads, no clock), so each is tested on its own with made-up
// scores; run_search (search_runner.hpp) drives one with real training on a pool of workers.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/history.hpp"
#include "nn/search.hpp"

namespace nn {

struct TrialJob {
  std::size_t trial = 0;   // the trial's id, from 0
  std::size_t rung = 0;    // ASHA's rung (0 for the other searches)
  std::size_t budget = 0;  // epochs the trial has trained in all when this job is done
  std::uint64_t seed = 0;  // trial_seed(search seed, trial): initialization, shuffling, dropout
  Hyperparameters values;
  bool last_rung = true;   // false: a rung below ASHA's top (finishing it is "stopped_early")
  // The budgets of the trial's earlier jobs, in order (ASHA: the rungs below). A trial that has
  // not kept its model (another process or worker ran those jobs, or the search was resumed)
  // replays them before this one, so that its record is the same bits as when it trains on.
  std::vector<std::size_t> earlier_budgets = {};
};

enum class Outcome {
  finished,       // trained to the search's full budget
  stopped_early,  // trained to a rung's budget below the full one (ASHA; promoted if a later record follows)
  diverged,       // the cost or a gradient stopped being finite
  failed,         // the trial threw: `error` says what
  interrupted,    // the search was stopped (Ctrl-C) during the trial: never recorded, re-run on resume
};
std::string to_string(Outcome o);
Outcome outcome_from_string(const std::string& s);  // throws DataError for an unknown name

struct TrialReport {
  Outcome outcome = Outcome::finished;
  double score = std::numeric_limits<double>::infinity();  // lower is better (e.g. dev cost); +∞ when none
  std::vector<EpochRecord> epochs;  // the epochs this job trained
  std::string error;                // for failed and diverged
};

// One finished job: a line of the results file.
struct TrialRecord {
  TrialJob job;
  TrialReport report;
  double seconds = 0;  // wall time of the job
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  // What identifies the search (method, space, seed, the options that decide which trials run):
  // a results file written under another identity is refused on resume.
  virtual nlohmann::json identity() const = 0;
  // A job to start now, or none: then wait for a running job to report (or the search is done).
  virtual std::optional<TrialJob> next() = 0;
  // A job's result, as it finishes or read back from a results file on resume (whether or not
  // this scheduler issued it): what a report says is never run again.
  virtual void report(const TrialRecord& record) = 0;
  // Nothing left to start, now or after any report.
  virtual bool done() const = 0;
};

// `trials` points drawn independently (each from its trial's seed), each trained for `budget` epochs.
class RandomScheduler : public Scheduler {
 public:
  RandomScheduler(std::vector<SearchDimension> space, std::uint64_t seed, std::size_t trials, std::size_t budget);
  nlohmann::json identity() const override;
  std::optional<TrialJob> next() override;
  void report(const TrialRecord& record) override;
  bool done() const override;

 private:
  std::vector<SearchDimension> space_;
  std::uint64_t seed_;
  std::size_t trials_, budget_;
  std::vector<bool> started_;  // by trial id: issued or reported
};

// The JSON of a space (name, lo, hi, scale, integer per dimension), for identities and the CLI.
nlohmann::json to_json(const std::vector<SearchDimension>& space);
// Throws ConfigError naming the dimension and the field that is missing or wrong.
std::vector<SearchDimension> space_from_json(const nlohmann::json& j);

}  // namespace nn
