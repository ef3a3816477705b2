// Where the time of one mlp_step goes: the same step (MLP 784-256-128-10, ReLU, softmax CE, Adam,
// batch 128, float, real Fashion-MNIST batches) cut into phases — gather, each operation's forward,
// each operation's backward, the optimizer — each timed on its own, with the floor's GEMMs beside
// it. Timing a phase adds a clock read per phase, so the phases sum to slightly more than a step;
// read it as "% of a step", and read mlp_step for the step's speed.
//
// Usage: mlp_step_profile [steps] [both|step|floor]. "step" or "floor" runs only that part, for
// `perf record` to see one of them alone.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fashion_mlp.hpp"
#include "gemm_floor.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Phases {
  std::vector<std::string> order;
  std::map<std::string, double> us;
  void add(const std::string& name, Clock::time_point t0) {
    const double d = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (!us.count(name)) order.push_back(name);
    us[name] += d;
  }
};

}  // namespace

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  const int steps = argc > 1 ? std::atoi(argv[1]) : 2000;
  const std::string part = argc > 2 ? argv[2] : "both";
  if (part == "floor") {
    const double floor = bench::gemm_floor_steps_per_s({784, 256, 128, 10}, 128, steps / 1000.0);
    std::printf("floor_us_per_step=%.1f\n", 1e6 / floor);
    return 0;
  }
  bench::FashionMlp mlp;
  const std::size_t batch = bench::FashionMlp::batch;
  const auto& train = mlp.train;
  auto& trainer = mlp.trainer;
  for (int i = 0; i < 30; ++i) mlp.step();

  auto& tape = trainer.tape();
  const auto params = mlp.model.parameters();
  std::uint32_t X = 0, Y = 0;
  for (std::uint32_t i = 0; i < tape.size(); ++i) {
    if (tape.describe(i) == "X") X = i;
    if (tape.describe(i) == "Y") Y = i;
  }
  const std::uint32_t J = std::uint32_t(tape.size() - 1);
  const ad::Var<float> xv(&tape, X), yv(&tape, Y);

  Phases p;
  const auto start = Clock::now();
  for (int s = 0; s < steps; ++s) {
    const auto idx = mlp.next_batch();
    auto t0 = Clock::now();
    nn::gather_rows(train.x, idx, tape.input_buffer(xv, {batch, train.features()}));
    p.add("gather X", t0);
    t0 = Clock::now();
    nn::gather_columns(train.y, idx, tape.input_buffer(yv, {train.outputs(), batch}));
    p.add("gather Y", t0);
    for (std::uint32_t i = 0; i < tape.size(); ++i) {
      auto& n = tape.node(i);
      if (!n.op) continue;
      t0 = Clock::now();
      n.op->forward(tape, n);
      p.add(std::string("fwd ") + n.op->name + " " + tape.describe(i), t0);
    }
    // Tape::sweep's steps, one operation at a time.
    for (std::uint32_t i = 0; i < tape.size(); ++i) tape.node(i).grad_written = false;
    tape.sink(J).fill(1.f);
    for (std::uint32_t i = J + 1; i-- > 0;) {
      auto& n = tape.node(i);
      if (!n.op || !n.grad_written) continue;
      t0 = Clock::now();
      n.op->backward(tape, n);
      p.add(std::string("bwd ") + n.op->name + " " + tape.describe(i), t0);
    }
    t0 = Clock::now();
    mlp.adam.step(params);
    p.add("optimizer (adam)", t0);
  }
  const double total = std::chrono::duration<double, std::micro>(Clock::now() - start).count() / steps;
  double summed = 0;
  for (auto& [k, v] : p.us) summed += v / steps;

  const char* threads = std::getenv("OPENBLAS_NUM_THREADS");
  std::printf("bench=mlp_step_profile\nblas_kernel=%s\nblas_threads=%s\nsteps=%d\n", ad::blas_kernel_name().c_str(),
              threads ? threads : "default", steps);
  std::printf("us_per_step=%.1f (phases sum %.1f)\n", total, summed);
  for (const auto& k : p.order)
    std::printf("  %-40s %8.1f us %5.1f%%\n", k.c_str(), p.us[k] / steps, 100 * p.us[k] / steps / total);
  if (part == "step") return 0;
  const double floor = bench::gemm_floor_steps_per_s({784, 256, 128, 10}, int(batch), 1.0);
  std::printf("floor_us_per_step=%.1f (%.1f%% of a step)\n", 1e6 / floor, 100 * 1e6 / floor / total);
}
