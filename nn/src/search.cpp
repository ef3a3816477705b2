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

std::vector<Trial> random_search(const std::vector<SearchDimension>& space, std::size_t trials, std::uint64_t seed,
                                 const std::function<double(const Hyperparameters&)>& objective) {
  // Refused before the first trial, not after an objective has run.
  for (std::size_t k = 0; k < space.size(); ++k) {
    for (std::size_t j = 0; j < k; ++j)
      if (space[j].name == space[k].name)
        throw ConfigError(fmt::format("search: the hyperparameter '{}' appears twice (dimensions {} and {})",
                                      space[k].name, j, k));
    std::mt19937_64 probe(0);
    sample(space[k], probe);
  }
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
