// The model and training described in JSON, as `dlcourse` reads it:
//   {"layers": [{"type": "dense", "units": 128, "activation": "relu", "init": "he"},
//               {"type": "batch_norm"}, {"type": "dropout", "keep_prob": 0.9},
//               {"type": "dense", "units": 10}],
//    "loss": "softmax_cross_entropy", "optimizer": {"name": "adam", "learning_rate": 0.001},
//    "schedule": {"kind": "exponential", "rate": 0.95}, "l2": 1e-4, "epochs": 10,
//    "batch_size": 64, "seed": 0, "normalize": true}
// Every field but "layers" has a default; a layer written by a checkpoint (Sequential::spec(),
// every field present) is read as it is. Errors are nn::ConfigError naming the file, the field
// ("layers[2].keep_prob") and what was expected.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include <nn/loss.hpp>
#include <nn/search.hpp>

namespace dlcourse {

struct TrainingSpec {
  nlohmann::json model;      // Sequential::from_spec's form, every field filled in
  nn::Loss loss = nn::Loss::softmax_cross_entropy;
  nlohmann::json optimizer;  // make_optimizer's form, the schedule included
  double l2 = 0;
  std::size_t epochs = 10, batch_size = 64;
  std::uint64_t seed = 0;
  bool normalize = true;     // inputs normalized with the training set's mean and deviation
};

TrainingSpec parse_spec(const nlohmann::json& j, const std::string& origin);
TrainingSpec read_spec(const std::string& path);  // the file must exist and hold JSON (ConfigError)
nlohmann::json to_json(const TrainingSpec& spec);  // the fields above, for checkpoints and --json

// The spec with hyperparameters of a search applied: learning_rate (α), beta1 and beta2 (Adam,
// beta for momentum), l2 (λ), keep_prob (every dropout layer), hidden_units (every Dense layer
// but the output one), batch_size, decay (the schedule's rate). Throws ConfigError for any other name.
TrainingSpec with_hyperparameters(TrainingSpec spec, const nn::Hyperparameters& values);

}  // namespace dlcourse
