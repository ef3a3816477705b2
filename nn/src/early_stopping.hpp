// Early stopping's bookkeeping as a value: the best watched cost so far, the epochs since, and
// the verdict for each new epoch (TrainOptions::patience, min_delta).
#pragma once

#include <cstddef>
#include <limits>

namespace nn::detail {

struct EarlyStopping {
  enum class Verdict { improved, waiting, stop };

  std::size_t patience = 0;  // 0: never stops
  double min_delta = 0;
  double best = std::numeric_limits<double>::infinity();
  std::size_t since_best = 0;
  std::size_t best_epoch = 0;

  // An improvement is a cost lower than the best by more than min_delta; `patience` epochs in a
  // row without one stop the run.
  Verdict observe(double watched, std::size_t epoch) {
    if (watched < best - min_delta) {
      best = watched;
      since_best = 0;
      best_epoch = epoch;
      return Verdict::improved;
    }
    return ++since_best >= patience ? Verdict::stop : Verdict::waiting;
  }
};

}  // namespace nn::detail
