// A model as a run-time list of layers. Layer numbers follow the course: each Dense layer starts a
// new l (W[1], b[1], then W[2], ...); a BatchNorm belongs to the Dense before it (gamma[l], beta[l]).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/layers.hpp"

namespace nn {

template <class T>
class Sequential {
 public:
  Sequential() = default;
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;

  // --- composition --------------------------------------------------------------------------
  Sequential& add(std::unique_ptr<Layer<T>> layer);
  Sequential& dense(std::size_t units, Activation activation = Activation::linear, Init init = Init::he(),
                    std::size_t inputs = 0);
  Sequential& activation(Activation a, double leaky_slope = 0.01);
  Sequential& dropout(double keep_prob);
  Sequential& batch_norm(double momentum = 0.9, double epsilon = 1e-5);

  // Creates every parameter for inputs of n_x features (done by forward() on first use otherwise).
  // Initializers are seeded by (seed, parameter name). Throws ConfigError on an impossible model:
  // a BatchNorm anywhere but directly after a Dense layer of its own (Dense → BatchNorm →
  // activation), or after a Dense layer with a nonlinear activation (batch norm normalizes Z).
  void build(std::size_t n_x, std::uint64_t seed = 0);
  bool built() const { return n_x_ != 0; }
  std::size_t input_size() const { return n_x_; }
  std::size_t output_size() const { return n_out_; }
  void set_seed(std::uint64_t seed) { seed_ = seed; }

  // Records the model on X's tape and returns its output (the logits for the fused losses),
  // (n_out, m) with one column per example. X is (n_x, m), or (m, n_x) with Layout::rows.
  // `layer_outputs` (optional) receives the output of each layer, in order (nn::Inspector).
  ad::Var<T> forward(ad::Tape<T>& tape, ad::Var<T> X, Mode mode, Layout layout = Layout::columns,
                     std::vector<ad::Var<T>>* layer_outputs = nullptr);

  // --- contents -----------------------------------------------------------------------------
  std::vector<ad::Parameter<T>*> parameters() const;
  std::vector<ad::Parameter<T>*> weights() const;  // W[l] only: what L2 regularizes
  std::vector<Buffer<T>> buffers() const;
  ad::Parameter<T>& parameter(const std::string& name) const;  // throws ConfigError naming the known ones
  std::size_t size() const { return layers_.size(); }
  Layer<T>& layer(std::size_t i) const { return *layers_.at(i); }
  std::size_t parameter_count() const;

  // The architecture as JSON (checkpoints) and a model rebuilt from it (unbuilt when inputs are
  // unknown; parameters freshly initialized).
  nlohmann::json spec() const;
  static Sequential from_spec(const nlohmann::json& spec);
  // A table of layers, parameter names and shapes.
  std::string summary() const;

 private:
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::size_t n_x_ = 0, n_out_ = 0;
  std::uint64_t seed_ = 0;
};

// The same model in another scalar type (e.g. a float model as double for gradient checking),
// with every parameter and buffer converted.
template <class U, class T>
Sequential<U> convert(const Sequential<T>& model);

extern template class Sequential<float>;
extern template class Sequential<double>;

}  // namespace nn
