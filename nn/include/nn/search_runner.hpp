// Running a search ("caviar"): a scheduler's jobs on a pool of worker threads, one model per
// worker. While more than one worker runs, OpenBLAS is set to one thread (and set back after):
// each worker then owns one core, its trial its own tape, model and optimizer, and no core is
// shared by two BLAS thread pools. A trial's result depends only on its job (hyperparameters,
// seed, budget), never on the worker or on when it ran: 2 workers give the same bits per job as 1.
//
// Every finished job is appended to the results file before the next starts (search_results.hpp);
// given an existing file, the search resumes: what the file holds is handed to the scheduler and
// never run again. A job that throws is recorded as failed (one that diverges as the trial
// reports it), and the search goes on. When `stop` is set (Ctrl-C with InterruptGuard), no job
// starts any more, running trials are told (TrialContext::stop_requested) and may give up, and
// run_search returns what finished.
#pragma once

#include <any>
#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nn/search_scheduler.hpp"

namespace nn {

class TrialContext {
 public:
  TrialContext(const TrialJob& job, std::any& state, const std::atomic<bool>* stop)
      : job(job), state(state), stop_(stop) {}
  const TrialJob& job;
  // Kept by the runner per trial between its jobs (ASHA's rungs): e.g. the model and optimizer, so
  // a promoted trial trains on from where it stopped. Empty for a trial's first job, after a resume
  // and on another rank of a distributed search (train_trial then replays job.earlier_budgets).
  std::any& state;
  bool stop_requested() const { return stop_ && stop_->load(std::memory_order_relaxed); }

 private:
  const std::atomic<bool>* stop_;
};

using TrialFunction = std::function<TrialReport(TrialContext&)>;

struct RunOptions {
  std::size_t workers = 1;
  std::string results_path;                 // JSONL results file (empty: none, nothing to resume)
  const std::atomic<bool>* stop = nullptr;  // see above
  // Called (one at a time) after each job is recorded: progress, live plots.
  std::function<void(const TrialRecord&)> on_record;
};

struct SearchResult {
  std::vector<TrialRecord> records;  // restored ones first, then in the order they finished
  std::size_t restored = 0;          // how many came from the results file
  bool interrupted = false;
  double seconds = 0;                // wall time of run_search
  double scheduler_seconds = 0;      // of it, in the scheduler's next() and report()
  // A distributed search's rank 0: the jobs of this run each rank finished (search_distributed.hpp).
  std::vector<std::size_t> jobs_by_rank;
};

SearchResult run_search(Scheduler& scheduler, const TrialFunction& trial, const RunOptions& options = {});

// The best trials, best first: each trial once (its record at the highest budget it reached),
// ranked by that budget (more is better: survived more rungs), then score, then id.
std::vector<TrialRecord> best_trials(const std::vector<TrialRecord>& records, std::size_t n);

// While alive, SIGINT (and SIGTERM) set flag() instead of killing the program; a second SIGINT
// kills it as usual. The old handlers come back on destruction. One at a time.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  const std::atomic<bool>& flag() const;
};

}  // namespace nn
