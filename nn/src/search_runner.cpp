#include "nn/search_runner.hpp"

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
#include "search_pool.hpp"

namespace nn {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

SearchResult run_search(Scheduler& scheduler, const TrialFunction& trial, const RunOptions& options) {
  const auto t0 = Clock::now();
  detail::SearchPool pool(scheduler, trial, options);
  {
    detail::OneBlasThread blas(options.workers > 1);
    std::vector<std::thread> pool_threads;
    for (std::size_t w = 1; w < options.workers; ++w) pool_threads.emplace_back([&] { pool.work(); });
    pool.work();  // the calling thread is one of the workers
    for (auto& t : pool_threads) t.join();
  }
  return pool.finish(t0);
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
