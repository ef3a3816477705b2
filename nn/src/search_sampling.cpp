#include "nn/search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "nn/errors.hpp"
#include "nn/init.hpp"

namespace nn {

double sample(const SearchDimension& d, std::mt19937_64& rng) {
  if (!(d.lo <= d.hi)) throw ConfigError(fmt::format("search: {} has lo {} > hi {}", d.name, d.lo, d.hi));
  if (!std::isfinite(d.lo) || !std::isfinite(d.hi))
    throw ConfigError(fmt::format("search: {} needs finite bounds, got [{}, {}]", d.name, d.lo, d.hi));
  const double first = std::ceil(d.lo), last = std::floor(d.hi);  // the integers in range
  if (d.integer && first > last)
    throw ConfigError(fmt::format("search: {} is an integer but [{}, {}] holds none", d.name, d.lo, d.hi));
  const double u = uniform01(rng);
  // Integers on a linear scale: each equally likely (rounding would give the two ends half a share).
  if (d.integer && d.scale == Scale::linear) return std::min(last, first + std::floor(u * (last - first + 1)));
  double x = 0;
  switch (d.scale) {
    case Scale::linear: x = d.lo + u * (d.hi - d.lo); break;
    case Scale::log:
      if (!(d.lo > 0)) throw ConfigError(fmt::format("search: {} on a log scale needs lo > 0", d.name));
      x = std::pow(10.0, std::log10(d.lo) + u * (std::log10(d.hi) - std::log10(d.lo)));
      break;
    case Scale::one_minus_log: {
      if (!(d.hi < 1)) throw ConfigError(fmt::format("search: {} on a 1 − x log scale needs hi < 1", d.name));
      const double a = std::log10(1 - d.hi), b = std::log10(1 - d.lo);
      x = 1 - std::pow(10.0, a + u * (b - a));
      break;
    }
  }
  return d.integer ? std::clamp(std::round(x), first, last) : x;
}

double to_scale(const SearchDimension& d, double x) {
  switch (d.scale) {
    case Scale::log: return std::log10(x);
    case Scale::one_minus_log: return std::log10(1 - x);
    case Scale::linear: break;
  }
  return x;
}

double from_scale(const SearchDimension& d, double c) {
  switch (d.scale) {
    case Scale::log: return std::pow(10.0, c);
    case Scale::one_minus_log: return 1 - std::pow(10.0, c);
    case Scale::linear: break;
  }
  return c;
}

void validate_space(const std::vector<SearchDimension>& space) {
  for (std::size_t k = 0; k < space.size(); ++k) {
    if (space[k].name.empty()) throw ConfigError(fmt::format("search: dimension {} has no name", k));
    for (std::size_t j = 0; j < k; ++j)
      if (space[j].name == space[k].name)
        throw ConfigError(fmt::format("search: the hyperparameter '{}' appears twice (dimensions {} and {})",
                                      space[k].name, j, k));
    std::mt19937_64 probe(0);
    sample(space[k], probe);  // throws for bounds the scale cannot sample
  }
}

std::uint64_t trial_seed(std::uint64_t search_seed, std::uint64_t trial) {
  // splitmix64 of each input in turn: nearby seeds and ids give unrelated streams.
  auto mix = [](std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  return mix(mix(search_seed) ^ trial);
}

Hyperparameters sample_point(const std::vector<SearchDimension>& space, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Hyperparameters h;
  for (const auto& d : space) h[d.name] = sample(d, rng);
  return h;
}

std::vector<Trial> random_search(const std::vector<SearchDimension>& space, std::size_t trials, std::uint64_t seed,
                                 const std::function<double(const Hyperparameters&)>& objective) {
  validate_space(space);  // refused before the first trial, not after an objective has run
  std::mt19937_64 rng(seed);
  std::vector<Trial> out;
  for (std::size_t t = 0; t < trials; ++t) {
    Hyperparameters h;
    for (const auto& d : space) h[d.name] = sample(d, rng);
    double score;
    try {
      score = objective(h);
    } catch (const ad::Error&) {
      score = std::numeric_limits<double>::infinity();
    }
    if (std::isnan(score)) score = std::numeric_limits<double>::infinity();
    out.push_back({std::move(h), score});
  }
  std::stable_sort(out.begin(), out.end(), [](const Trial& a, const Trial& b) { return a.score < b.score; });
  return out;
}

}  // namespace nn
