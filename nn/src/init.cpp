#include "nn/init.hpp"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

void Init::validate() const {
  if (!(scale > 0 && std::isfinite(scale)))
    throw ConfigError(fmt::format("initializer {} {}: scale must be a finite number > 0, got {}", to_string(kind),
                                  to_string(distribution), scale));
}

double Init::stddev(std::size_t fan_in, std::size_t fan_out) const {
  const double in = double(std::max<std::size_t>(fan_in, 1));
  switch (kind) {
    case InitKind::zeros: return 0;
    case InitKind::small_random: return 0.01 * scale;
    case InitKind::he: return scale * std::sqrt(2.0 / in);
    case InitKind::xavier: return scale * std::sqrt(1.0 / in);
    case InitKind::glorot: return scale * std::sqrt(2.0 / double(std::max<std::size_t>(fan_in + fan_out, 1)));
  }
  return 0;
}

std::string to_string(InitKind k) {
  switch (k) {
    case InitKind::zeros: return "zeros";
    case InitKind::small_random: return "small_random";
    case InitKind::he: return "he";
    case InitKind::xavier: return "xavier";
    case InitKind::glorot: return "glorot";
  }
  return "?";
}

std::string to_string(Distribution d) { return d == Distribution::normal ? "normal" : "uniform"; }

InitKind init_kind_from_string(const std::string& s) {
  for (auto k : {InitKind::zeros, InitKind::small_random, InitKind::he, InitKind::xavier, InitKind::glorot})
    if (to_string(k) == s) return k;
  throw ConfigError("initializer: unknown kind '" + s + "' (zeros, small_random, he, xavier, glorot)");
}

Distribution distribution_from_string(const std::string& s) {
  if (s == "normal") return Distribution::normal;
  if (s == "uniform") return Distribution::uniform;
  throw ConfigError("initializer: unknown distribution '" + s + "' (normal, uniform)");
}

double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

double standard_normal(std::mt19937_64& rng) {
  // Box-Muller; 1 − u keeps the logarithm's argument in (0, 1].
  const double u = 1.0 - uniform01(rng), v = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * v);
}

std::mt19937_64 rng_for(std::uint64_t seed, const std::string& name) {
  // FNV-1a of the name, mixed with the seed through splitmix64.
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (h | 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return std::mt19937_64(z ^ (z >> 31));
}

template <class T>
void initialize(ad::Tensor<T>& w, const Init& init, std::mt19937_64& rng) {
  init.validate();
  const double sd = init.stddev(w.shape()[1], w.shape()[0]);
  if (init.kind == InitKind::zeros) {
    w.fill(T(0));
    return;
  }
  if (init.distribution == Distribution::normal) {
    for (T& x : w) x = T(sd * standard_normal(rng));
  } else {
    const double limit = sd * std::sqrt(3.0);  // U(−a, a) has variance a²/3
    for (T& x : w) x = T(limit * (2.0 * uniform01(rng) - 1.0));
  }
}

template void initialize(ad::Tensor<float>&, const Init&, std::mt19937_64&);
template void initialize(ad::Tensor<double>&, const Init&, std::mt19937_64&);

}  // namespace nn
