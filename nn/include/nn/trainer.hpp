// The training loop: epochs of shuffled mini-batches on a graph recorded once and replayed per
// step (no allocation in steady state), per-epoch metrics, early stopping, callbacks, history.
#pragma once

#include <functional>
#include <iosfwd>
#include <limits>
#include <memory>
#include <span>

#include "nn/data_parallel.hpp"
#include "nn/dataset.hpp"
#include "nn/graph.hpp"
#include "nn/history.hpp"
#include "nn/inspect.hpp"
#include "nn/loss.hpp"
#include "nn/optimizer.hpp"
#include "nn/predict.hpp"
#include "nn/sequential.hpp"

namespace nn {

namespace detail {
class ProgressReporter;
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
  // The divergence guard: a training step whose cost J is NaN/Inf, or exceeds
  //   divergence_factor × J₀ + divergence_floor   (J₀: the cost of the trainer's first step)
  // is refused (nothing updated) and fit stops with DivergenceError naming the epoch, the step and
  // the learning rate. The floor keeps a tiny J₀ from turning mini-batch noise into an alarm.
  // Off: a finite cost of any size is trained on (NaN/Inf are refused regardless).
  bool stop_on_divergence = true;
  double divergence_factor = 1e3;  // >= 1
  double divergence_floor = 1;     // >= 0
  // Per-layer statistics (mean, std, norm of A[l], Z[l], dW[l], db[l]) of each epoch's last
  // training step, before its update, into EpochRecord::layers and the history's CSV.
  bool layer_stats = false;
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
  // NaN/Inf, DivergenceError otherwise. A finite cost above the divergence guard's threshold
  // (TrainOptions::stop_on_divergence) is refused the same way, as DivergenceError.
  // With options().parallel, `batch` is the global mini-batch (the same on every process): this
  // process trains on its shard, and the cost returned is the whole batch's.
  double step(const Dataset<T>& data, std::span<const std::size_t> batch);
  // Loss and accuracy on a data set, in evaluation mode.
  Evaluation evaluate(const Dataset<T>& data);

  // Inside the model (nn::Inspector): one forward and backward on the examples `batch` of `data`
  // with the current parameters, nothing updated (batch-norm statistics are put back; dropout
  // draws fresh masks). Layers by the course's number l = 1..L.
  Inspector<T> inspect(const Dataset<T>& data, std::span<const std::size_t> batch);

  void on_step(StepCallback f) { step_callbacks_.push_back(std::move(f)); }
  void on_epoch(EpochCallback f) { epoch_callbacks_.push_back(std::move(f)); }
  void request_stop() { stop_ = true; }

  // The recorded training graph (recorded when fit sets up, or by the first step): inputs X
  // (m, n_x) one example per row and Y (n_y, m), the model's output and the cost.
  ad::Tape<T>& tape();
  const ModelGraph<T>& graph() const { return graph_; }
  ad::Var<T> input() const { return graph_.X; }
  ad::Var<T> targets() const { return graph_.Y; }
  ad::Var<T> output() const { return graph_.output; }
  ad::Var<T> cost() const { return graph_.J; }

  Sequential<T>& model() { return model_; }
  Optimizer<T>& optimizer() { return optimizer_; }
  Loss loss() const { return loss_; }
  const TrainOptions& options() const { return options_; }
  TrainOptions& options() { return options_; }
  std::size_t steps() const { return steps_; }
  std::size_t epochs_done() const { return epochs_done_; }

 private:
  void record(std::size_t n_x, std::size_t n_y, std::size_t batch);
  // Checks the batch, gathers it into the graph's inputs, keeps batch norm's statistics in
  // buffer_backup_, then forward and backward: what step and inspect share.
  void forward_backward(const Dataset<T>& data, std::span<const std::size_t> batch, const char* who);
  // fit's parts: its inputs checked up front, one epoch, the best epoch's weights kept and put back.
  void check_fit_inputs(const Dataset<T>& train, const Dataset<T>* dev) const;
  EpochRecord run_epoch(const Dataset<T>& train, const Dataset<T>* dev, Batches& batches,
                        detail::ProgressReporter& progress, bool bar);
  std::vector<ad::Tensor<T>> snapshot() const;
  void restore(const std::vector<ad::Tensor<T>>& values);
  std::string replay_under_anomaly_detection();
  [[noreturn]] void refuse_divergence(double J);
  [[noreturn]] void refuse_step(const Dataset<T>& data, std::span<const std::size_t> batch,
                                const std::string& problem);

  Sequential<T>& model_;
  Loss loss_;
  Optimizer<T>& optimizer_;
  TrainOptions options_;
  ModelGraph<T> graph_;
  std::vector<ad::Parameter<T>*> params_;
  std::vector<Buffer<T>> buffers_;
  std::vector<ad::Tensor<T>> buffer_backup_;
  std::unique_ptr<Predictor<T>> predictor_;
  std::unique_ptr<detail::Replica<T>> parallel_;  // with options.parallel.group
  std::vector<StepCallback> step_callbacks_;
  std::vector<EpochCallback> epoch_callbacks_;
  std::size_t steps_ = 0, epochs_done_ = 0;
  double first_cost_ = std::numeric_limits<double>::quiet_NaN();  // J₀ of the divergence guard
  std::size_t fit_epoch_ = 0;  // the epoch fit is in, for step's messages (0: outside fit)
  bool stop_ = false;
  bool capture_stats_ = false;            // step keeps the layer statistics before its update
  std::vector<LayerStats> last_stats_;
  std::mt19937_64 rng_;  // shuffling; successive fit() calls continue its stream
};

extern template class Trainer<float>;
extern template class Trainer<double>;

}  // namespace nn
