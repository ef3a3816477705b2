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
  const double u = uniform01(rng);
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
  return d.integer ? std::round(x) : x;
}

std::vector<Trial> random_search(const std::vector<SearchDimension>& space, std::size_t trials, std::uint64_t seed,
                                 const std::function<double(const Hyperparameters&)>& objective) {
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
