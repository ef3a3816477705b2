// The gradient checker's cost on the MLP of the gradcheck issue: 20-32-32-5, tanh, softmax
// cross-entropy plus λ/(2m)Σ‖W‖², batch 16, double, 1893 parameters. A full check (every element,
// 2 replays each, from the block's first consumer) and a directional check (2 replays per block),
// each the best of several runs of the whole gc::check call. Reference on this machine class:
// torch.autograd.gradcheck 213 ms, fast_mode 2.1 ms. Prints name=value lines.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <gradcheck/gradcheck.hpp>

#include "allocation_counter.hpp"  // a check's allocations must not grow with its evaluations

namespace {

ad::Tensor<double> randn(std::size_t rows, std::size_t cols, double scale, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0, scale);
  ad::Tensor<double> t = xt::empty<double>({rows, cols});
  for (double& x : t) x = normal(rng);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  const int runs = argc > 1 ? std::atoi(argv[1]) : 20;
  const std::size_t n[] = {20, 32, 32, 5}, m = 16;
  const double lambda = 0.7;
  std::mt19937_64 rng(1);

  std::vector<ad::Parameter<double>> params;
  params.reserve(6);
  for (int l = 1; l <= 3; ++l) {
    params.emplace_back(fmt::format("W[{}]", l), randn(n[l], n[l - 1], 1 / std::sqrt(double(n[l - 1])), rng));
    params.emplace_back(fmt::format("b[{}]", l), randn(n[l], 1, 0.3, rng));
  }
  ad::Tensor<double> X = randn(n[0], m, 1, rng), Y = xt::zeros<double>({n[3], m});
  for (std::size_t j = 0; j < m; ++j) Y(j % n[3], j) = 1;

  ad::Tape<double> tape;
  ad::Var<double> A = tape.input("X", X), l2;
  for (int l = 1; l <= 3; ++l) {
    auto W = tape.parameter(params[2 * (l - 1)]);
    A = ad::linear(W, A, tape.parameter(params[2 * l - 1]), l < 3 ? ad::Activation::tanh : ad::Activation::linear);
    auto term = ad::mul_scalar(ad::sum(ad::square(W)), lambda / (2.0 * m));
    l2 = l == 1 ? term : l2 + term;
  }
  auto J = ad::softmax_cross_entropy(A, tape.input("Y", Y)) + l2;
  std::vector<ad::Parameter<double>*> blocks;
  std::size_t count = 0;
  for (auto& p : params) {
    blocks.push_back(&p);
    count += p.value.size();
  }

  std::size_t allocated = 0;  // by the last check
  auto best_of = [&](gc::Mode mode, gc::Report& last) {
    gc::Options o;
    o.mode = mode;
    o.l2_scale = lambda / m;
    double best = 1e30;
    for (int r = 0; r < runs; ++r) {
      const std::size_t before = allocation_counter::operator_new_calls();
      const auto t0 = std::chrono::steady_clock::now();
      last = gc::check(tape, J, blocks, o);
      // The whole call, as a user waits for it: setup forward/backward, contract checks, restore.
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      allocated = allocation_counter::operator_new_calls() - before;
    }
    return best;
  };
  gc::Report full, directional;
  const double full_s = best_of(gc::Mode::all, full);
  const std::size_t full_allocations = allocated;
  const double directional_s = best_of(gc::Mode::directional, directional);

  std::printf("bench=gradcheck\nmodel=20-32-32-5\nbatch=%zu\nparams=%zu\n", m, count);
  std::printf("full_ms=%.3f\nfull_evaluations=%zu\nfull_relative_error=%.2e\nfull_passed=%d\n", 1e3 * full_s,
              full.evaluations, full.relative_error, int(full.passed()));
  std::printf("full_allocations=%zu\n", full_allocations);
  std::printf("directional_ms=%.3f\ndirectional_evaluations=%zu\ndirectional_relative_error=%.2e\n"
              "directional_passed=%d\n",
              1e3 * directional_s, directional.evaluations, directional.relative_error, int(directional.passed()));
  // PyTorch's figures are the reference for this machine class (bench/torch_compare.py
  // measures them in the same run when python3-torch is installed).
  std::printf("reference_torch_full_ms=213\nreference_torch_fast_ms=2.1\nspeedup_full_vs_reference=%.1f\n"
              "speedup_directional_vs_reference=%.1f\n",
              213 / (1e3 * full_s), 2.1 / (1e3 * directional_s));
  return full.passed() && directional.passed() ? 0 : 1;
}
