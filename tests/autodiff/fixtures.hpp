// Shared by the engine's tests: seeded random matrices and a cost that weighs every output
// element differently (a plain sum would seed every element with 1 and hide transposed or
// permuted gradients).
#pragma once

#include <cstring>
#include <random>

#include <autodiff/autodiff.hpp>

namespace fixtures {

template <class T = double>
ad::Tensor<T> uniform(std::size_t rows, std::size_t cols, double lo, double hi, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(lo, hi);
  ad::Tensor<T> t = xt::empty<T>({rows, cols});
  for (T& x : t) x = T(u(rng));
  return t;
}

// Magnitudes in [lo, hi] with random signs: inputs kept away from the kink of relu, abs, ...
template <class T = double>
ad::Tensor<T> away_from_zero(std::size_t rows, std::size_t cols, std::mt19937& rng, double lo = 0.2, double hi = 1.5) {
  ad::Tensor<T> t = uniform<T>(rows, cols, lo, hi, rng);
  std::bernoulli_distribution sign(0.5);
  for (T& x : t)
    if (sign(rng)) x = -x;
  return t;
}

// J = Σ out ⊙ R for a fixed random R: the seed of `out` is R itself.
template <class T>
ad::Var<T> weighted_sum(ad::Var<T> out, std::mt19937& rng) {
  auto weights = out.tape().constant(uniform<T>(out.rows(), out.cols(), -1, 1, rng), "weights");
  return ad::sum(ad::mul(out, weights));
}

// f applied to every element with scalar std:: functions: references that do not go through the
// engine's SIMD code paths (and that GCC 12 compiles without its false AVX-512 warnings).
template <class T, class F>
ad::Tensor<T> map(const ad::Tensor<T>& x, F f) {
  ad::Tensor<T> y = x;
  for (T& v : y) v = f(v);
  return y;
}

// Same shape and the same bits (replay must be exactly a fresh build, not merely close to it).
template <class T>
bool bit_identical(const ad::Tensor<T>& a, const ad::Tensor<T>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace fixtures
