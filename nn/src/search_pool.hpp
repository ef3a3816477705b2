// The worker loop of a search, shared by run_search (threads of one process) and the distributed
// search (search_distributed.hpp, where rank 0 also hands jobs to other processes and records
// theirs). One mutex guards the scheduler, the results file and the records.
#pragma once

#include <any>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "nn/search_results.hpp"
#include "nn/search_runner.hpp"

namespace nn::detail {

// OpenBLAS at one thread while trials run side by side (each owns a core, no two pools share
// one); its setting is restored after.
class OneBlasThread {
 public:
  explicit OneBlasThread(bool on);
  ~OneBlasThread();
  OneBlasThread(const OneBlasThread&) = delete;
  OneBlasThread& operator=(const OneBlasThread&) = delete;

 private:
  bool on_;
  int before_;
};

class SearchPool {
 public:
  // Opens and restores the results file (options.results_path) into the scheduler. With
  // `remote_scheduler` the scheduler answers for another process: "no job now" while nothing runs
  // here means ask again later, until scheduler.done().
  SearchPool(Scheduler& scheduler, const TrialFunction& trial, const RunOptions& options,
             bool remote_scheduler = false);

  // One worker: takes jobs and runs them until the search is done or stopped.
  void work();

  // For jobs run elsewhere (the distributed search's rank 0 answering another rank).
  struct Offer {
    enum Kind { job, wait, done } kind;
    std::optional<TrialJob> job_to_run;
  };
  Offer offer();                          // a job counts as running until recorded or forgotten
  void record(TrialRecord record);        // a job run elsewhere, finished
  void forget(std::size_t running_jobs);  // jobs run elsewhere that will never report (interrupted)
  // The result so far; rethrows the error that stopped the search (a results file not written).
  SearchResult finish(std::chrono::steady_clock::time_point started);

 private:
  Offer offer(std::unique_lock<std::mutex>& lock);
  void record(std::unique_lock<std::mutex>& lock, TrialRecord record);
  bool stopping() const;

  Scheduler& scheduler_;
  const TrialFunction& trial_;
  const RunOptions& options_;
  bool remote_scheduler_;
  std::unique_ptr<ResultsFile> file_;
  SearchResult result_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t running_ = 0;                 // here and, on a distributed search's rank 0, elsewhere
  std::map<std::size_t, std::any> states_;  // by trial; node-based: references stay valid
  std::exception_ptr error_;                // a results file that cannot be written stops the search
  double scheduler_seconds_ = 0;
};

}  // namespace nn::detail
