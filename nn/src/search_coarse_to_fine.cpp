#include "nn/search_coarse_to_fine.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

SearchDimension narrow(const SearchDimension& current, const SearchDimension& original,
                       std::span<const double> best_values, double margin) {
  if (best_values.empty()) return current;
  // On the scale's coordinate (log10(1 − x) runs backwards: sorted after mapping).
  auto ends = [&](const SearchDimension& d) {
    const double a = to_scale(d, d.lo), b = to_scale(d, d.hi);
    return std::pair{std::min(a, b), std::max(a, b)};
  };
  const auto [cur_lo, cur_hi] = ends(current);
  const auto [orig_lo, orig_hi] = ends(original);
  double lo = INFINITY, hi = -INFINITY;
  for (double x : best_values) {
    lo = std::min(lo, to_scale(current, x));
    hi = std::max(hi, to_scale(current, x));
  }
  const double pad = margin * (cur_hi - cur_lo);
  lo = std::max(orig_lo, lo - pad);
  hi = std::min(orig_hi, hi + pad);
  double x0 = from_scale(current, lo), x1 = from_scale(current, hi);
  if (x0 > x1) std::swap(x0, x1);
  // Back in x, clipped exactly to the original bounds (pow(10, log10(x)) may miss x by an ulp).
  SearchDimension out = current;
  out.lo = std::clamp(x0, original.lo, original.hi);
  out.hi = std::clamp(x1, original.lo, original.hi);
  if (out.integer) {
    out.lo = std::max(std::floor(out.lo), std::ceil(original.lo));
    out.hi = std::min(std::ceil(out.hi), std::floor(original.hi));
    if (out.lo > out.hi) out.lo = out.hi;
  }
  // A log scale cannot hold 0, nor 1 − x log one 1: the original bounds already excluded them.
  return out;
}

CoarseToFineScheduler::CoarseToFineScheduler(std::vector<SearchDimension> space, std::uint64_t seed,
                                             CoarseToFineOptions options)
    : original_(std::move(space)), seed_(seed), options_(options) {
  validate_space(original_);
  if (options_.trials_per_round == 0 || options_.rounds == 0)
    throw ConfigError("coarse to fine: rounds and trials_per_round must be at least 1");
  if (options_.keep_best == 0 || options_.keep_best > options_.trials_per_round)
    throw ConfigError(fmt::format("coarse to fine: keep_best must be in 1..trials_per_round ({}), got {}",
                                  options_.trials_per_round, options_.keep_best));
  if (!(options_.margin >= 0)) throw ConfigError("coarse to fine: margin must be >= 0");
  if (options_.budget == 0) throw ConfigError("coarse to fine: the budget must be at least 1 epoch");
  spaces_.push_back(original_);
  issued_.assign(options_.rounds * options_.trials_per_round, false);
}

nlohmann::json CoarseToFineScheduler::identity() const {
  return {{"method", "coarse_to_fine"},           {"seed", seed_},
          {"space", to_json(original_)},          {"trials_per_round", options_.trials_per_round},
          {"keep_best", options_.keep_best},      {"margin", options_.margin},
          {"budget", options_.budget}};
}

bool CoarseToFineScheduler::round_complete(std::size_t round) const {
  for (std::size_t i = 0; i < options_.trials_per_round; ++i)
    if (!reported_.count(round * options_.trials_per_round + i)) return false;
  return true;
}

void CoarseToFineScheduler::open_next_round() {
  const std::size_t round = spaces_.size() - 1, n = options_.trials_per_round;
  std::vector<const TrialRecord*> trials;
  for (std::size_t i = 0; i < n; ++i) trials.push_back(&reported_.at(round * n + i));
  std::stable_sort(trials.begin(), trials.end(), [](const TrialRecord* a, const TrialRecord* b) {
    const double sa = std::isnan(a->report.score) ? INFINITY : a->report.score;
    const double sb = std::isnan(b->report.score) ? INFINITY : b->report.score;
    return sa < sb || (sa == sb && a->job.trial < b->job.trial);
  });
  std::vector<SearchDimension> space = spaces_.back();
  for (std::size_t d = 0; d < space.size(); ++d) {
    std::vector<double> best;
    for (std::size_t i = 0; i < options_.keep_best; ++i)
      if (std::isfinite(trials[i]->report.score)) best.push_back(trials[i]->job.values.at(space[d].name));
    space[d] = narrow(space[d], original_[d], best, options_.margin);
  }
  spaces_.push_back(std::move(space));
}

std::optional<TrialJob> CoarseToFineScheduler::next() {
  while (true) {
    const std::size_t round = spaces_.size() - 1, n = options_.trials_per_round;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t t = round * n + i;
      if (!issued_[t]) {
        issued_[t] = true;
        const auto seed = trial_seed(seed_, t);
        return TrialJob{t, 0, options_.budget, seed, sample_point(spaces_.back(), seed)};
      }
    }
    if (round + 1 >= options_.rounds || !round_complete(round)) return std::nullopt;
    open_next_round();
  }
}

void CoarseToFineScheduler::report(const TrialRecord& record) {
  if (record.job.trial >= issued_.size()) return;  // beyond the rounds asked for now
  issued_[record.job.trial] = true;
  reported_[record.job.trial] = record;
}

bool CoarseToFineScheduler::done() const {
  const std::size_t round = spaces_.size() - 1;
  if (round + 1 < options_.rounds) return false;
  for (std::size_t i = 0; i < options_.trials_per_round; ++i)
    if (!issued_[round * options_.trials_per_round + i]) return false;
  return true;
}

}  // namespace nn
