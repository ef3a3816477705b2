// What the subcommands share: a model, optimizer and trainer built from a spec, input
// normalization, and printing (text for people, --json for scripts).
#pragma once

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include <nn/normalize.hpp>
#include <nn/search_trial.hpp>

#include "spec.hpp"

namespace dlcourse {

// The model (built for n_x inputs, initialized from `seed`), its optimizer and a trainer (data
// parallel over `parallel.group` when given).
void build_trial(nn::TrialModel<float>& m, const TrainingSpec& spec, std::size_t n_x, std::uint64_t seed,
                 nn::Progress progress, std::ostream* out, nn::DataParallel parallel = {});

// Normalizes train and dev with the training set's statistics when the spec asks (returned).
nn::Normalizer<float> normalize(const TrainingSpec& spec, nn::Dataset<float>& train, nn::Dataset<float>* dev);

// One JSON document on standard output (for --json).
void print_json(const nlohmann::json& j);

}  // namespace dlcourse
