// Threading: each rank's main thread alone calls MPI (MPI_THREAD_FUNNELED, as MpiWorld asks), the
// trials run on options.workers other threads. Rank 0's main thread serves the other ranks'
// messages; another rank's main thread sends its workers' requests and records (a queue of calls,
// each waited for by the worker that posted it). Open MPI busy-polls in blocking calls, so every
// wait here is MPI_Iprobe and a short sleep: an idle rank costs no core that a trial could use.
//
// Messages (MPI_COMM_WORLD, JSON text as MPI_CHAR):
//   rank r → 0  tag_request  ""                       a worker of r wants a job
//   0 → rank r  tag_reply    {"job": <job>} | {"wait": true} | {"done": true}
//   rank r → 0  tag_record   <record>                 a line of the results file
//   rank r → 0  tag_bye      ""                       r's workers are done (rank 0 forgets r's jobs
//                                                      never recorded: interrupted)
#include "nn/search_distributed.hpp"

#include <mpi.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "nn/errors.hpp"
#include "nn/search_results.hpp"
#include "search_pool.hpp"

namespace nn {
namespace {

enum Tag : int { tag_request = 1701, tag_reply, tag_record, tag_bye };

void send(int dest, Tag tag, const std::string& text) {
  MPI_Send(text.data(), int(text.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD);
}

std::string receive(const MPI_Status& probed) {
  int n = 0;
  MPI_Get_count(&probed, MPI_CHAR, &n);
  std::string text(std::size_t(n), '\0');
  MPI_Recv(text.data(), n, MPI_CHAR, probed.MPI_SOURCE, probed.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return text;
}

// A message from `source` with `tag`, waited for without spinning.
std::string wait_for(int source, Tag tag) {
  while (true) {
    int arrived = 0;
    MPI_Status status;
    MPI_Iprobe(source, tag, MPI_COMM_WORLD, &arrived, &status);
    if (arrived) return receive(status);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// An unexpected failure of the protocol itself (a bug, not a trial's error): end the whole job.
[[noreturn]] void abort_job(MpiWorld& world, const std::string& what) {
  std::fprintf(stderr, "distributed search, rank %d: %s\n", world.rank(), what.c_str());
  std::fflush(stderr);
  world.abort(1);
}

// Calls that worker threads hand to the main thread (the only one that talks to MPI).
class Funnel {
 public:
  void call(const std::function<void()>& f) {
    std::packaged_task<void()> task(f);
    auto done = task.get_future();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(task));
    }
    posted_.notify_one();
    done.get();  // rethrows what f threw
  }
  // On the main thread: runs the posted calls until `finished()` holds with none left.
  void serve(const std::function<bool()>& finished) {
    std::unique_lock lock(mutex_);
    while (true) {
      while (!queue_.empty()) {
        auto task = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        task();
        lock.lock();
      }
      if (finished()) return;
      posted_.wait_for(lock, std::chrono::milliseconds(20));
    }
  }
  void wake() { posted_.notify_all(); }

 private:
  std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<std::packaged_task<void()>> queue_;
};

// Rank 0's scheduler as seen from another rank.
class RemoteScheduler final : public Scheduler {
 public:
  RemoteScheduler(MpiWorld& world, Funnel& funnel, nlohmann::json identity)
      : world_(world), funnel_(funnel), identity_(std::move(identity)) {}
  nlohmann::json identity() const override { return identity_; }
  std::optional<TrialJob> next() override {
    if (done_) return std::nullopt;
    std::string answer;
    funnel_.call([&] {
      send(0, tag_request, "");
      answer = wait_for(0, tag_reply);
    });
    try {
      const auto j = nlohmann::json::parse(answer);
      if (j.contains("job")) return job_from_json(j["job"]);
      if (j.contains("done")) done_ = true;
      return std::nullopt;
    } catch (const std::exception& e) {
      abort_job(world_, fmt::format("rank 0's reply cannot be read ({}): {}", e.what(), answer));
    }
  }
  void report(const TrialRecord& record) override {
    const std::string line = to_json(record).dump();
    funnel_.call([&] { send(0, tag_record, line); });
  }
  bool done() const override { return done_; }

 private:
  MpiWorld& world_;
  Funnel& funnel_;
  nlohmann::json identity_;
  bool done_ = false;  // under the pool's mutex (next and report are called under it)
};

// Runs `workers` threads of pool.work(); `running` counts those still working.
std::vector<std::thread> start_workers(detail::SearchPool& pool, std::size_t workers, std::atomic<std::size_t>& running,
                                       Funnel* funnel) {
  running = workers;
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < workers; ++w)
    threads.emplace_back([&pool, &running, funnel] {
      pool.work();
      --running;
      if (funnel) funnel->wake();
    });
  return threads;
}

// Rank 0's main thread: answers the other ranks until each has said bye and its own workers are done.
// Returns the records each rank sent.
std::vector<std::size_t> serve(MpiWorld& world, detail::SearchPool& pool,
                               const std::atomic<std::size_t>& local_running) {
  std::vector<std::size_t> records(std::size_t(world.size()), 0);
  int byes = 0;
  std::vector<std::size_t> outstanding(std::size_t(world.size()), 0);
  while (byes < world.size() - 1 || local_running > 0) {
    int arrived = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &arrived, &status);
    if (!arrived) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    const int from = status.MPI_SOURCE;
    const std::string text = receive(status);
    try {
      switch (status.MPI_TAG) {
        case tag_request: {
          auto offer = pool.offer();
          nlohmann::json answer;
          if (offer.kind == detail::SearchPool::Offer::job) {
            answer["job"] = to_json(*offer.job_to_run);
            ++outstanding[std::size_t(from)];
          } else if (offer.kind == detail::SearchPool::Offer::wait) {
            answer["wait"] = true;
          } else {
            answer["done"] = true;
          }
          send(from, tag_reply, answer.dump());
          break;
        }
        case tag_record:
          pool.record(record_from_json(nlohmann::json::parse(text)));
          --outstanding[std::size_t(from)];
          ++records[std::size_t(from)];
          break;
        case tag_bye:
          pool.forget(outstanding[std::size_t(from)]);
          outstanding[std::size_t(from)] = 0;
          ++byes;
          break;
        default: abort_job(world, fmt::format("a message with unknown tag {} from rank {}", status.MPI_TAG, from));
      }
    } catch (const std::exception& e) {
      abort_job(world, fmt::format("a message from rank {} cannot be read ({}): {}", from, e.what(), text));
    }
  }
  return records;
}

enum ErrorKind : int { config_error, data_error, checkpoint_error };

}  // namespace

void on_every_rank(MpiWorld& world, const std::function<void()>& step) {
  std::exception_ptr error;
  std::string message;
  int kind = config_error;
  try {
    step();
  } catch (const DataError& e) {
    error = std::current_exception(), message = e.what(), kind = data_error;
  } catch (const CheckpointError& e) {
    error = std::current_exception(), message = e.what(), kind = checkpoint_error;
  } catch (const std::exception& e) {
    error = std::current_exception(), message = e.what();
  } catch (...) {
    error = std::current_exception(), message = "an exception that is not a std::exception";
  }
  int failed = error ? world.rank() : world.size();
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (failed == world.size()) return;
  int header[2] = {kind, int(message.size())};
  MPI_Bcast(header, 2, MPI_INT, failed, MPI_COMM_WORLD);
  message.resize(std::size_t(header[1]));
  MPI_Bcast(message.data(), header[1], MPI_CHAR, failed, MPI_COMM_WORLD);
  if (world.rank() == failed) std::rethrow_exception(error);
  const std::string text = fmt::format("rank {}: {}", failed, message);
  if (header[0] == data_error) throw DataError(text);
  if (header[0] == checkpoint_error) throw CheckpointError(text);
  throw ConfigError(text);
}

SearchResult run_distributed_search(MpiWorld& world, Scheduler& scheduler, const TrialFunction& trial,
                                    const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  // The same search on every rank (the identity names method, space, seed and budgets).
  std::string identity = scheduler.identity().dump();
  std::string ours = identity;
  int length = int(identity.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  identity.resize(std::size_t(length));
  MPI_Bcast(identity.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);

  std::unique_ptr<detail::SearchPool> pool;
  Funnel funnel;
  std::unique_ptr<RemoteScheduler> remote;
  RunOptions here = options;
  on_every_rank(world, [&] {
    if (identity != ours)
      throw ConfigError(
          fmt::format("distributed search: rank {} runs another search than rank 0: {} here, {} on rank 0",
                      world.rank(), ours, identity));
    if (world.rank() == 0) {
      pool = std::make_unique<detail::SearchPool>(scheduler, trial, here);
    } else {
      here.results_path.clear();
      here.on_record = nullptr;
      remote = std::make_unique<RemoteScheduler>(world, funnel, scheduler.identity());
      pool = std::make_unique<detail::SearchPool>(*remote, trial, here, /*remote_scheduler*/ true);
    }
  });

  std::atomic<std::size_t> running{0};
  std::vector<std::size_t> jobs_by_rank;
  {
    detail::OneBlasThread blas(true);  // the ranks' trials share the machine's cores
    auto threads = start_workers(*pool, options.workers, running, world.rank() == 0 ? nullptr : &funnel);
    if (world.rank() == 0) {
      jobs_by_rank = serve(world, *pool, running);
    } else {
      funnel.serve([&] { return running == 0; });
      send(0, tag_bye, "");
    }
    for (auto& t : threads) t.join();
  }
  SearchResult result;
  on_every_rank(world, [&] { result = pool->finish(t0); });
  if (world.rank() == 0) {
    std::size_t elsewhere = 0;
    for (const auto n : jobs_by_rank) elsewhere += n;
    jobs_by_rank[0] = result.records.size() - result.restored - elsewhere;
    result.jobs_by_rank = std::move(jobs_by_rank);
  } else {
    result.records.clear(), result.restored = 0;  // rank 0's records are the search's
  }
  return result;
}

}  // namespace nn
