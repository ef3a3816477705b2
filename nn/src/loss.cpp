#include "nn/loss.hpp"

#include <cmath>

#include <fmt/format.h>

#include "nn/errors.hpp"
#include "nn/ops.hpp"

namespace nn {

std::string to_string(Loss l) {
  switch (l) {
    case Loss::softmax_cross_entropy: return "softmax_cross_entropy";
    case Loss::sigmoid_cross_entropy: return "sigmoid_cross_entropy";
    case Loss::mean_squared_error: return "mean_squared_error";
  }
  return "?";
}

Loss loss_from_string(const std::string& s) {
  for (auto l : {Loss::softmax_cross_entropy, Loss::sigmoid_cross_entropy, Loss::mean_squared_error})
    if (to_string(l) == s) return l;
  throw ConfigError("loss: unknown '" + s + "' (softmax_cross_entropy, sigmoid_cross_entropy, mean_squared_error)");
}

template <class T>
ad::Var<T> loss(Loss kind, ad::Var<T> output, ad::Var<T> Y) {
  switch (kind) {
    case Loss::softmax_cross_entropy: return ad::softmax_cross_entropy(output, Y);
    case Loss::sigmoid_cross_entropy: return ad::sigmoid_cross_entropy(output, Y);
    case Loss::mean_squared_error: {
      // The cross-entropies check this in their fused node; ad::sub would broadcast instead.
      if (output.shape() != Y.shape())
        throw ad::ShapeError(fmt::format("mean_squared_error: output {} is {} but targets {} are {}: they must have "
                                         "the same shape (n_y, m)",
                                         output.name(), ad::to_string(output.shape()), Y.name(),
                                         ad::to_string(Y.shape())));
      // Σ over outputs (axis 0) gives (1, m); the mean over examples is taken at each forward, so
      // a replay with a partial batch divides by its own m.
      auto e = ad::sub(output, Y);
      return ad::mean(ad::sum(ad::square(e), 0));
    }
  }
  throw ConfigError("loss: unknown kind");
}

template <class T>
ad::Var<T> cost(Loss kind, ad::Var<T> output, ad::Var<T> Y, const std::vector<ad::Parameter<T>*>& weights,
                double lambda) {
  auto J = loss(kind, output, Y);
  if (lambda == 0 || weights.empty()) return J;
  auto& tape = output.tape();
  std::vector<ad::Var<T>> W;
  for (auto* w : weights) W.push_back(tape.parameter(*w));
  return ad::add(J, l2_penalty(W, Y, lambda));
}

template <class T>
ad::Var<T> predictions(Loss kind, ad::Var<T> output) {
  switch (kind) {
    case Loss::softmax_cross_entropy: return ad::softmax(output, 0);
    case Loss::sigmoid_cross_entropy: return ad::sigmoid(output);
    case Loss::mean_squared_error: return output;
  }
  return output;
}

template <class T>
void check_targets(Loss kind, const Dataset<T>& data, const char* what) {
  const std::size_t m = data.size(), n = data.outputs();
  // Rounding of float one-hot rows or of soft labels stays far below this.
  const double tolerance = 1e-3;
  for (std::size_t i = 0; i < m; ++i) {
    const T* row = data.y.data() + i * n;
    double total = 0;
    for (std::size_t k = 0; k < n; ++k) {
      const double v = double(row[k]);
      total += v;
      const bool fits = std::isfinite(v) && (kind == Loss::mean_squared_error || (v >= 0 && v <= 1));
      if (!fits)
        throw DataError(fmt::format("{}: example {} has target {} in column {}, but {} needs {}", what, i, v, k,
                                    to_string(kind),
                                    kind == Loss::mean_squared_error ? "finite values" : "values in [0, 1]"));
    }
    if (kind == Loss::softmax_cross_entropy && std::abs(total - 1) > tolerance)
      throw DataError(fmt::format("{}: the targets of example {} sum to {}, but softmax_cross_entropy needs one-hot "
                                  "rows (or class probabilities summing to 1){}",
                                  what, i, total,
                                  n == 1 ? ": for a single 0/1 output use sigmoid_cross_entropy" : ""));
  }
}

namespace {

template <class T>
ad::Tensor<T> one_hot(std::span<const std::int32_t> labels, std::size_t classes, bool rows, const char* who) {
  if (classes == 0 && !labels.empty()) throw DataError(fmt::format("{}: 0 classes: labels need at least one class", who));
  ad::Tensor<T> Y = rows ? ad::Tensor<T>(xt::zeros<T>({labels.size(), classes}))
                         : ad::Tensor<T>(xt::zeros<T>({classes, labels.size()}));
  for (std::size_t j = 0; j < labels.size(); ++j) {
    if (labels[j] < 0 || std::size_t(labels[j]) >= classes)
      throw DataError(fmt::format("{}: label {} of example {} is outside 0..{}", who, labels[j], j, classes - 1));
    (rows ? Y(j, std::size_t(labels[j])) : Y(std::size_t(labels[j]), j)) = T(1);
  }
  return Y;
}

}  // namespace

template <class T>
ad::Tensor<T> one_hot_rows(std::span<const std::int32_t> labels, std::size_t classes) {
  return one_hot<T>(labels, classes, true, "one_hot_rows");
}

template <class T>
ad::Tensor<T> one_hot_columns(std::span<const std::int32_t> labels, std::size_t classes) {
  return one_hot<T>(labels, classes, false, "one_hot_columns");
}

#define NN_INSTANTIATE(T)                                                                                   \
  template ad::Var<T> loss(Loss, ad::Var<T>, ad::Var<T>);                                                   \
  template ad::Var<T> cost(Loss, ad::Var<T>, ad::Var<T>, const std::vector<ad::Parameter<T>*>&, double);    \
  template ad::Var<T> predictions(Loss, ad::Var<T>);                                                        \
  template ad::Tensor<T> one_hot_rows(std::span<const std::int32_t>, std::size_t);                          \
  template ad::Tensor<T> one_hot_columns(std::span<const std::int32_t>, std::size_t);                       \
  template void check_targets(Loss, const Dataset<T>&, const char*);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)

}  // namespace nn
