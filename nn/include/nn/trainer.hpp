// The training loop: epochs of shuffled mini-batches on a graph recorded once and replayed per
// step (no allocation in steady state), per-epoch metrics, early stopping, callbacks, history.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <span>

#include "nn/data_parallel.hpp"
#include "nn/dataset.hpp"
#include "nn/history.hpp"
#include "nn/loss.hpp"
#include "nn/optimizer.hpp"
#include "nn/predict.hpp"
#include "nn/sequential.hpp"

namespace nn {

namespace detail {
template <class T>
class Replica;
}

enum class Progress {
  automatic,  // a live bar when the output is a terminal, one line per epoch otherwise
  bar,
  lines,
  none,
};

struct TrainOptions {
  std::size_t epochs = 10;
  std::size_t batch_size = 64;
  double l2 = 0;                 // λ of the L2 term λ/(2m) Σ‖W[l]‖²
  std::uint64_t seed = 0;        // shuffling and dropout masks
  bool shuffle = true;
  // Early stopping on the dev cost (the training cost without a dev set): stop after `patience`
  // epochs without an improvement larger than min_delta (0: off), and restore the best weights
  // (restore_best; only when it stops early: a run that uses all its epochs keeps the last ones).
  std::size_t patience = 0;
  double min_delta = 0;
  bool restore_best = true;
  // A full evaluation pass over the training set each epoch (costs about a third of an epoch);
  // otherwise train_accuracy is the running accuracy of the mini-batches as they were trained
  // (dropout on, weights moving), named train_batch_accuracy in the CSV, train_batch_acc on screen.
  bool evaluate_train = false;
  std::size_t eval_batch_size = 1000;
  Progress progress = Progress::automatic;
  std::ostream* out = nullptr;   // null: standard output
  // Data parallelism over a group of processes (nn/data_parallel.hpp); off by default.
  DataParallel parallel = {};
};

// What a step callback sees.
template <class T>
struct StepEvent {
  std::size_t epoch;    // from 1
  std::size_t step;     // from 1, over the whole run
  std::size_t batch;    // from 0, within the epoch
  double cost;
  const Dataset<T>* data;
  std::span<const std::size_t> indices;  // the examples of this mini-batch
};

template <class T>
class Trainer {
 public:
  using StepCallback = std::function<void(Trainer&, const StepEvent<T>&)>;
  // Returns false to stop training after this epoch.
  using EpochCallback = std::function<bool(Trainer&, const EpochRecord&)>;

  // The model and the optimizer must outlive the trainer.
  Trainer(Sequential<T>& model, Loss loss, Optimizer<T>& optimizer, TrainOptions options = {});
  ~Trainer();

  // Trains for options().epochs more epochs. `dev` (optional) is evaluated after each epoch.
  History fit(const Dataset<T>& train, const Dataset<T>* dev = nullptr);

  // One step on the examples `batch` of `data`: gathers them into the graph's inputs, forward,
  // backward, optimizer update. Returns the cost J of the mini-batch (before the update).
  // When the cost or a gradient is not finite, nothing is updated (parameters, optimizer state,
  // batch-norm statistics): the step is replayed under anomaly detection and refused with the
  // block and the operation that produced it, as DataError when an example of the batch holds
  // NaN/Inf, ConfigError otherwise (divergence).
  // With options().parallel, `batch` is the global mini-batch (the same on every process): this
  // process trains on its shard, and the cost returned is the whole batch's.
  double step(const Dataset<T>& data, std::span<const std::size_t> batch);
  // Loss and accuracy on a data set, in evaluation mode.
  Evaluation evaluate(const Dataset<T>& data);

  void on_step(StepCallback f) { step_callbacks_.push_back(std::move(f)); }
  void on_epoch(EpochCallback f) { epoch_callbacks_.push_back(std::move(f)); }
  void request_stop() { stop_ = true; }

  // The recorded training graph (after the first step): inputs X (m, n_x) one example per row
  // and Y (n_y, m), the model's output and the cost.
  ad::Tape<T>& tape();
  ad::Var<T> input() const { return X_; }
  ad::Var<T> targets() const { return Y_; }
  ad::Var<T> output() const { return out_; }
  ad::Var<T> cost() const { return J_; }

  Sequential<T>& model() { return model_; }
  Optimizer<T>& optimizer() { return optimizer_; }
  Loss loss() const { return loss_; }
  const TrainOptions& options() const { return options_; }
  TrainOptions& options() { return options_; }
  std::size_t steps() const { return steps_; }
  std::size_t epochs_done() const { return epochs_done_; }

 private:
  void record(std::size_t n_x, std::size_t n_y, std::size_t batch);
  std::string replay_under_anomaly_detection();
  [[noreturn]] void refuse_step(const Dataset<T>& data, std::span<const std::size_t> batch,
                                const std::string& problem);

  Sequential<T>& model_;
  Loss loss_;
  Optimizer<T>& optimizer_;
  TrainOptions options_;
  std::unique_ptr<ad::Tape<T>> tape_;
  ad::Var<T> X_, Y_, out_, J_;
  std::vector<ad::Parameter<T>*> params_;
  std::vector<Buffer<T>> buffers_;
  std::vector<ad::Tensor<T>> buffer_backup_;
  std::unique_ptr<Predictor<T>> predictor_;
  std::unique_ptr<detail::Replica<T>> parallel_;  // with options.parallel.group
  std::vector<StepCallback> step_callbacks_;
  std::vector<EpochCallback> epoch_callbacks_;
  std::size_t steps_ = 0, epochs_done_ = 0;
  std::size_t fit_epoch_ = 0;  // the epoch fit is in, for step's messages (0: outside fit)
  bool stop_ = false;
  std::mt19937_64 rng_;  // shuffling; successive fit() calls continue its stream
};

extern template class Trainer<float>;
extern template class Trainer<double>;

}  // namespace nn
