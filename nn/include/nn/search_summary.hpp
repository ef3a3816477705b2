// A search at a glance: its best trials as a table, and the score against each hyperparameter on
// that hyperparameter's scale (log x axis for log scales, 1 − x on a log axis for β-like ones):
// the scatter the course draws to see where to zoom in.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <plot/plot.hpp>

#include "nn/search_scheduler.hpp"

namespace nn {

// The `n` best trials (best_trials): rank, trial, budget, score, dev accuracy, outcome, hyperparameters.
std::string summary_table(const std::vector<TrialRecord>& records, const std::vector<SearchDimension>& space,
                          std::size_t n = 10);

// One picture per dimension, <stem>_<name>.csv/.png: each trial's score at its highest budget
// (finite scores only) against its value.
std::vector<plot::Result> plot_scores(const std::filesystem::path& stem, const std::vector<TrialRecord>& records,
                                      const std::vector<SearchDimension>& space, const plot::Options& options = {});

}  // namespace nn
