// Losses from the model's output (logits), averaged over the m examples (columns), and helpers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <autodiff/autodiff.hpp>

#include "nn/dataset.hpp"

namespace nn {

enum class Loss {
  softmax_cross_entropy,  // multi-class, Y one-hot (C, m): −(1/m) Σ y log softmax(z); gradient (ŷ − y)/m
  sigmoid_cross_entropy,  // binary (or multi-label), Y in {0, 1}: stable BCE on σ(z)
  mean_squared_error,     // regression: (1/m) Σ_examples ‖ŷ − y‖² (summed over outputs, as the others)
};
std::string to_string(Loss l);
Loss loss_from_string(const std::string& s);  // throws ConfigError

// The loss of `output` (logits for the cross-entropies) against Y, both (n_y, m). (1, 1).
// Throws ad::ShapeError when their shapes differ (MSE would otherwise broadcast (1, m) − (m, 1)).
template <class T>
ad::Var<T> loss(Loss kind, ad::Var<T> output, ad::Var<T> Y);

// The course's cost: the loss plus λ/(2m) Σ‖W[l]‖²_F when lambda > 0 (m read at each replay).
template <class T>
ad::Var<T> cost(Loss kind, ad::Var<T> output, ad::Var<T> Y, const std::vector<ad::Parameter<T>*>& weights,
                double lambda);

// Probabilities (or, for MSE, the predictions) from the output: softmax over classes, σ, identity.
template <class T>
ad::Var<T> predictions(Loss kind, ad::Var<T> output);

// Throws DataError (naming `what` and the example) unless every target suits the loss: finite; in
// [0, 1] for sigmoid cross-entropy; for softmax cross-entropy a distribution (≥ 0, summing to 1),
// since its fused gradient ŷ − y is the cost's gradient only then. One pass over y.
template <class T>
void check_targets(Loss kind, const Dataset<T>& data, const char* what);

// Labels 0..classes−1 as one-hot vectors, in either layout by name: one_hot_rows is (m, classes),
// one example per row, what Dataset::y holds; one_hot_columns is (classes, m), the course's Y
// (and a tape's targets). Throws DataError naming the label and example out of range.
template <class T>
ad::Tensor<T> one_hot_rows(std::span<const std::int32_t> labels, std::size_t classes);
template <class T>
ad::Tensor<T> one_hot_columns(std::span<const std::int32_t> labels, std::size_t classes);

}  // namespace nn
