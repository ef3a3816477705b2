// One training step of the MLP 784-256-128-10 (ReLU, softmax cross-entropy, Adam, batch 128,
// float) on real Fashion-MNIST mini-batches — gathering the shuffled batch and the Adam update
// included — against the BLAS floor (the step's GEMMs alone) measured in the same run, alternating
// rounds so that both see the same machine load. Reference on this machine class: PyTorch ~770
// steps/s (0.51 of the floor), libtorch ~400, floor ~1500. Prints name=value lines.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fashion_mlp.hpp"
#include "gemm_floor.hpp"

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  const double seconds_per_round = argc > 2 ? std::atof(argv[2]) : 0.5;
  const std::vector<int> sizes{784, 256, 128, 10};
  const std::size_t batch = bench::FashionMlp::batch;

  bench::FashionMlp mlp;
  auto step = [&] { return mlp.step(); };
  for (int i = 0; i < 30; ++i) step();  // records the graph, warms caches and BLAS buffers

  std::vector<double> ours, floor;
  double cost = 0;
  for (int r = 0; r < rounds; ++r) {
    int steps = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (elapsed < seconds_per_round) {
      for (int i = 0; i < 10; ++i) cost = step();
      steps += 10;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    ours.push_back(steps / elapsed);
    floor.push_back(bench::gemm_floor_steps_per_s(sizes, int(batch), seconds_per_round));
  }
  // Best round of each: the least disturbed by other processes.
  const double best = *std::max_element(ours.begin(), ours.end());
  const double best_floor = *std::max_element(floor.begin(), floor.end());
  const char* threads = std::getenv("OPENBLAS_NUM_THREADS");
  std::printf("bench=mlp_step\nlayers=784-256-128-10\nbatch=%zu\nblas_kernel=%s\nblas_threads=%s\n", batch,
              ad::blas_kernel_name().c_str(), threads ? threads : "default");
  std::printf("steps_per_s=%.1f\nus_per_step=%.1f\n", best, 1e6 / best);
  std::printf("floor_steps_per_s=%.1f\nfloor_us_per_step=%.1f\n", best_floor, 1e6 / best_floor);
  std::printf("ratio_to_floor=%.3f\n", best / best_floor);
  std::printf("pytorch_ratio_to_floor=0.51\nlast_cost=%.4f\n", cost);
}
