// Random hyperparameter search the course's way: random points rather than a grid, each
// hyperparameter sampled on its appropriate scale (the learning rate uniformly in log10, β of an
// exponentially weighted average uniformly in log10(1 − β)).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace nn {

enum class Scale {
  linear,         // uniform in [lo, hi] (e.g. keep_prob)
  log,            // uniform in log10: as many draws in [1e-4, 1e-3] as in [1e-2, 1e-1] (learning rate, λ)
  one_minus_log,  // 1 − x uniform in log10 (β in [0.9, 0.999]: as many in [0.99, 0.999] as in [0.9, 0.99])
};

struct SearchDimension {
  std::string name;
  double lo, hi;
  Scale scale = Scale::linear;
  bool integer = false;  // an integer in [lo, hi] (e.g. hidden units); on a linear scale each equally likely
};

double sample(const SearchDimension& d, std::mt19937_64& rng);

using Hyperparameters = std::map<std::string, double>;

struct Trial {
  Hyperparameters values;
  double score;  // what the objective returned: lower is better (e.g. the dev cost)
};

// Runs `objective` on `trials` random points of `space` (seeded) and returns the trials, best first.
// An objective that throws an ad::Error (e.g. a diverging cost) scores +∞ and the search goes on.
std::vector<Trial> random_search(const std::vector<SearchDimension>& space, std::size_t trials, std::uint64_t seed,
                                 const std::function<double(const Hyperparameters&)>& objective);

}  // namespace nn
