#include <fmt/format.h>

#include "nn/errors.hpp"
#include "nn/layers.hpp"

namespace nn {

template <class T>
BatchNorm<T>::BatchNorm(double momentum, double epsilon) : state_(std::make_unique<BatchNormState<T>>()) {
  if (!(momentum >= 0 && momentum < 1))
    throw ConfigError(fmt::format("BatchNorm: momentum must be in [0, 1), got {}", momentum));
  if (!(epsilon > 0)) throw ConfigError(fmt::format("BatchNorm: epsilon must be > 0, got {}", epsilon));
  state_->momentum = momentum;
  state_->epsilon = epsilon;
}

template <class T>
std::size_t BatchNorm<T>::build(std::size_t n_in, int index, std::uint64_t) {
  if (built()) {
    if (gamma_->value.shape()[0] != n_in)
      throw ConfigError(fmt::format("BatchNorm {}: built for {} units, now given {}", gamma_->name,
                                    gamma_->value.shape()[0], n_in));
    return n_in;
  }
  index_ = index;
  const std::array<std::size_t, 2> shape{n_in, 1};
  gamma_ = std::make_unique<ad::Parameter<T>>(fmt::format("gamma[{}]", index), ad::Tensor<T>(xt::ones<T>(shape)));
  beta_ = std::make_unique<ad::Parameter<T>>(fmt::format("beta[{}]", index), ad::Tensor<T>(xt::zeros<T>(shape)));
  state_->running_mean = xt::zeros<T>(shape);
  state_->running_var = xt::ones<T>(shape);
  return n_in;
}

template <class T>
ad::Var<T> BatchNorm<T>::apply(ad::Tape<T>& tape, ad::Var<T> A, Mode mode, Layout& layout) {
  if (!built()) throw ConfigError("BatchNorm: apply before build");
  A = to_columns(A, layout);
  return batch_norm(A, tape.parameter(*gamma_), tape.parameter(*beta_), *state_, mode == Mode::train);
}

template <class T>
std::vector<ad::Parameter<T>*> BatchNorm<T>::parameters() {
  if (!built()) return {};
  return {gamma_.get(), beta_.get()};
}

template <class T>
std::vector<Buffer<T>> BatchNorm<T>::buffers() {
  if (!built()) return {};
  return {{fmt::format("running_mean[{}]", index_), &state_->running_mean},
          {fmt::format("running_var[{}]", index_), &state_->running_var}};
}

template <class T>
nlohmann::json BatchNorm<T>::spec() const {
  return {{"type", to_string(kind())}, {"momentum", state_->momentum}, {"epsilon", state_->epsilon}};
}

template <class T>
std::string BatchNorm<T>::describe() const {
  std::string s = fmt::format("BatchNorm(momentum={}, epsilon={})", state_->momentum, state_->epsilon);
  if (built()) s += fmt::format("  {} ({}, 1)  {} ({}, 1)", gamma_->name, gamma_->value.shape()[0], beta_->name,
                                beta_->value.shape()[0]);
  return s;
}

template class BatchNorm<float>;
template class BatchNorm<double>;

}  // namespace nn
