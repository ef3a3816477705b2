// Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel
// Hyperparameter Tuning", MLSys 2020, Algorithm 2): every trial starts at rung 0 with
// min_budget epochs; rung k trains to min_budget·η^k epochs (the top rung to max_budget). When a
// worker asks for a job, the highest rung with a trial in the top ⌊n_k/η⌋ of its n_k results that
// has not gone on yet is promoted to rung k+1; when there is none, a new trial starts at rung 0.
// Nobody waits for a rung to fill up, so most of the compute goes to the trials that look best
// so far, and most bad trials stop after min_budget epochs.
#pragma once

#include <set>
#include <vector>

#include "nn/search_scheduler.hpp"

namespace nn {

struct AshaOptions {
  std::size_t trials = 27;     // new trials started in all (rung 0)
  std::size_t min_budget = 1;  // r: epochs at rung 0
  std::size_t max_budget = 9;  // R: epochs at the top rung
  std::size_t eta = 3;         // η: the top 1/η of a rung goes on, with η times the budget
};

class AshaScheduler : public Scheduler {
 public:
  AshaScheduler(std::vector<SearchDimension> space, std::uint64_t seed, AshaOptions options);
  nlohmann::json identity() const override;
  std::optional<TrialJob> next() override;
  void report(const TrialRecord& record) override;
  bool done() const override;

  std::size_t rungs() const { return budgets_.size(); }
  std::size_t budget(std::size_t rung) const { return budgets_.at(rung); }
  // The (trial, score) results of a rung, in the order they came.
  struct Result {
    std::size_t trial;
    double score;
  };
  const std::vector<Result>& results(std::size_t rung) const { return rungs_.at(rung); }
  // The trials promoted from `rung` to the next, in the order they were.
  const std::vector<std::size_t>& promoted(std::size_t rung) const { return promoted_order_.at(rung); }

 private:
  std::optional<std::size_t> promotable(std::size_t rung) const;
  TrialJob job(std::size_t trial, std::size_t rung) const;

  std::vector<SearchDimension> space_;
  std::uint64_t seed_;
  AshaOptions options_;
  std::vector<std::size_t> budgets_;
  std::vector<std::vector<Result>> rungs_;
  std::vector<std::set<std::size_t>> promoted_;  // by rung: trials that went on (or whose next rung is known)
  std::vector<std::vector<std::size_t>> promoted_order_;
  std::set<std::size_t> started_;  // trials started at rung 0 (issued or reported)
};

}  // namespace nn
