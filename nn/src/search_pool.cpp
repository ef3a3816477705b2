#include "search_pool.hpp"

#include <cblas.h>

#include <cmath>

#include "nn/errors.hpp"

namespace nn::detail {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

TrialReport run_one(const TrialFunction& trial, TrialContext& context) {
  try {
    TrialReport r = trial(context);
    if (std::isnan(r.score)) r.score = INFINITY;
    return r;
  } catch (const std::exception& e) {
    TrialReport r;
    r.outcome = Outcome::failed;
    r.error = e.what();
    return r;
  } catch (...) {
    TrialReport r;
    r.outcome = Outcome::failed;
    r.error = "an exception that is not a std::exception";
    return r;
  }
}

}  // namespace

OneBlasThread::OneBlasThread(bool on) : on_(on), before_(openblas_get_num_threads()) {
  if (on_) openblas_set_num_threads(1);
}

OneBlasThread::~OneBlasThread() {
  if (on_) openblas_set_num_threads(before_);
}

SearchPool::SearchPool(Scheduler& scheduler, const TrialFunction& trial, const RunOptions& options,
                       bool remote_scheduler)
    : scheduler_(scheduler), trial_(trial), options_(options), remote_scheduler_(remote_scheduler) {
  if (options.workers == 0) throw ConfigError("run_search: workers must be at least 1");
  if (!options.results_path.empty()) {
    file_ = std::make_unique<ResultsFile>(options.results_path, scheduler.identity());
    for (const auto& r : file_->restored()) {
      scheduler.report(r);
      result_.records.push_back(r);
    }
    result_.restored = result_.records.size();
  }
}

bool SearchPool::stopping() const { return error_ || (options_.stop && options_.stop->load()); }

SearchPool::Offer SearchPool::offer(std::unique_lock<std::mutex>&) {
  if (stopping()) return {Offer::done, {}};
  const auto ts = Clock::now();
  std::optional<TrialJob> job = scheduler_.next();
  scheduler_seconds_ += since(ts);
  if (job) {
    ++running_;
    return {Offer::job, std::move(job)};
  }
  // Nothing runs that could make a job available (here, or at the other end of a remote scheduler).
  if (running_ == 0 && (!remote_scheduler_ || scheduler_.done())) return {Offer::done, {}};
  return {Offer::wait, {}};
}

SearchPool::Offer SearchPool::offer() {
  std::unique_lock lock(mutex_);
  return offer(lock);
}

void SearchPool::record(std::unique_lock<std::mutex>&, TrialRecord record) {
  --running_;
  try {
    if (file_) file_->append(record);
    const auto tr = Clock::now();
    scheduler_.report(record);
    scheduler_seconds_ += since(tr);
    result_.records.push_back(record);
    if (options_.on_record) options_.on_record(record);
  } catch (...) {
    if (!error_) error_ = std::current_exception();
  }
  // A trial that will not train on frees its model.
  if (record.report.outcome != Outcome::stopped_early) states_.erase(record.job.trial);
  changed_.notify_all();
}

void SearchPool::record(TrialRecord record) {
  std::unique_lock lock(mutex_);
  this->record(lock, std::move(record));
}

void SearchPool::forget(std::size_t running_jobs) {
  std::unique_lock lock(mutex_);
  running_ -= running_jobs;
  changed_.notify_all();
}

void SearchPool::work() {
  std::unique_lock lock(mutex_);
  while (true) {
    Offer o = offer(lock);
    if (o.kind == Offer::done) break;
    if (o.kind == Offer::wait) {
      // A signal cannot notify; nor can another process, whose scheduler this worker asks again soon.
      changed_.wait_for(lock, std::chrono::milliseconds(remote_scheduler_ ? 10 : 100));
      continue;
    }
    TrialJob& job = *o.job_to_run;
    std::any& state = states_[job.trial];
    lock.unlock();
    TrialContext context(job, state, options_.stop);
    const auto start = Clock::now();
    TrialReport report = run_one(trial_, context);
    const double seconds = since(start);
    lock.lock();
    // The search's word on a trial that stopped at a rung below the top: it may go on later.
    if (report.outcome == Outcome::finished && !job.last_rung) report.outcome = Outcome::stopped_early;
    if (report.outcome == Outcome::interrupted) {
      states_.erase(job.trial);
      --running_;
      changed_.notify_all();
    } else {
      record(lock, TrialRecord{std::move(job), std::move(report), seconds});
    }
  }
  changed_.notify_all();
}

SearchResult SearchPool::finish(Clock::time_point started) {
  std::unique_lock lock(mutex_);
  if (error_) std::rethrow_exception(error_);
  SearchResult result = result_;
  result.interrupted = options_.stop && options_.stop->load();
  result.scheduler_seconds = scheduler_seconds_;
  result.seconds = since(started);
  return result;
}

}  // namespace nn::detail
