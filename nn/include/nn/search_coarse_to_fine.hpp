// Coarse to fine: rounds of random trials, each round sampling a space narrowed around the best
// trials of the round before, every dimension on its own scale (a learning rate's range shrinks
// in decades, β's in decades of 1 − β, hidden units stay integers), never beyond the first round's
// bounds.
#pragma once

#include <map>
#include <span>
#include <vector>

#include "nn/search_scheduler.hpp"

namespace nn {

struct CoarseToFineOptions {
  std::size_t rounds = 3;
  std::size_t trials_per_round = 20;
  std::size_t keep_best = 5;  // the best trials of a round that the next round's ranges cover
  double margin = 0.25;       // added on each side of their span, as a fraction of the current width
  std::size_t budget = 5;     // epochs per trial
};

// `current` narrowed to cover `best_values` (on its scale) plus `margin` × the current width on
// each side, clipped to `original`; an integer dimension keeps at least one integer.
SearchDimension narrow(const SearchDimension& current, const SearchDimension& original,
                       std::span<const double> best_values, double margin);

class CoarseToFineScheduler : public Scheduler {
 public:
  CoarseToFineScheduler(std::vector<SearchDimension> space, std::uint64_t seed, CoarseToFineOptions options);
  nlohmann::json identity() const override;
  std::optional<TrialJob> next() override;
  void report(const TrialRecord& record) override;
  bool done() const override;

  // The space each round sampled (so far): spaces()[0] is the original.
  const std::vector<std::vector<SearchDimension>>& spaces() const { return spaces_; }
  std::size_t round_of(std::size_t trial) const { return trial / options_.trials_per_round; }

 private:
  bool round_complete(std::size_t round) const;
  void open_next_round();

  std::vector<SearchDimension> original_;
  std::uint64_t seed_;
  CoarseToFineOptions options_;
  std::vector<std::vector<SearchDimension>> spaces_;
  std::map<std::size_t, TrialRecord> reported_;  // by trial id
  std::vector<bool> issued_;                     // by trial id, over all rounds
};

}  // namespace nn
