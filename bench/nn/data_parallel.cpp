// Data-parallel training steps of the Fashion MLP 784-256-128-10 (ReLU, softmax cross-entropy,
// Adam 1e-3, float, global batch 128) on this machine, run as
//   meson test -C build --benchmark data_parallel --verbose     (or, as root, with
//   OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1:
//   mpirun --oversubscribe --bind-to none -np 2 build/bench/nn/data_parallel [seconds=3])
// Three timings of the same global steps, each while the other configurations wait asleep:
//   1 rank × 1 BLAS thread, 1 rank × 2 BLAS threads (rank 0 alone), 2 ranks × 1 BLAS thread (data
//   parallel: 64 examples each, one fused allreduce of the 536k gradients per step).
// Scaling efficiency = (2 ranks' steps/s) / (2 × one rank's with one thread); the comparison the
// issue asks for is 2 ranks × 1 thread against 1 rank × 2 threads. Prints name=value lines (rank 0).
#include <cblas.h>
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include <nn/distributed.hpp>
#include <nn/nn.hpp>

namespace {

constexpr std::size_t batch = 128;

nn::Sequential<float> fashion_mlp() {
  nn::Sequential<float> m;
  m.dense(256, nn::Activation::relu).dense(128, nn::Activation::relu).dense(10);
  m.build(784, 0);
  return m;
}

// Waits for every rank without spinning (MPI's blocking barrier polls a core at 100%, which would
// steal the core of the configuration being timed).
void sleepy_barrier() {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  for (int done = 0; MPI_Test(&request, &done, MPI_STATUS_IGNORE), !done;)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

// Global steps per second of `trainer` on full shuffled batches for about `seconds` (after a warm-up).
double steps_per_second(nn::Trainer<float>& trainer, const nn::Dataset<float>& train, double seconds) {
  std::mt19937_64 rng(0);
  nn::Batches batches(train.size(), batch);
  batches.shuffle(rng);
  std::size_t next = 0;
  auto step = [&] {
    if (next == batches.count() - 1) {  // full batches only
      batches.shuffle(rng);
      next = 0;
    }
    trainer.step(train, batches[next++]);
  };
  for (int i = 0; i < 20; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  int steps = 0;
  double elapsed = 0;
  // The ranks of a data-parallel run agree on when to stop: rank 0's clock, every 10 steps.
  for (int go = 1; go;) {
    for (int i = 0; i < 10; ++i) step();
    steps += 10;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    go = elapsed < seconds;
    if (trainer.options().parallel.group) MPI_Bcast(&go, 1, MPI_INT, 0, MPI_COMM_WORLD);
  }
  return steps / elapsed;
}

double time_alone(const nn::Dataset<float>& train, int threads, double seconds) {
  openblas_set_num_threads(threads);
  auto model = fashion_mlp();
  nn::Adam<float> adam(1e-3);
  nn::Trainer<float> trainer(model, nn::Loss::softmax_cross_entropy, adam,
                             nn::TrainOptions{.batch_size = batch, .progress = nn::Progress::none});
  return steps_per_second(trainer, train, seconds);
}

}  // namespace

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);  // may re-execute the program: before MPI starts
  nn::MpiWorld world;
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  auto train = nn::load_fashion_mnist<float>("train");
  nn::Normalizer<float> normalizer;
  normalizer.fit(train);
  normalizer.apply(train);

  double one_thread = 0, two_threads = 0;
  if (world.rank() == 0) {
    one_thread = time_alone(train, 1, seconds);
    two_threads = time_alone(train, 2, seconds);
  }
  sleepy_barrier();

  openblas_set_num_threads(1);
  auto model = fashion_mlp();
  nn::Adam<float> adam(1e-3);
  nn::Trainer<float> trainer(model, nn::Loss::softmax_cross_entropy, adam,
                             nn::TrainOptions{.batch_size = batch, .progress = nn::Progress::none,
                                              .parallel = {&world}});
  const double parallel = steps_per_second(trainer, train, seconds);

  if (world.rank() == 0) {
    std::printf("bench=data_parallel\nlayers=784-256-128-10\nglobal_batch=%zu\nranks=%d\nparameters=%zu\n", batch,
                world.size(), model.parameter_count());
    std::printf("allreduce_bytes_per_step=%zu\n", (model.parameter_count() + 1) * sizeof(float));
    std::printf("one_rank_1_thread_steps_per_s=%.1f\none_rank_2_threads_steps_per_s=%.1f\n", one_thread, two_threads);
    std::printf("ranks_x_1_thread_steps_per_s=%.1f\n", parallel);
    std::printf("speedup_vs_1_rank_2_threads=%.3f\n", parallel / two_threads);
    std::printf("scaling_efficiency=%.3f\n", parallel / (world.size() * one_thread));
  }
}
