#include "nn/search_runner.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "nn/errors.hpp"
#include "nn/search_results.hpp"

namespace nn {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// OpenBLAS at one thread while trials run side by side; its setting is restored after.
class OneBlasThread {
 public:
  explicit OneBlasThread(bool on) : on_(on), before_(openblas_get_num_threads()) {
    if (on_) openblas_set_num_threads(1);
  }
  ~OneBlasThread() {
    if (on_) openblas_set_num_threads(before_);
  }

 private:
  bool on_;
  int before_;
};

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

SearchResult run_search(Scheduler& scheduler, const TrialFunction& trial, const RunOptions& options) {
  const auto t0 = Clock::now();
  if (options.workers == 0) throw ConfigError("run_search: workers must be at least 1");
  SearchResult result;
  std::unique_ptr<ResultsFile> file;
  if (!options.results_path.empty()) {
    file = std::make_unique<ResultsFile>(options.results_path, scheduler.identity());
    for (const auto& r : file->restored()) {
      scheduler.report(r);
      result.records.push_back(r);
    }
    result.restored = result.records.size();
  }

  std::mutex mutex;
  std::condition_variable changed;
  std::size_t running = 0;
  std::map<std::size_t, std::any> states;  // by trial; node-based: references stay valid
  std::exception_ptr error;                // a results file that cannot be written stops the search
  double scheduler_seconds = 0;
  auto stopping = [&] { return error || (options.stop && options.stop->load()); };

  auto worker = [&] {
    std::unique_lock lock(mutex);
    while (true) {
      if (stopping()) break;
      const auto ts = Clock::now();
      std::optional<TrialJob> job = scheduler.next();
      scheduler_seconds += since(ts);
      if (!job) {
        if (running == 0) break;  // nothing runs that could make a job available
        changed.wait_for(lock, std::chrono::milliseconds(100));  // a signal cannot notify
        continue;
      }
      ++running;
      std::any& state = states[job->trial];
      lock.unlock();
      TrialContext context(*job, state, options.stop);
      const auto start = Clock::now();
      TrialReport report = run_one(trial, context);
      const double seconds = since(start);
      lock.lock();
      --running;
      // The search's word on a trial that stopped at a rung below the top: it may go on later.
      if (report.outcome == Outcome::finished && !job->last_rung) report.outcome = Outcome::stopped_early;
      if (report.outcome == Outcome::interrupted) states.erase(job->trial);
      if (report.outcome != Outcome::interrupted) {
        TrialRecord record{std::move(*job), std::move(report), seconds};
        try {
          if (file) file->append(record);
          const auto tr = Clock::now();
          scheduler.report(record);
          scheduler_seconds += since(tr);
          result.records.push_back(record);
          if (options.on_record) options.on_record(record);
        } catch (...) {
          if (!error) error = std::current_exception();
        }
        // A trial that will not train on frees its model.
        if (record.report.outcome != Outcome::stopped_early) states.erase(record.job.trial);
      }
      changed.notify_all();
    }
    changed.notify_all();
  };

  {
    OneBlasThread blas(options.workers > 1);
    std::vector<std::thread> pool;
    for (std::size_t w = 1; w < options.workers; ++w) pool.emplace_back(worker);
    worker();  // the calling thread is one of the workers
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
  result.interrupted = options.stop && options.stop->load();
  result.scheduler_seconds = scheduler_seconds;
  result.seconds = since(t0);
  return result;
}

std::vector<TrialRecord> best_trials(const std::vector<TrialRecord>& records, std::size_t n) {
  std::map<std::size_t, const TrialRecord*> last;  // each trial's record at its highest budget
  for (const auto& r : records) {
    auto& slot = last[r.job.trial];
    if (!slot || r.job.budget > slot->job.budget) slot = &r;
  }
  std::vector<TrialRecord> out;
  for (const auto& [id, r] : last) out.push_back(*r);
  std::stable_sort(out.begin(), out.end(), [](const TrialRecord& a, const TrialRecord& b) {
    if (a.job.budget != b.job.budget) return a.job.budget > b.job.budget;
    if (a.report.score != b.report.score) return a.report.score < b.report.score;
    return a.job.trial < b.job.trial;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

namespace {
std::atomic<bool> interrupted{false};
std::atomic<bool> guard_alive{false};
struct sigaction old_int, old_term;

extern "C" void on_interrupt(int sig) {
  if (interrupted.exchange(true) && sig == SIGINT) {
    // Second Ctrl-C: the default action (the user means it).
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
}
}  // namespace

InterruptGuard::InterruptGuard() {
  if (guard_alive.exchange(true)) throw ConfigError("InterruptGuard: one already exists");
  interrupted = false;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  guard_alive = false;
}

const std::atomic<bool>& InterruptGuard::flag() const { return interrupted; }

}  // namespace nn
