// The one way nn records a model's graph for training, evaluation or gradient checking: inputs X
// (m, n_x) one example per row and Y (n_y, m), the model's output, the cost, and the output of
// each layer (what nn::Inspector reads). Recorded once on placeholder zeros, then replayed with
// each batch written into X and Y (ad::Tape::input_buffer).
#pragma once

#include <memory>
#include <vector>

#include "nn/loss.hpp"
#include "nn/sequential.hpp"

namespace nn {

struct GraphSpec {
  Loss loss = Loss::softmax_cross_entropy;
  Mode mode = Mode::train;
  std::size_t batch = 1, features = 0, outputs = 0;  // the placeholder inputs' shape
  double l2 = 0;                   // λ of the cost's L2 term (0: the loss alone)
  std::uint64_t seed = 0;          // the tape's seed (dropout masks)
  bool gradients = true;           // false: recorded under ad::NoGrad (evaluation)
  bool probabilities = false;      // also record predictions(loss, output)
  const char* who = "Trainer";     // names the caller in errors
};

template <class T>
struct ModelGraph {
  std::unique_ptr<ad::Tape<T>> tape;
  ad::Var<T> X, Y, output, J, probabilities;  // probabilities: only when asked for
  std::vector<ad::Var<T>> layer_outputs;      // layer_outputs[i]: the output of model.layer(i)

  bool fits(std::size_t features, std::size_t outputs) const;
};

// Records `model` for `spec` on a new tape (frozen while recording, so that the placeholder
// forward moves no batch-norm statistics). Throws DataError (naming spec.who) when the model's
// output size differs from spec.outputs.
template <class T>
ModelGraph<T> record_graph(Sequential<T>& model, const GraphSpec& spec);

// Refuses (ConfigError naming `who`) a model whose last layer applies softmax or σ before a loss
// that takes logits: it would be applied twice.
template <class T>
void check_output_activation(const Sequential<T>& model, Loss loss, const char* who = "Trainer");

}  // namespace nn
