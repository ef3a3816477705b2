// Evaluation and prediction on a graph recorded once (evaluation mode: running batch-norm
// statistics, no dropout, no gradients) and replayed batch after batch.
#pragma once

#include <memory>

#include "nn/dataset.hpp"
#include "nn/graph.hpp"
#include "nn/loss.hpp"
#include "nn/sequential.hpp"

namespace nn {

struct Evaluation {
  double cost = 0;      // the loss averaged over the examples (no regularization term)
  double accuracy = 0;  // NaN for mean squared error
  std::vector<std::int32_t> predicted;
};

template <class T>
class Predictor {
 public:
  // The model must outlive the predictor; it is evaluated with its current parameters at each call.
  Predictor(Sequential<T>& model, Loss loss, std::size_t batch_size = 1000);
  ~Predictor();

  // Probabilities (softmax, σ) or predictions (MSE) for x (m, n_x): (n_y, m), one column per example.
  ad::Tensor<T> probabilities(const ad::Tensor<T>& x_rows);
  std::vector<std::int32_t> classes(const ad::Tensor<T>& x_rows);
  Evaluation evaluate(const Dataset<T>& data);

 private:
  void record(std::size_t n_x, std::size_t n_y);
  // Runs one batch [begin, end) of x (and y when given) through the graph.
  void run(const ad::Tensor<T>& x, const ad::Tensor<T>* y, std::size_t begin, std::size_t end);

  Sequential<T>& model_;
  Loss loss_;
  std::size_t batch_;
  ModelGraph<T> graph_;
};

extern template class Predictor<float>;
extern template class Predictor<double>;

}  // namespace nn
