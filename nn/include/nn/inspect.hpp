// Seeing inside a model: the activations A[l], pre-activations Z[l] and gradients dA[l], dW[l],
// db[l] of a recorded graph's last forward/backward, by the course's layer number l = 1..L (each
// Dense layer starts a new l; the BatchNorm, activation and dropout layers after it belong to it),
// and their statistics. Users read layers by number, never tape nodes by operation name.
#pragma once

#include <vector>

#include "nn/graph.hpp"
#include "nn/layer_stats.hpp"

namespace nn {

template <class T>
TensorStats stats_of(const ad::Tensor<T>& t);

template <class T>
class Inspector {
 public:
  // A copy of what `graph` (recorded from `model` by record_graph) holds now: call it between a
  // backward and the optimizer's update (Trainer::inspect does). Throws ConfigError when the model
  // has no Dense layer or the graph was not recorded from it.
  Inspector(const Sequential<T>& model, const ModelGraph<T>& graph);

  std::size_t layers() const { return layers_.size(); }  // L
  // (n[l], m), one column per example. A(0) is X. Z[l] is what layer l's activation takes: W·A + b,
  // or batch norm's z̃ = γ·z_norm + β (recomputed from A[l−1] when the activation is fused into
  // the Dense kernel and so not on the tape).
  const ad::Tensor<T>& A(std::size_t l) const;
  const ad::Tensor<T>& Z(std::size_t l) const;
  const ad::Tensor<T>& dA(std::size_t l) const;  // ∂J/∂A[l]
  const ad::Tensor<T>& dW(std::size_t l) const;
  const ad::Tensor<T>& db(std::size_t l) const;  // ConfigError for a layer without bias
  LayerStats stats(std::size_t l) const;
  std::vector<LayerStats> stats() const;  // l = 1..L

 private:
  struct Layer {
    ad::Tensor<T> A, Z, dA, dW, db;
    bool has_bias = true;
  };
  const Layer& at(std::size_t l, const char* what) const;
  ad::Tensor<T> A0_;
  std::vector<Layer> layers_;
};

extern template class Inspector<float>;
extern template class Inspector<double>;

}  // namespace nn
