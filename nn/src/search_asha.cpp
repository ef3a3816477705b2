#include "nn/search_asha.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

AshaScheduler::AshaScheduler(std::vector<SearchDimension> space, std::uint64_t seed, AshaOptions options)
    : space_(std::move(space)), seed_(seed), options_(options) {
  validate_space(space_);
  if (options_.eta < 2) throw ConfigError(fmt::format("ASHA: eta must be at least 2, got {}", options_.eta));
  if (options_.min_budget < 1) throw ConfigError("ASHA: min_budget must be at least 1 epoch");
  if (options_.max_budget < options_.min_budget)
    throw ConfigError(fmt::format("ASHA: max_budget {} is below min_budget {}", options_.max_budget, options_.min_budget));
  for (std::size_t b = options_.min_budget; b < options_.max_budget; b *= options_.eta) budgets_.push_back(b);
  budgets_.push_back(options_.max_budget);
  rungs_.resize(budgets_.size());
  promoted_.resize(budgets_.size());
  promoted_order_.resize(budgets_.size());
}

nlohmann::json AshaScheduler::identity() const {
  return {{"method", "asha"},
          {"seed", seed_},
          {"space", to_json(space_)},
          {"min_budget", options_.min_budget},
          {"max_budget", options_.max_budget},
          {"eta", options_.eta}};
}

TrialJob AshaScheduler::job(std::size_t trial, std::size_t rung) const {
  const auto seed = trial_seed(seed_, trial);
  return TrialJob{trial,
                  rung,
                  budgets_[rung],
                  seed,
                  sample_point(space_, seed),
                  rung + 1 == budgets_.size(),
                  {budgets_.begin(), budgets_.begin() + std::ptrdiff_t(rung)}};
}

// The best trial of the rung's top ⌊n/η⌋ that has not gone on (ties: the lower trial id).
// A trial without a finite score (diverged, failed) never goes on.
std::optional<std::size_t> AshaScheduler::promotable(std::size_t rung) const {
  const auto& results = rungs_[rung];
  const std::size_t top = results.size() / options_.eta;
  if (top == 0) return std::nullopt;
  std::vector<Result> sorted = results;
  std::partial_sort(sorted.begin(), sorted.begin() + std::ptrdiff_t(top), sorted.end(), [](const Result& a, const Result& b) {
    return a.score < b.score || (a.score == b.score && a.trial < b.trial);
  });
  for (std::size_t i = 0; i < top; ++i)
    if (std::isfinite(sorted[i].score) && !promoted_[rung].count(sorted[i].trial)) return sorted[i].trial;
  return std::nullopt;
}

std::optional<TrialJob> AshaScheduler::next() {
  for (std::size_t k = rungs_.size() - 1; k-- > 0;)
    if (auto t = promotable(k)) {
      promoted_[k].insert(*t);
      promoted_order_[k].push_back(*t);
      return job(*t, k + 1);
    }
  if (started_.size() < options_.trials) {
    std::size_t t = 0;
    while (started_.count(t)) ++t;  // ids restored from a results file are skipped
    started_.insert(t);
    return job(t, 0);
  }
  return std::nullopt;
}

void AshaScheduler::report(const TrialRecord& record) {
  const auto& j = record.job;
  if (j.rung >= rungs_.size())
    throw ConfigError(fmt::format("ASHA: trial {} reported at rung {}, but there are {} rungs", j.trial, j.rung,
                                  rungs_.size()));
  const double score = std::isnan(record.report.score) ? INFINITY : record.report.score;
  rungs_[j.rung].push_back({j.trial, score});
  if (j.rung == 0) started_.insert(j.trial);
  // A restored result at rung k means the trial went on from rung k−1.
  if (j.rung > 0 && promoted_[j.rung - 1].insert(j.trial).second) promoted_order_[j.rung - 1].push_back(j.trial);
}

bool AshaScheduler::done() const {
  if (started_.size() < options_.trials) return false;
  for (std::size_t k = 0; k + 1 < rungs_.size(); ++k)
    if (promotable(k)) return false;
  return true;
}

}  // namespace nn
