#include "nn/trainer.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include "nn/errors.hpp"
#include "distributed_replica.hpp"
#include "finite.hpp"
#include "early_stopping.hpp"
#include "progress.hpp"

namespace nn {

namespace {

// Correct predictions among the columns of a mini-batch's output (logits), without allocating:
// the argmax of the logits is that of the softmax, and z ≥ 0 is σ(z) ≥ 0.5.
template <class T>
std::size_t count_correct(const ad::Tensor<T>& out, const Dataset<T>& data, std::span<const std::size_t> idx) {
  const std::size_t C = out.shape()[0], m = out.shape()[1], n_y = data.outputs();
  std::size_t right = 0;
  for (std::size_t j = 0; j < m; ++j) {
    const T* y = data.y.data() + idx[j] * n_y;
    std::size_t pred = 0, truth = 0;
    if (C == 1) {
      pred = out(0, j) >= T(0) ? 1 : 0;
      truth = y[0] >= T(0.5) ? 1 : 0;
    } else {
      for (std::size_t c = 1; c < C; ++c) {
        if (out(c, j) > out(pred, j)) pred = c;
        if (y[c] > y[truth]) truth = c;
      }
    }
    right += pred == truth;
  }
  return right;
}

// Batch norm's mini-batch variance needs 2 examples: refused before the first epoch rather than
// at its last (partial) mini-batch.
template <class T>
void check_batch_norm_batches(const Sequential<T>& model, std::size_t m, std::size_t batch_size) {
  if (batch_size >= 2 && m % batch_size != 1) return;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (model.layer(i).kind() == LayerKind::batch_norm)
      throw DataError(fmt::format("fit: BatchNorm (layer {}) needs at least 2 examples per training mini-batch, but "
                                  "{} examples in batches of batch size {} leave a mini-batch of 1: choose another "
                                  "batch size",
                                  i, m, batch_size));
}

}  // namespace

template <class T>
Trainer<T>::Trainer(Sequential<T>& model, Loss loss, Optimizer<T>& optimizer, TrainOptions options)
    : model_(model), loss_(loss), optimizer_(optimizer), options_(options), rng_(options.seed) {
  if (options_.batch_size == 0) throw ConfigError("Trainer: batch_size must be at least 1");
  if (!(options_.l2 >= 0)) throw ConfigError(fmt::format("Trainer: l2 must be >= 0, got {}", options_.l2));
  if (!(options_.divergence_factor >= 1))
    throw ConfigError(fmt::format("Trainer: divergence_factor must be >= 1, got {}", options_.divergence_factor));
  if (!(options_.divergence_floor >= 0))
    throw ConfigError(fmt::format("Trainer: divergence_floor must be >= 0, got {}", options_.divergence_floor));
  if (options_.parallel.group) parallel_ = std::make_unique<detail::Replica<T>>(options_.parallel);
}

template <class T>
Trainer<T>::~Trainer() = default;

template <class T>
ad::Tape<T>& Trainer<T>::tape() {
  if (!graph_.tape) throw ConfigError("Trainer::tape: no graph recorded yet (fit records it, or the first step)");
  return *graph_.tape;
}

template <class T>
void Trainer<T>::record(std::size_t n_x, std::size_t n_y, std::size_t batch) {
  if (graph_.fits(n_x, n_y)) return;
  check_output_activation(model_, loss_);
  graph_ = record_graph(model_, GraphSpec{.loss = loss_,
                                          .mode = Mode::train,
                                          .batch = batch,
                                          .features = n_x,
                                          .outputs = n_y,
                                          .l2 = parallel_ ? parallel_->l2_share(options_.l2) : options_.l2,
                                          .seed = options_.seed});
  params_ = model_.parameters();
  buffers_ = model_.buffers();
  buffer_backup_.resize(buffers_.size());
  if (parallel_) parallel_->attach(model_, *graph_.tape, loss_, optimizer_, options_);
}

template <class T>
void Trainer<T>::forward_backward(const Dataset<T>& data, std::span<const std::size_t> batch, const char* who) {
  // Cheap (a few comparisons, one pass over the indices) and allocation-free unless it throws.
  data.check(who, model_.built() ? model_.input_size() : 0);
  check_indices(batch, data.size(), who);
  const std::size_t n_x = data.features(), n_y = data.outputs();
  record(n_x, n_y, batch.size());
  auto& tape = *graph_.tape;
  gather_rows(data.x, batch, tape.input_buffer(graph_.X, {batch.size(), n_x}));
  gather_columns(data.y, batch, tape.input_buffer(graph_.Y, {n_y, batch.size()}));
  // Batch norm's forward moves its running statistics: kept to be put back if the step is refused
  // (a few values per feature, copied without allocating once the shapes are set).
  for (std::size_t k = 0; k < buffers_.size(); ++k) buffer_backup_[k] = *buffers_[k].value;
  tape.forward();
  tape.backward(graph_.J);
}

template <class T>
double Trainer<T>::step(const Dataset<T>& data, std::span<const std::size_t> global_batch) {
  if (global_batch.empty()) throw DataError("Trainer::step: empty mini-batch");
  const auto batch = parallel_ ? parallel_->shard(global_batch) : global_batch;
  forward_backward(data, batch, "Trainer::step");
  double J = double(graph_.tape->value(graph_.J.index())(0, 0));
  if (parallel_) J = parallel_->reduce(J);  // the whole batch's cost and gradients, on every process
  if (!std::isfinite(J)) refuse_step(data, batch, fmt::format("the cost is {}", J));
  if (std::isnan(first_cost_)) first_cost_ = J;
  if (options_.stop_on_divergence) {
    const double limit = options_.divergence_factor * first_cost_ + options_.divergence_floor;
    if (J > limit) refuse_divergence(J);
  }
  if (capture_stats_) last_stats_ = Inspector<T>(model_, graph_).stats();  // before the update
  try {
    optimizer_.step(params_);
  } catch (const NonFiniteGradient& g) {
    const auto& grad = model_.parameter(g.parameter).grad;
    refuse_step(data, batch, fmt::format("the gradient of {} is not finite (element {} of {} is {})", g.parameter,
                                         g.element, grad.size(), grad.data()[g.element]));
  }
  ++steps_;
  return J;
}

template <class T>
std::string Trainer<T>::replay_under_anomaly_detection() {
  // The same batch and parameters (nothing was updated), with dropout masks and batch-norm
  // statistics frozen: the replay computes what the step computed, checking every value.
  // Twice: forward checked, for where a NaN or Inf first appears (an input, a parameter, an
  // operation's output), then backward checked after an unchecked forward, for the operation whose
  // gradient first holds one (ReLU hides a NaN input from every forward output after it).
  auto& tape = *graph_.tape;
  const bool anomaly = tape.anomaly_detection(), frozen = tape.frozen();
  tape.set_frozen(true);
  std::vector<std::string> found;
  for (const bool check_forward : {true, false}) {
    try {
      tape.set_anomaly_detection(check_forward);
      tape.forward();
      tape.set_anomaly_detection(true);
      tape.backward(graph_.J);
    } catch (const ad::Error& e) {
      found.push_back(e.what());
    }
  }
  tape.set_anomaly_detection(anomaly);
  tape.set_frozen(frozen);
  if (found.empty()) return "replaying the step under anomaly detection found no NaN or Inf";
  return fmt::format("{}", fmt::join(found, "; "));
}

template <class T>
void Trainer<T>::refuse_step(const Dataset<T>& data, std::span<const std::size_t> batch, const std::string& problem) {
  for (std::size_t k = 0; k < buffers_.size(); ++k) *buffers_[k].value = buffer_backup_[k];
  const std::string where =
      fit_epoch_ ? fmt::format("Trainer::step {} (epoch {})", steps_ + 1, fit_epoch_) : fmt::format("Trainer::step {}", steps_ + 1);
  fit_epoch_ = 0;  // the throw leaves fit
  const std::string origin = replay_under_anomaly_detection();
  // fit refuses such data up front; step() on its own may be handed it.
  const std::size_t n = data.features();
  for (auto i : batch) {
    const T* row = data.x.data() + i * n;
    if (const auto f = detail::first_non_finite(row, n); f < n)
      throw DataError(fmt::format("{}: {}: example {} of the data set has feature {} = {} ({}): the update was not "
                                  "applied",
                                  where, problem, i, f, row[f], origin));
  }
  throw DivergenceError(fmt::format("{}: {} ({}): the update was not applied (learning rate {} too large? inputs on "
                                "very different scales? a Normalizer helps)",
                                where, problem, origin, optimizer_.learning_rate()));
}

template <class T>
void Trainer<T>::refuse_divergence(double J) {
  for (std::size_t k = 0; k < buffers_.size(); ++k) *buffers_[k].value = buffer_backup_[k];
  const std::size_t epoch = fit_epoch_ ? fit_epoch_ : epochs_done_ + 1;
  fit_epoch_ = 0;  // the throw leaves fit
  throw DivergenceError(fmt::format(
      "Trainer: the cost diverged at epoch {}, step {} (learning rate {}): J = {:.4g} > {} × {:.4g} (the first "
      "step's cost) + {} (TrainOptions::divergence_factor, divergence_floor): the update was not applied; lower the "
      "learning rate or normalize the inputs (TrainOptions::stop_on_divergence = false trains on regardless)",
      epoch, steps_ + 1, optimizer_.learning_rate(), J, options_.divergence_factor, first_cost_,
      options_.divergence_floor));
}

template <class T>
Inspector<T> Trainer<T>::inspect(const Dataset<T>& data, std::span<const std::size_t> batch) {
  if (batch.empty()) throw DataError("Trainer::inspect: empty batch");
  forward_backward(data, batch, "Trainer::inspect");
  for (std::size_t k = 0; k < buffers_.size(); ++k) *buffers_[k].value = buffer_backup_[k];
  return Inspector<T>(model_, graph_);
}

template <class T>
Evaluation Trainer<T>::evaluate(const Dataset<T>& data) {
  if (!predictor_) predictor_ = std::make_unique<Predictor<T>>(model_, loss_, options_.eval_batch_size);
  return predictor_->evaluate(data);
}

template <class T>
void Trainer<T>::check_fit_inputs(const Dataset<T>& train, const Dataset<T>* dev) const {
  const std::size_t n_x = model_.built() ? model_.input_size() : 0;
  train.check("fit: training set", n_x);
  check_targets(loss_, train, "fit: training set");
  check_finite_features(train.x, "fit: training set");
  if (dev) {
    dev->check("fit: dev set", n_x);
    if (dev->features() != train.features() || dev->outputs() != train.outputs())
      throw DataError(fmt::format("fit: the training set has {} features and {} outputs, the dev set {} and {}",
                                  train.features(), train.outputs(), dev->features(), dev->outputs()));
    check_targets(loss_, *dev, "fit: dev set");
    check_finite_features(dev->x, "fit: dev set");
  }
  check_output_activation(model_, loss_);
  check_batch_norm_batches(model_, train.size(), options_.batch_size);
  if (parallel_) parallel_->check_data(model_, train, options_.batch_size);
}

template <class T>
EpochRecord Trainer<T>::run_epoch(const Dataset<T>& train, const Dataset<T>* dev, Batches& batches,
                                  detail::ProgressReporter& progress, bool bar) {
  const std::size_t m = train.size();
  const bool classify = loss_ != Loss::mean_squared_error;
  optimizer_.set_epoch(epochs_done_ + 1);  // the course's epoch_num: epoch 1 runs at α0/(1 + decay_rate)
  if (options_.shuffle) batches.shuffle(rng_);
  progress.begin_epoch(epochs_done_ + 1, batches.count());
  const auto t0 = std::chrono::steady_clock::now();
  double cost_sum = 0;
  std::size_t right = 0, seen = 0;
  for (std::size_t k = 0; k < batches.count(); ++k) {
    const auto idx = batches[k];
    fit_epoch_ = epochs_done_ + 1;  // for step's messages
    capture_stats_ = options_.layer_stats && k + 1 == batches.count();
    const double J = step(train, idx);
    capture_stats_ = false;
    fit_epoch_ = 0;
    cost_sum += J * double(idx.size());
    seen += idx.size();
    if (classify)
      right += count_correct(graph_.tape->value(graph_.output.index()), train, parallel_ ? parallel_->shard(idx) : idx);
    for (auto& f : step_callbacks_) f(*this, StepEvent<T>{epochs_done_ + 1, steps_, k, J, &train, idx});
    if (bar) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress.update(k + 1, cost_sum / double(seen), double(seen) / std::max(s, 1e-9));
    }
  }
  if (parallel_) right = parallel_->sum(right);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EpochRecord r;
  r.epoch = ++epochs_done_;
  r.learning_rate = optimizer_.learning_rate();
  r.cost = cost_sum / double(m);
  r.seconds = seconds;
  r.examples_per_second = double(m) / std::max(seconds, 1e-9);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r.train_accuracy = !classify ? nan : options_.evaluate_train ? evaluate(train).accuracy : double(right) / double(m);
  r.dev_cost = r.dev_accuracy = nan;
  if (dev) {
    const auto ev = evaluate(*dev);
    r.dev_cost = ev.cost;
    r.dev_accuracy = ev.accuracy;
  }
  if (options_.layer_stats) r.layers = std::move(last_stats_);
  return r;
}

template <class T>
History Trainer<T>::fit(const Dataset<T>& train, const Dataset<T>* dev) {
  check_fit_inputs(train, dev);
  record(train.features(), train.outputs(), std::min(options_.batch_size, train.size()));
  capture_stats_ = false;
  std::ostream& out = options_.out ? *options_.out : std::cout;
  const bool terminal = !options_.out && isatty(STDOUT_FILENO);
  const bool quiet = parallel_ && !parallel_->root();  // one process reports
  const bool bar = !quiet && (options_.progress == Progress::bar || (options_.progress == Progress::automatic && terminal));
  const bool lines =
      !quiet && (options_.progress == Progress::lines || (options_.progress == Progress::automatic && !terminal));
  const std::size_t first = epochs_done_ + 1, last = epochs_done_ + options_.epochs;
  detail::ProgressReporter progress(out, bar, lines, first, last, options_.evaluate_train);

  Batches batches(train.size(), options_.batch_size);
  detail::EarlyStopping stopping{.patience = options_.patience, .min_delta = options_.min_delta};
  std::vector<ad::Tensor<T>> best_values;  // parameters, then buffers, of the best epoch
  History history;
  history.train_accuracy_full_pass = options_.evaluate_train;
  stop_ = false;

  for (std::size_t e = 0; e < options_.epochs && !stop_; ++e) {
    const EpochRecord r = run_epoch(train, dev, batches, progress, bar);
    history.epochs.push_back(r);
    progress.end_epoch(r, dev != nullptr);
    if (options_.patience > 0) {
      switch (stopping.observe(dev ? r.dev_cost : r.cost, r.epoch)) {
        case detail::EarlyStopping::Verdict::improved:
          history.best_epoch = r.epoch;
          if (options_.restore_best) best_values = snapshot();
          break;
        case detail::EarlyStopping::Verdict::stop:
          history.stopped_early = true;
          stop_ = true;
          if (lines || bar)
            out << fmt::format("early stopping: no improvement of the {} for {} epochs, {}\n",
                               dev ? "dev cost" : "cost", options_.patience,
                               options_.restore_best
                                   ? fmt::format("restoring epoch {}", history.best_epoch)
                                   : fmt::format("keeping the weights of epoch {} (restore_best is off; the best was "
                                                 "epoch {})",
                                                 r.epoch, history.best_epoch));
          break;
        case detail::EarlyStopping::Verdict::waiting: break;
      }
    }
    for (auto& f : epoch_callbacks_)
      if (!f(*this, r)) stop_ = true;
  }
  if (history.stopped_early && options_.restore_best && !best_values.empty()) {
    restore(best_values);
    history.restored_best = true;
  }
  return history;
}

template <class T>
std::vector<ad::Tensor<T>> Trainer<T>::snapshot() const {
  std::vector<ad::Tensor<T>> values;
  for (auto* p : model_.parameters()) values.push_back(p->value);
  for (auto& b : model_.buffers()) values.push_back(*b.value);
  return values;
}

template <class T>
void Trainer<T>::restore(const std::vector<ad::Tensor<T>>& values) {
  std::size_t k = 0;
  for (auto* p : model_.parameters()) p->value = values[k++];
  for (auto& b : model_.buffers()) *b.value = values[k++];
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace nn
