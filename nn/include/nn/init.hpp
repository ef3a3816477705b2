// Weight initializers of the course: zeros, random·0.01, He, Xavier and Glorot, each normal or
// uniform (the uniform one has the same variance), with a scale multiplier on the standard
// deviation as a tunable hyperparameter. Draws are seeded and reproducible across platforms (own
// transforms of std::mt19937_64, not the implementation-defined std:: distributions).
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include <autodiff/tensor.hpp>

namespace nn {

enum class InitKind {
  zeros,         // every unit computes the same function: symmetry is never broken
  small_random,  // N(0, 1) · 0.01, the course's first try
  he,            // variance 2 / n[l-1], for ReLU
  xavier,        // variance 1 / n[l-1], for tanh
  glorot,        // variance 2 / (n[l-1] + n[l])
};
enum class Distribution { normal, uniform };

struct Init {
  InitKind kind = InitKind::he;
  Distribution distribution = Distribution::normal;
  double scale = 1.0;  // multiplies the standard deviation

  static Init zeros() { return {InitKind::zeros, Distribution::normal, 1.0}; }
  static Init small_random(double scale = 1.0, Distribution d = Distribution::normal) {
    return {InitKind::small_random, d, scale};
  }
  static Init he(Distribution d = Distribution::normal, double scale = 1.0) { return {InitKind::he, d, scale}; }
  static Init xavier(Distribution d = Distribution::normal, double scale = 1.0) { return {InitKind::xavier, d, scale}; }
  static Init glorot(Distribution d = Distribution::normal, double scale = 1.0) { return {InitKind::glorot, d, scale}; }

  // Throws ConfigError unless scale is a finite number > 0 (NaN would fill W with NaN silently).
  void validate() const;
  // The standard deviation of the draws for a (fan_out, fan_in) weight matrix.
  double stddev(std::size_t fan_in, std::size_t fan_out) const;
};

std::string to_string(InitKind k);
std::string to_string(Distribution d);
InitKind init_kind_from_string(const std::string& s);        // throws ConfigError
Distribution distribution_from_string(const std::string& s);  // throws ConfigError

// Fills w, of shape (fan_out, fan_in) = (n[l], n[l-1]), with draws of `init` (validated first).
template <class T>
void initialize(ad::Tensor<T>& w, const Init& init, std::mt19937_64& rng);

// A generator for one named parameter: the same (seed, name) always gives the same draws, and
// adding a layer does not change the draws of the others.
std::mt19937_64 rng_for(std::uint64_t seed, const std::string& name);

// Reproducible draws: uniform in [0, 1) with 53 random bits, and standard normal (Box-Muller).
double uniform01(std::mt19937_64& rng);
double standard_normal(std::mt19937_64& rng);

}  // namespace nn
