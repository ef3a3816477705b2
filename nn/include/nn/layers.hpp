// The layers: Dense, Activation, Dropout, BatchNorm.
#pragma once

#include <memory>

#include "nn/init.hpp"
#include "nn/layer.hpp"
#include "nn/ops.hpp"

namespace nn {

// Z[l] = W[l] A[l-1] + b[l], A[l] = g(Z[l]), with W[l] (n[l], n[l-1]) and b[l] (n[l], 1). The input
// size is given or inferred when the model is built. A Dense layer followed by BatchNorm has no
// bias (β takes its place): the Sequential model turns it off.
template <class T>
class Dense : public Layer<T> {
 public:
  explicit Dense(std::size_t units, Activation activation = Activation::linear, Init init = Init::he(),
                 std::size_t inputs = 0, double leaky_slope = 0.01);

  LayerKind kind() const override { return LayerKind::dense; }
  std::size_t build(std::size_t n_in, int index, std::uint64_t seed) override;
  bool built() const override { return W_ != nullptr; }
  ad::Var<T> apply(ad::Tape<T>& tape, ad::Var<T> A, Mode mode, Layout& layout) override;
  std::vector<ad::Parameter<T>*> parameters() override;
  std::vector<ad::Parameter<T>*> weights() override;
  nlohmann::json spec() const override;
  std::string describe() const override;

  std::size_t units() const { return units_; }
  Activation activation() const { return activation_; }
  bool has_bias() const { return bias_; }
  // Before build only; Sequential calls it for a Dense layer followed by BatchNorm.
  void set_bias(bool on);
  ad::Parameter<T>& W() { return *W_; }
  ad::Parameter<T>& b();  // throws ConfigError when the layer has no bias

 private:
  std::size_t units_, inputs_;
  Activation activation_;
  Init init_;
  double slope_;
  bool bias_ = true;
  std::unique_ptr<ad::Parameter<T>> W_, b_;
};

// A = g(Z) as its own layer (after BatchNorm, or when Dense has none).
template <class T>
class ActivationLayer : public Layer<T> {
 public:
  explicit ActivationLayer(Activation activation, double leaky_slope = 0.01)
      : activation_(activation), slope_(leaky_slope) {}
  LayerKind kind() const override { return LayerKind::activation; }
  std::size_t build(std::size_t n_in, int, std::uint64_t) override { return n_in; }
  bool built() const override { return true; }
  ad::Var<T> apply(ad::Tape<T>& tape, ad::Var<T> A, Mode mode, Layout& layout) override;
  nlohmann::json spec() const override;
  std::string describe() const override;
  Activation activation() const { return activation_; }

 private:
  Activation activation_;
  double slope_;
};

// Inverted dropout: in training each unit is kept with probability keep_prob and scaled by
// 1/keep_prob; in evaluation it is an identity. A frozen tape reuses the last mask.
template <class T>
class Dropout : public Layer<T> {
 public:
  explicit Dropout(double keep_prob);
  LayerKind kind() const override { return LayerKind::dropout; }
  std::size_t build(std::size_t n_in, int, std::uint64_t) override { return n_in; }
  bool built() const override { return true; }
  ad::Var<T> apply(ad::Tape<T>& tape, ad::Var<T> A, Mode mode, Layout& layout) override;
  nlohmann::json spec() const override;
  std::string describe() const override;
  double keep_prob() const { return keep_prob_; }

 private:
  double keep_prob_;
};

// Batch normalization of Z[l] before the activation, with γ[l] (ones) and β[l] (zeros), both
// (n[l], 1); mini-batch statistics in training, running statistics in evaluation (see
// nn::batch_norm). Buffers running_mean[l] and running_var[l] go into checkpoints.
template <class T>
class BatchNorm : public Layer<T> {
 public:
  explicit BatchNorm(double momentum = 0.9, double epsilon = 1e-5);
  LayerKind kind() const override { return LayerKind::batch_norm; }
  std::size_t build(std::size_t n_in, int index, std::uint64_t seed) override;
  bool built() const override { return gamma_ != nullptr; }
  ad::Var<T> apply(ad::Tape<T>& tape, ad::Var<T> A, Mode mode, Layout& layout) override;
  std::vector<ad::Parameter<T>*> parameters() override;
  std::vector<Buffer<T>> buffers() override;
  nlohmann::json spec() const override;
  std::string describe() const override;

  ad::Parameter<T>& gamma() { return *gamma_; }
  ad::Parameter<T>& beta() { return *beta_; }
  BatchNormState<T>& state() { return *state_; }

 private:
  std::unique_ptr<ad::Parameter<T>> gamma_, beta_;
  std::unique_ptr<BatchNormState<T>> state_;  // at a stable address: tapes point to it
  int index_ = 0;
};

extern template class Dense<float>;
extern template class Dense<double>;
extern template class ActivationLayer<float>;
extern template class ActivationLayer<double>;
extern template class Dropout<float>;
extern template class Dropout<double>;
extern template class BatchNorm<float>;
extern template class BatchNorm<double>;

}  // namespace nn

namespace nn {

// g(Z) recorded with the engine's operation for `a` (linear records nothing).
template <class T>
ad::Var<T> activate(ad::Var<T> Z, Activation a, double leaky_slope = 0.01);

}  // namespace nn
