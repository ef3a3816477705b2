// Optimizers that update parameters in place from their gradients, without allocating per step.
// Their state (velocities, moments) is keyed by the parameter's NAME ("v/W[1]"), never its
// address, so it survives rebuilding a model and goes into checkpoints.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <autodiff/autodiff.hpp>

#include "nn/errors.hpp"
#include "nn/schedule.hpp"

namespace nn {

// Thrown by Optimizer::step, before it changes any value, moment or step count, when a gradient
// holds NaN or ±Inf: the update would write NaN into the parameter and, for good, into the
// optimizer's moments. Names the first such parameter (in the order given) and its element.
struct NonFiniteGradient : ConfigError {
  NonFiniteGradient(const std::string& message, std::string parameter_, std::size_t element_)
      : ConfigError(message), parameter(std::move(parameter_)), element(element_) {}
  std::string parameter;
  std::size_t element;  // flat (row-major) index into the gradient
};

template <class T>
class Optimizer {
 public:
  explicit Optimizer(double learning_rate, Schedule schedule = {});
  virtual ~Optimizer() = default;

  virtual std::string name() const = 0;
  // One update of every trainable parameter from its gradient, at the current learning rate.
  // Throws NonFiniteGradient, and updates nothing, when a gradient is not finite.
  void step(const std::vector<ad::Parameter<T>*>& params);

  // The schedule's rate for the course's epoch_num `epoch` becomes the current one. The trainer
  // calls it with its epoch number (from 1); 0, the start, is α0.
  void set_epoch(std::size_t epoch);
  double learning_rate() const { return alpha_; }
  double initial_learning_rate() const { return alpha0_; }
  void set_learning_rate(double alpha0);
  const Schedule& schedule() const { return schedule_; }
  std::size_t steps() const { return t_; }  // updates so far (Adam's t)

  // The state by name: "<slot>/<parameter>" → tensor (e.g. "m/W[1]", "v/b[2]"); and the scalar
  // configuration (hyperparameters, t, epoch). For checkpoints.
  const std::map<std::string, ad::Tensor<T>>& state() const { return state_; }
  virtual nlohmann::json config() const;
  // Sets the hyperparameters (learning rate, schedule, β's, ε) from a config() of the same
  // optimizer; throws ConfigError for another optimizer's. Loading a checkpoint does this.
  void configure(const nlohmann::json& config);
  // Replaces the state (a loaded checkpoint). Checks nothing about parameters: a slot is matched
  // by name on the next step, and a missing one starts at zero.
  void restore(std::map<std::string, ad::Tensor<T>> state, std::size_t steps, std::size_t epoch);
  void reset();
  // The slot names this optimizer keeps per parameter ("v", or "v" and "s"; none for SGD).
  virtual std::vector<std::string> slots() const = 0;

 protected:
  // Reads the subclass's own hyperparameters from a config() (configure() did the common ones).
  virtual void read_config(const nlohmann::json&) {}
  // Updates elements [begin, end) of one parameter (and of its slots); `s` holds its slots in the
  // order of slots(). Called concurrently for disjoint ranges of the same parameter.
  virtual void update(ad::Parameter<T>& p, ad::Tensor<T>* const* s, T alpha, std::size_t begin,
                      std::size_t end) = 0;

 private:
  void bind(const std::vector<ad::Parameter<T>*>& params);
  // Throws NonFiniteGradient naming the first gradient that holds NaN or ±Inf.
  void check_finite(const std::vector<ad::Parameter<T>*>& params, std::size_t parts) const;

  double alpha0_, alpha_;
  Schedule schedule_;
  std::size_t t_ = 0, epoch_ = 0;
  std::map<std::string, ad::Tensor<T>> state_;
  // Lookup cache: the slots of each parameter of the last step, rebuilt when the list changes.
  std::vector<ad::Parameter<T>*> bound_;
  std::vector<std::string> bound_names_;
  std::vector<ad::Tensor<T>*> bound_slots_;
  std::size_t slot_count_ = 0;

 protected:
  std::size_t t() const { return t_; }
};

// W −= α dW. Mini-batch SGD is this update on mini-batch gradients.
template <class T>
class GradientDescent : public Optimizer<T> {
 public:
  using Optimizer<T>::Optimizer;
  std::string name() const override { return "gradient_descent"; }

 protected:
  std::vector<std::string> slots() const override { return {}; }
  void update(ad::Parameter<T>& p, ad::Tensor<T>* const* s, T alpha, std::size_t begin, std::size_t end) override;
};
template <class T>
using SGD = GradientDescent<T>;

// v = β v + (1 − β) dW;  W −= α v   (the course's form, an exponentially weighted average).
template <class T>
class Momentum : public Optimizer<T> {
 public:
  Momentum(double learning_rate, double beta = 0.9, Schedule schedule = {});
  std::string name() const override { return "momentum"; }
  nlohmann::json config() const override;

 protected:
  void read_config(const nlohmann::json& config) override;
  std::vector<std::string> slots() const override { return {"v"}; }
  void update(ad::Parameter<T>& p, ad::Tensor<T>* const* s, T alpha, std::size_t begin, std::size_t end) override;

 private:
  double beta_;
};

// s = β2 s + (1 − β2) dW²;  W −= α dW / (√s + ε).
template <class T>
class RMSProp : public Optimizer<T> {
 public:
  RMSProp(double learning_rate, double beta2 = 0.999, double epsilon = 1e-8, Schedule schedule = {});
  std::string name() const override { return "rmsprop"; }
  nlohmann::json config() const override;

 protected:
  void read_config(const nlohmann::json& config) override;
  std::vector<std::string> slots() const override { return {"s"}; }
  void update(ad::Parameter<T>& p, ad::Tensor<T>* const* s, T alpha, std::size_t begin, std::size_t end) override;

 private:
  double beta2_, epsilon_;
};

// v = β1 v + (1 − β1) dW;  s = β2 s + (1 − β2) dW²;  v̂ = v / (1 − β1^t);  ŝ = s / (1 − β2^t);
// W −= α v̂ / (√ŝ + ε).
template <class T>
class Adam : public Optimizer<T> {
 public:
  Adam(double learning_rate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8,
       Schedule schedule = {});
  std::string name() const override { return "adam"; }
  nlohmann::json config() const override;

 protected:
  void read_config(const nlohmann::json& config) override;
  std::vector<std::string> slots() const override { return {"v", "s"}; }
  void update(ad::Parameter<T>& p, ad::Tensor<T>* const* s, T alpha, std::size_t begin, std::size_t end) override;

 private:
  double beta1_, beta2_, epsilon_;
};

// An optimizer from its configuration (config()), e.g. from a checkpoint.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const nlohmann::json& config);

extern template class Optimizer<float>;
extern template class Optimizer<double>;
extern template class GradientDescent<float>;
extern template class GradientDescent<double>;
extern template class Momentum<float>;
extern template class Momentum<double>;
extern template class RMSProp<float>;
extern template class RMSProp<double>;
extern template class Adam<float>;
extern template class Adam<double>;

}  // namespace nn
