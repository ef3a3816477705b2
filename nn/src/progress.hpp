// Training progress on screen: a live bar with cost and throughput on a terminal (redrawn at most
// ten times a second), or one plain line per epoch for logs and pipes.
#pragma once

#include <chrono>
#include <ostream>

#include "nn/history.hpp"

namespace nn::detail {

class ProgressReporter {
 public:
  // full_pass_train_accuracy: the records' train_accuracy is a full pass ("train_acc"), not the
  // running accuracy of the trained batches ("train_batch_acc").
  ProgressReporter(std::ostream& out, bool bar, bool lines, std::size_t first_epoch, std::size_t last_epoch,
                   bool full_pass_train_accuracy);
  void begin_epoch(std::size_t epoch, std::size_t batches);
  void update(std::size_t done, double mean_cost, double examples_per_second);
  void end_epoch(const EpochRecord& r, bool has_dev);

 private:
  std::ostream& out_;
  bool bar_, lines_;
  const char* train_accuracy_label_;
  std::size_t last_epoch_, epoch_ = 0, batches_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace nn::detail
