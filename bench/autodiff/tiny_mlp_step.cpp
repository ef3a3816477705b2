// Per-step time of a tiny MLP (2-16-16-1, tanh, binary cross-entropy, batch 64, plain gradient
// descent, float), where the engine's own overhead, not BLAS, dominates. The graph is recorded
// once and replayed each step; the same steps with the graph rebuilt each time (a closure, a new
// tape per step) are timed as well, to show what replay saves. Reference on this machine class (../shared/reference/torch_small.py):
// PyTorch 106 µs/step, libtorch C++ 74 µs/step. Prints name=value lines.
#include <chrono>
#include <cstdio>
#include <random>

#include <autodiff/autodiff.hpp>

namespace {

ad::Tensor<float> randn(std::size_t rows, std::size_t cols, float scale, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.f, scale);
  ad::Tensor<float> t = xt::empty<float>({rows, cols});
  for (float& x : t) x = normal(rng);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  const int steps = argc > 1 ? std::atoi(argv[1]) : 20000;
  std::mt19937 rng(0);
  const std::size_t m = 64;
  ad::Tensor<float> X = randn(2, m, 1.f, rng), Y = xt::zeros<float>({std::size_t(1), m});
  for (std::size_t j = 0; j < m; ++j) Y(0, j) = X(0, j) * X(1, j) > 0 ? 1.f : 0.f;

  // Xavier-scaled initial weights, as for tanh.
  std::vector<ad::Parameter<float>> params;
  params.reserve(6);
  const std::size_t n[] = {2, 16, 16, 1};
  for (int l = 1; l <= 3; ++l) {
    params.emplace_back(fmt::format("W[{}]", l), randn(n[l], n[l - 1], 1.f / std::sqrt(float(n[l - 1])), rng));
    params.emplace_back(fmt::format("b[{}]", l), ad::Tensor<float>(xt::zeros<float>({n[l], std::size_t(1)})));
  }

  // The graph, recorded on `tape`: what a closure does every step and replay does once.
  auto record = [&](ad::Tape<float>& tape) {
    auto A = tape.input("X", X);
    for (int l = 1; l <= 3; ++l)
      A = ad::linear(tape.parameter(params[2 * l - 2]), A, tape.parameter(params[2 * l - 1]),
                     l < 3 ? ad::Activation::tanh : ad::Activation::linear);
    return ad::sigmoid_cross_entropy(A, tape.input("Y", Y));
  };
  const float learning_rate = 0.5f;
  auto descend = [&] {
    for (auto& p : params) {
      float* w = p.value.data();
      const float* g = p.grad.data();
      for (std::size_t i = 0, e = p.value.size(); i < e; ++i) w[i] -= learning_rate * g[i];
    }
  };
  auto us_per_step = [&](auto&& step, int count) {
    for (int i = 0; i < 500; ++i) step();  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < count; ++i) step();
    return 1e6 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / count;
  };

  const auto initial = params;
  ad::Tape<float> tape;
  auto J = record(tape);
  const float initial_cost = J.value()(0, 0);
  const double replay_us = us_per_step(
      [&] {
        tape.forward();
        tape.backward(J);
        descend();
      },
      steps);
  const float final_cost = J.value()(0, 0);

  // The same steps with a new tape each time (the closure form), for comparison, from the same
  // initial weights.
  params = initial;
  const double rebuild_us = us_per_step(
      [&] {
        ad::Tape<float> fresh;
        auto K = record(fresh);
        fresh.backward(K);
        descend();
      },
      steps / 4);

  std::printf("bench=tiny_mlp_step\nlayers=2-16-16-1\nbatch=%zu\nsteps=%d\n", m, steps);
  std::printf("blas_kernel=%s\n", ad::blas_kernel_name().c_str());
  std::printf("us_per_step=%.3f\n", replay_us);
  std::printf("speedup_vs_pytorch=%.1f\nspeedup_vs_libtorch=%.1f\n", 106.0 / replay_us, 74.0 / replay_us);
  std::printf("rebuild_us_per_step=%.3f\nreplay_speedup_vs_rebuild=%.2f\n", rebuild_us, rebuild_us / replay_us);
  std::printf("initial_cost=%.4f\nfinal_cost=%.4f\n", initial_cost, final_cost);
}
