// Per-epoch metrics of a training run, writable as CSV.
#pragma once

#include <string>
#include <vector>

#include "nn/layer_stats.hpp"

namespace nn {

struct EpochRecord {
  std::size_t epoch = 0;        // from 1
  double learning_rate = 0;
  double cost = 0;              // mean training cost J over the epoch's mini-batches (with the L2 term)
  double train_accuracy = 0;    // see History::train_accuracy_full_pass
  double dev_cost = 0;          // NaN without a dev set
  double dev_accuracy = 0;      // NaN without a dev set
  double seconds = 0;           // wall time of the epoch's training steps
  double examples_per_second = 0;
  std::vector<LayerStats> layers;  // TrainOptions::layer_stats: l = 1..L at the epoch's last step
};

struct History {
  std::vector<EpochRecord> epochs;
  bool stopped_early = false;
  std::size_t best_epoch = 0;   // the epoch with the best watched cost (0: early stopping not used)
  // Whether the model was put back to best_epoch's weights when training stopped early
  // (TrainOptions::restore_best); otherwise it keeps the last epoch's weights.
  bool restored_best = false;
  // What train_accuracy measures, and so its name in the CSV and on screen: a full evaluation pass
  // over the training set after each epoch (TrainOptions::evaluate_train; "train_accuracy"), or the
  // running accuracy of the mini-batches as they were trained, dropout on and weights moving
  // ("train_batch_accuracy").
  bool train_accuracy_full_pass = false;

  std::string csv() const;
  void write_csv(const std::string& path) const;  // throws DataError when the file cannot be written
};

}  // namespace nn
