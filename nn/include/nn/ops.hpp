// Operations nn adds to the engine, each a fused node with its own backward (gradchecked in
// tests/nn): batch normalization and the L2 regularization term.
#pragma once

#include <source_location>
#include <span>
#include <vector>

#include <autodiff/ops.hpp>

namespace nn {

// Synchronized batch norm (data parallelism, nn/data_parallel.hpp): the mini-batch is split over
// processes and its statistics are the whole batch's. Each process's cost is the mean over its own
// shard, so its gradients are the global ones divided by weight() = m_r / m (they are multiplied by
// it when summed over the processes).
template <class T>
class BatchNormSync {
 public:
  virtual ~BatchNormSync() = default;
  virtual void sum(std::span<T> values) = 0;  // element-wise over the processes, in place
  virtual double weight() const = 0;
};

// The state of one batch-norm layer that is not a parameter: the exponentially weighted running
// mean and variance (both (n, 1)), read in evaluation and updated by training-mode forwards.
template <class T>
struct BatchNormState {
  ad::Tensor<T> running_mean;
  ad::Tensor<T> running_var;
  double momentum = 0.9;  // running = momentum · running + (1 − momentum) · batch
  double epsilon = 1e-5;
  BatchNormSync<T>* sync = nullptr;  // set while a data-parallel trainer synchronizes this layer
};

// Y = γ ⊙ (Z − μ) / √(σ² + ε) + β, row by row (a unit's statistics are over the m columns).
// Z is (n, m), gamma and beta (n, 1).
// training: μ and σ² are the mini-batch's (biased variance); unless the tape is frozen, each
//   forward also moves the running statistics towards them (variance with Bessel's correction,
//   as PyTorch; a single-example batch leaves them alone).
// evaluation: μ and σ² are the running statistics; nothing is updated.
// With state.sync, training forwards of an unfrozen tape take μ and σ² over every process's
//   columns (two sums), and their backward sums its two means likewise (one); a frozen tape (the
//   graph's recording, gradient checks, a refused step's diagnosis) keeps to its own columns.
// Replays read `state` at its address: it must outlive the tape (a layer owns it).
template <class T>
ad::Var<T> batch_norm(ad::Var<T> Z, ad::Var<T> gamma, ad::Var<T> beta, BatchNormState<T>& state, bool training,
                      std::source_location where = std::source_location::current());

// λ/(2m) Σ_l ‖W[l]‖²_F, where m is the column count of `batch` read at every forward (so the term
// stays right for the last, partial mini-batch of a replayed tape). Its gradient is λ/m · W[l].
template <class T>
ad::Var<T> l2_penalty(const std::vector<ad::Var<T>>& weights, ad::Var<T> batch, double lambda,
                      std::source_location where = std::source_location::current());

}  // namespace nn
