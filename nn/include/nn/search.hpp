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

// A value's coordinate on its dimension's scale, where sampling is uniform (x, log10 x,
// log10(1 − x)), and back. Coarse to fine narrows, and the summary plots, in these coordinates.
double to_scale(const SearchDimension& d, double x);
double from_scale(const SearchDimension& d, double coordinate);

using Hyperparameters = std::map<std::string, double>;

// Throws ConfigError for a space that cannot be sampled (a name twice, bounds out of order or
// outside the scale, an integer range without integers), before any trial runs.
void validate_space(const std::vector<SearchDimension>& space);

// A trial's own seed, from the search's seed and the trial's id only (splitmix64): a trial draws
// the same hyperparameters and trains the same bits whichever worker runs it, and when.
std::uint64_t trial_seed(std::uint64_t search_seed, std::uint64_t trial);
// The trial's point of `space`, drawn from its own seed.
Hyperparameters sample_point(const std::vector<SearchDimension>& space, std::uint64_t seed);

struct Trial {
  Hyperparameters values;
  double score;  // what the objective returned: lower is better (e.g. the dev cost)
};

// Runs `objective` on `trials` random points of `space` (seeded) and returns the trials, best first.
// An objective that throws an ad::Error (e.g. a diverging cost) scores +∞ and the search goes on.
std::vector<Trial> random_search(const std::vector<SearchDimension>& space, std::size_t trials, std::uint64_t seed,
                                 const std::function<double(const Hyperparameters&)>& objective);

}  // namespace nn
