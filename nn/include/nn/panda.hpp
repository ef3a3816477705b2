// Babysitting one model ("panda", when compute allows one model at a time): train it some
// epochs, look at its curves, change the learning rate or the schedule, train on from its
// checkpoint. The checkpoint carries the model's whole history (its `extra` JSON: "history", one
// record per epoch, and "changes", what was changed at which epoch), so every resume appends to
// it; after each epoch the checkpoint is saved again and the history redrawn.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "nn/schedule.hpp"
#include "nn/trainer.hpp"

namespace nn {

struct PandaOptions {
  std::optional<double> learning_rate;  // the new initial α (the schedule restarts from it)
  std::optional<Schedule> schedule;     // the new schedule; epochs count from this resume
  TrainOptions train;                   // train.epochs: how many more epochs
  std::filesystem::path plot_stem;      // <stem>.csv/.png: cost and dev cost by epoch (empty: no plot)
};

// Starts a babysat model: its checkpoint with an empty history (overwrites `checkpoint`).
template <class T>
void start_babysitting(const std::string& checkpoint, const Sequential<T>& model, const Optimizer<T>& optimizer);

// Trains the checkpoint's model on with its optimizer (state and all), changed as asked, saving
// and plotting after each epoch. Normalization statistics in the checkpoint stay in it: the data
// are given as the model sees them (normalized with those statistics). Returns the whole history, the earlier epochs included.
// Throws CheckpointError for a checkpoint without an optimizer.
template <class T>
History babysit(const std::string& checkpoint, Loss loss, const Dataset<T>& train, const Dataset<T>* dev,
                const PandaOptions& options);

}  // namespace nn
