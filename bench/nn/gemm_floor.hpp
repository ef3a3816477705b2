// The BLAS floor of an MLP training step: only the step's GEMMs (3 forward, 3 dW, 2 dA), through the
// same OpenBLAS, on the same layer sizes and batch. This is the reference's gemm_floor.cpp made a
// function so that a benchmark measures it in the same run as the real step (machines are noisy).
#pragma once

#include <cblas.h>

#include <chrono>
#include <random>
#include <vector>

namespace bench {

// Steps per second of the GEMMs alone for layers n[0]-n[1]-...-n[L] and batch B, over `seconds`.
inline double gemm_floor_steps_per_s(const std::vector<int>& n, int B, double seconds) {
  const int L = int(n.size()) - 1;
  std::mt19937 g(0);
  std::normal_distribution<float> d;
  auto make = [&](std::size_t k) {
    std::vector<float> v(k);
    for (auto& x : v) x = d(g);
    return v;
  };
  std::vector<std::vector<float>> W, dW, A, dA;
  for (int l = 1; l <= L; ++l) {
    W.push_back(make(std::size_t(n[l]) * n[l - 1]));
    dW.push_back(make(std::size_t(n[l]) * n[l - 1]));
  }
  for (int l = 0; l <= L; ++l) {
    A.push_back(make(std::size_t(B) * n[l]));
    dA.push_back(make(std::size_t(B) * n[l]));
  }
  auto step = [&] {
    for (int l = 1; l <= L; ++l)  // A[l] = A[l-1]·W[l]ᵀ
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, n[l], n[l - 1], 1.f, A[l - 1].data(), n[l - 1],
                  W[l - 1].data(), n[l - 1], 0.f, A[l].data(), n[l]);
    for (int l = L; l >= 1; --l) {  // dW[l] = dA[l]ᵀ·A[l-1], dA[l-1] = dA[l]·W[l]
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n[l], n[l - 1], B, 1.f, dA[l].data(), n[l],
                  A[l - 1].data(), n[l - 1], 0.f, dW[l - 1].data(), n[l - 1]);
      if (l > 1)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, n[l - 1], n[l], 1.f, dA[l].data(), n[l],
                    W[l - 1].data(), n[l - 1], 0.f, dA[l - 1].data(), n[l - 1]);
    }
  };
  for (int i = 0; i < 20; ++i) step();
  int steps = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (int i = 0; i < 10; ++i) step();
    steps += 10;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return steps / elapsed;
}

}  // namespace bench
