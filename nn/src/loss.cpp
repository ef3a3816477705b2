#include "nn/loss.hpp"

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
ad::Tensor<T> one_hot(std::span<const std::int32_t> labels, std::size_t classes) {
  ad::Tensor<T> Y = xt::zeros<T>({classes, labels.size()});
  for (std::size_t j = 0; j < labels.size(); ++j) {
    if (labels[j] < 0 || std::size_t(labels[j]) >= classes)
      throw DataError(fmt::format("one_hot: label {} of example {} is outside 0..{}", labels[j], j, classes - 1));
    Y(std::size_t(labels[j]), j) = T(1);
  }
  return Y;
}

#define NN_INSTANTIATE(T)                                                                                   \
  template ad::Var<T> loss(Loss, ad::Var<T>, ad::Var<T>);                                                   \
  template ad::Var<T> cost(Loss, ad::Var<T>, ad::Var<T>, const std::vector<ad::Parameter<T>*>&, double);    \
  template ad::Var<T> predictions(Loss, ad::Var<T>);                                                        \
  template ad::Tensor<T> one_hot(std::span<const std::int32_t>, std::size_t);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)

}  // namespace nn
