#include "nn/predict.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "nn/errors.hpp"
#include "nn/metrics.hpp"

namespace nn {

template <class T>
Predictor<T>::Predictor(Sequential<T>& model, Loss loss, std::size_t batch_size)
    : model_(model), loss_(loss), batch_(std::max<std::size_t>(batch_size, 1)) {}

template <class T>
Predictor<T>::~Predictor() = default;

template <class T>
void Predictor<T>::record(std::size_t n_x, std::size_t n_y) {
  if (graph_.fits(n_x, n_y)) return;
  graph_ = record_graph(model_, GraphSpec{.loss = loss_,
                                          .mode = Mode::eval,
                                          .batch = batch_,
                                          .features = n_x,
                                          .outputs = n_y,
                                          .gradients = false,
                                          .probabilities = true,
                                          .who = "evaluate"});
}

template <class T>
void Predictor<T>::run(const ad::Tensor<T>& x, const ad::Tensor<T>* y, std::size_t begin, std::size_t end) {
  const std::size_t n = x.shape()[1], k = end - begin;
  auto& tape = *graph_.tape;
  auto& xb = tape.input_buffer(graph_.X, {k, n});
  std::memcpy(xb.data(), x.data() + begin * n, k * n * sizeof(T));  // contiguous rows: one copy
  if (y) {
    const std::size_t c = y->shape()[1];
    auto& yb = tape.input_buffer(graph_.Y, {c, k});
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t i = 0; i < c; ++i) yb(i, j) = (*y)(begin + j, i);
  } else {
    auto& yb = tape.input_buffer(graph_.Y, {graph_.Y.value().shape()[0], k});
    yb.fill(T(0));
  }
  tape.forward();
}

template <class T>
ad::Tensor<T> Predictor<T>::probabilities(const ad::Tensor<T>& x) {
  const std::size_t m = x.shape()[0];
  if (!model_.built()) throw ConfigError("predict: the model is not built (train it or load a checkpoint)");
  check_finite_features(x, "predict");
  record(x.shape()[1], model_.output_size());
  ad::Tensor<T> out = ad::Tensor<T>::from_shape({model_.output_size(), m});
  for (std::size_t begin = 0; begin < m; begin += batch_) {
    const std::size_t end = std::min(m, begin + batch_);
    run(x, nullptr, begin, end);
    const auto& p = graph_.probabilities.value();
    for (std::size_t i = 0; i < p.shape()[0]; ++i)
      std::memcpy(out.data() + i * m + begin, p.data() + i * (end - begin), (end - begin) * sizeof(T));
  }
  return out;
}

template <class T>
std::vector<std::int32_t> Predictor<T>::classes(const ad::Tensor<T>& x) {
  return argmax(probabilities(x));
}

template <class T>
Evaluation Predictor<T>::evaluate(const Dataset<T>& data) {
  data.check("evaluate");
  // Recording would build an unbuilt model with fresh random weights and score those.
  if (!model_.built()) throw ConfigError("evaluate: the model is not built (train it or load a checkpoint)");
  check_targets(loss_, data, "evaluate");
  check_finite_features(data.x, "evaluate");
  record(data.features(), data.outputs());
  Evaluation e;
  const std::size_t m = data.size();
  double total = 0;
  e.predicted.reserve(m);
  for (std::size_t begin = 0; begin < m; begin += batch_) {
    const std::size_t end = std::min(m, begin + batch_);
    run(data.x, &data.y, begin, end);
    total += double(graph_.J.value()(0, 0)) * double(end - begin);
    for (auto c : argmax(graph_.probabilities.value())) e.predicted.push_back(c);
  }
  e.cost = total / double(m);
  e.accuracy = loss_ == Loss::mean_squared_error ? std::numeric_limits<double>::quiet_NaN()
                                                 : accuracy(e.predicted, data.labels());
  return e;
}

template class Predictor<float>;
template class Predictor<double>;

}  // namespace nn
