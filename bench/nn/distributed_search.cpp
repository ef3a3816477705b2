// Trials per hour of a distributed search (nn/search_distributed.hpp) on this machine: the same
// trials (a random search's, same seed, Fashion-MNIST MLPs as bench/nn/caviar) run
//   A) over 2 ranks × 1 worker (run_distributed_search; each trial on 1 BLAS thread), and
//   B) on rank 0 alone with 2 workers (run_search: caviar, 1 BLAS thread each) while rank 1 sleeps,
// in one run under mpirun; prints trials per hour of each and their ratio A/B (rank 0). Both use
// the two cores; A adds the messages and rank 0's serving loop, and runs two processes.
//
//   (as root: OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 in the environment)
//   mpirun --oversubscribe --bind-to none -np 2 build/bench/nn/distributed_search      # the lead's measurement
//   ... build/bench/nn/distributed_search --trials 4 --epochs 1 --limit 1200 --dev 200   # a quick check
//   (or meson test -C build --benchmark distributed_search --verbose)
#include <mpi.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <autodiff/blas_setup.hpp>
#include <nn/nn.hpp>

#include <nn/search_distributed.hpp>

#include "fashion_trials.hpp"

namespace {

// Waits for every rank without spinning (MPI's blocking barrier polls a core at 100%, which would
// steal a core from rank 0's two workers).
void sleepy_barrier() {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  for (int done = 0; MPI_Test(&request, &done, MPI_STATUS_IGNORE), !done;)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

}  // namespace

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  nn::MpiWorld world;
  CLI::App app{"distributed search: 2 ranks x 1 worker vs 1 rank x 2 workers, trials per hour"};
  std::size_t trials = 8, epochs = 3, limit = 0, dev_size = 5000;
  app.add_option("--trials", trials, "trials of each configuration (the same trials)")->capture_default_str();
  app.add_option("--epochs", epochs, "epochs per trial")->capture_default_str();
  app.add_option("--limit", limit, "Fashion-MNIST training images used, dev included (0: all 60000)")
      ->capture_default_str();
  app.add_option("--dev", dev_size, "of them, the dev set")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (world.size() != 2) {
    if (world.rank() == 0)
      fmt::print(stderr, "distributed_search: run it under mpirun -np 2 (got {} ranks)\n", world.size());
    return 1;
  }

  const auto d = bench::FashionTrials::load(limit, dev_size, 128);
  const auto space = bench::fashion_search_space();
  auto trial = [&](nn::TrialContext& c) { return d(c); };
  if (world.rank() == 0)
    fmt::print("BLAS kernels: {}; {} trials of {} epochs on {} images (MLP 784-h-h/2-10, h in [128, 256])\n",
               ad::blas_kernel_name(), trials, epochs, d.train.size());

  nn::RandomScheduler distributed_trials(space, 1, trials, epochs);
  const auto a = nn::run_distributed_search(world, distributed_trials, trial,
                                            {.workers = 1, .results_path = {}, .stop = nullptr, .on_record = {}});
  nn::SearchResult b;
  if (world.rank() == 0) {
    nn::RandomScheduler local_trials(space, 1, trials, epochs);
    b = nn::run_search(local_trials, trial, {.workers = 2, .results_path = {}, .stop = nullptr, .on_record = {}});
  }
  sleepy_barrier();
  if (world.rank() == 0) {
    const double per_hour_a = double(a.records.size()) / a.seconds * 3600;
    const double per_hour_b = double(b.records.size()) / b.seconds * 3600;
    fmt::print("2 ranks x 1 worker:  {:8.1f} s  {:8.1f} trials/hour  (jobs by rank: {}, {})\n", a.seconds, per_hour_a,
               a.jobs_by_rank.at(0), a.jobs_by_rank.at(1));
    fmt::print("1 rank  x 2 workers: {:8.1f} s  {:8.1f} trials/hour\n", b.seconds, per_hour_b);
    fmt::print("ratio: {:.2f}\n", per_hour_a / per_hour_b);
  }
  return 0;
}
