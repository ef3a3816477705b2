#include "nn/trainer.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include "nn/errors.hpp"
#include "finite.hpp"
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

// A model whose last layer applies softmax or σ before a loss that takes logits would apply it
// twice; as an ActivationLayer or fused into the last Dense layer.
template <class T>
void check_output_activation(const Sequential<T>& model, Loss loss) {
  if (model.size() == 0 || loss == Loss::mean_squared_error) return;
  auto& last = model.layer(model.size() - 1);
  Activation a = Activation::linear;
  std::string where = "the model";
  if (last.kind() == LayerKind::activation) {
    a = static_cast<ActivationLayer<T>&>(last).activation();
  } else if (last.kind() == LayerKind::dense) {
    a = static_cast<Dense<T>&>(last).activation();
    std::size_t l = 0;
    for (std::size_t i = 0; i < model.size(); ++i) l += model.layer(i).kind() == LayerKind::dense;
    where = fmt::format("the model's last Dense layer (W[{}])", l);
  }
  if (a == Activation::softmax || a == Activation::sigmoid)
    throw ConfigError(fmt::format("Trainer: {} ends with {} but {} takes logits (it applies {} itself): "
                                  "remove the last activation",
                                  where, to_string(a), to_string(loss), to_string(a)));
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
}

template <class T>
Trainer<T>::~Trainer() = default;

template <class T>
ad::Tape<T>& Trainer<T>::tape() {
  if (!tape_) throw ConfigError("Trainer::tape: no graph recorded yet (it is recorded by the first step)");
  return *tape_;
}

template <class T>
void Trainer<T>::record(std::size_t n_x, std::size_t n_y, std::size_t batch) {
  if (tape_ && X_.value().shape()[1] == n_x && Y_.value().shape()[0] == n_y) return;
  check_output_activation(model_, loss_);
  tape_ = std::make_unique<ad::Tape<T>>();
  tape_->seed(options_.seed);
  // Recording runs one forward on placeholder zeros: frozen, so that it moves no running statistics.
  tape_->set_frozen(true);
  X_ = tape_->input("X", xt::zeros<T>({batch, n_x}));
  Y_ = tape_->input("Y", xt::zeros<T>({n_y, batch}));
  out_ = model_.forward(*tape_, X_, Mode::train, Layout::rows);
  if (out_.rows() != n_y)
    throw DataError(fmt::format("Trainer: the model outputs {} values per example but the targets have {}",
                                out_.rows(), n_y));
  J_ = nn::cost(loss_, out_, Y_, model_.weights(), options_.l2);
  J_.named("J");
  tape_->set_frozen(false);
  params_ = model_.parameters();
  buffers_ = model_.buffers();
  buffer_backup_.resize(buffers_.size());
}

template <class T>
double Trainer<T>::step(const Dataset<T>& data, std::span<const std::size_t> batch) {
  if (batch.empty()) throw DataError("Trainer::step: empty mini-batch");
  // Cheap (a few comparisons, one pass over the indices) and allocation-free unless it throws.
  data.check("Trainer::step", model_.built() ? model_.input_size() : 0);
  check_indices(batch, data.size(), "Trainer::step");
  const std::size_t n_x = data.features(), n_y = data.outputs();
  record(n_x, n_y, batch.size());
  gather_rows(data.x, batch, tape_->input_buffer(X_, {batch.size(), n_x}));
  gather_columns(data.y, batch, tape_->input_buffer(Y_, {n_y, batch.size()}));
  // Batch norm's forward moves its running statistics: kept to be put back if the step is refused
  // (a few values per feature, copied without allocating once the shapes are set).
  for (std::size_t k = 0; k < buffers_.size(); ++k) buffer_backup_[k] = *buffers_[k].value;
  tape_->forward();
  tape_->backward(J_);
  const double J = double(J_.value()(0, 0));
  if (!std::isfinite(J)) refuse_step(data, batch, fmt::format("the cost is {}", J));
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
  const bool anomaly = tape_->anomaly_detection(), frozen = tape_->frozen();
  tape_->set_frozen(true);
  std::vector<std::string> found;
  for (const bool check_forward : {true, false}) {
    try {
      tape_->set_anomaly_detection(check_forward);
      tape_->forward();
      tape_->set_anomaly_detection(true);
      tape_->backward(J_);
    } catch (const ad::Error& e) {
      found.push_back(e.what());
    }
  }
  tape_->set_anomaly_detection(anomaly);
  tape_->set_frozen(frozen);
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
  throw ConfigError(fmt::format("{}: {} ({}): the update was not applied (learning rate {} too large? inputs on "
                                "very different scales? a Normalizer helps)",
                                where, problem, origin, optimizer_.learning_rate()));
}

template <class T>
Evaluation Trainer<T>::evaluate(const Dataset<T>& data) {
  if (!predictor_) predictor_ = std::make_unique<Predictor<T>>(model_, loss_, options_.eval_batch_size);
  return predictor_->evaluate(data);
}

template <class T>
History Trainer<T>::fit(const Dataset<T>& train, const Dataset<T>* dev) {
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
  std::ostream& out = options_.out ? *options_.out : std::cout;
  const bool terminal = !options_.out && isatty(STDOUT_FILENO);
  const bool bar = options_.progress == Progress::bar || (options_.progress == Progress::automatic && terminal);
  const bool lines = options_.progress == Progress::lines || (options_.progress == Progress::automatic && !terminal);
  const std::size_t first = epochs_done_ + 1, last = epochs_done_ + options_.epochs;
  detail::ProgressReporter progress(out, bar, lines, first, last, options_.evaluate_train);

  const std::size_t m = train.size();
  Batches batches(m, options_.batch_size);
  const bool classify = loss_ != Loss::mean_squared_error;
  const bool watch_dev = dev != nullptr;
  double best = std::numeric_limits<double>::infinity();
  std::size_t since_best = 0;
  std::vector<ad::Tensor<T>> best_values;
  History history;
  history.train_accuracy_full_pass = options_.evaluate_train;
  stop_ = false;

  auto snapshot = [&] {
    best_values.clear();
    for (auto* p : model_.parameters()) best_values.push_back(p->value);
    for (auto& b : model_.buffers()) best_values.push_back(*b.value);
  };
  auto restore = [&] {
    std::size_t k = 0;
    for (auto* p : model_.parameters()) p->value = best_values[k++];
    for (auto& b : model_.buffers()) *b.value = best_values[k++];
  };

  for (std::size_t e = 0; e < options_.epochs && !stop_; ++e) {
    optimizer_.set_epoch(epochs_done_);
    if (options_.shuffle) batches.shuffle(rng_);
    progress.begin_epoch(epochs_done_ + 1, batches.count());
    const auto t0 = std::chrono::steady_clock::now();
    double cost_sum = 0;
    std::size_t right = 0, seen = 0;
    for (std::size_t k = 0; k < batches.count(); ++k) {
      const auto idx = batches[k];
      fit_epoch_ = epochs_done_ + 1;  // for step's messages
      const double J = step(train, idx);
      fit_epoch_ = 0;
      cost_sum += J * double(idx.size());
      seen += idx.size();
      if (classify) right += count_correct(tape_->value(out_.index()), train, idx);
      for (auto& f : step_callbacks_) f(*this, StepEvent<T>{epochs_done_ + 1, steps_, k, J, &train, idx});
      if (bar) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        progress.update(k + 1, cost_sum / double(seen), double(seen) / std::max(s, 1e-9));
      }
    }
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
    history.epochs.push_back(r);
    progress.end_epoch(r, dev != nullptr);

    if (options_.patience > 0) {
      const double watched = watch_dev ? r.dev_cost : r.cost;
      if (watched < best - options_.min_delta) {
        best = watched;
        since_best = 0;
        history.best_epoch = r.epoch;
        if (options_.restore_best) snapshot();
      } else if (++since_best >= options_.patience) {
        history.stopped_early = true;
        stop_ = true;
        if (lines || bar)
          out << fmt::format("early stopping: no improvement of the {} for {} epochs, {}\n",
                             watch_dev ? "dev cost" : "cost", options_.patience,
                             options_.restore_best
                                 ? fmt::format("restoring epoch {}", history.best_epoch)
                                 : fmt::format("keeping the weights of epoch {} (restore_best is off; the best was "
                                               "epoch {})",
                                               r.epoch, history.best_epoch));
      }
    }
    for (auto& f : epoch_callbacks_)
      if (!f(*this, r)) stop_ = true;
  }
  if (history.stopped_early && options_.restore_best && !best_values.empty()) {
    restore();
    history.restored_best = true;
  }
  return history;
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace nn
