// The layer interface of a Sequential model. Layers are composed at run time (no nested template
// types); each owns its parameters at stable addresses (heap-allocated), so tapes, optimizers and
// checkpoints can refer to them, and names them the course's way: W[l], b[l], gamma[l], beta[l].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <autodiff/autodiff.hpp>

namespace nn {

// Training: mini-batch statistics for batch norm, dropout on. Evaluation: running statistics,
// dropout off (an identity: nothing is recorded).
enum class Mode { train, eval };

// How a batch is laid out: the course's (n, m), one example per column, or (m, n), one example per
// row (a mini-batch gathered from an example-major data set; the first Dense layer takes it
// through a BLAS transpose flag instead of a transposition).
enum class Layout { columns, rows };

// A named tensor a layer keeps that is not a parameter (batch norm's running statistics): saved in
// checkpoints, never trained.
template <class T>
struct Buffer {
  std::string name;
  ad::Tensor<T>* value;
};

// The engine's activation functions (one enum for the whole stack, ad::to_string names them). Dense
// fuses all but softmax into its kernel; softmax is over each column (the classes of one example).
using ad::Activation;
Activation activation_from_string(const std::string& s);  // throws ConfigError

// What a layer is, for the code that treats kinds differently (Sequential's bias rule, the
// trainer's output check); its name is the "type" of its spec in checkpoints.
enum class LayerKind { dense, activation, dropout, batch_norm };
const char* to_string(LayerKind k);

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;

  virtual LayerKind kind() const = 0;
  // Creates and initializes the parameters for inputs of n_in features and returns the output
  // size. `index` is the course's layer number l used in names; `seed` drives initializers.
  virtual std::size_t build(std::size_t n_in, int index, std::uint64_t seed) = 0;
  virtual bool built() const = 0;
  // Records the layer on A's tape. `layout` is A's layout on entry and the result's on return.
  virtual ad::Var<T> apply(ad::Tape<T>& tape, ad::Var<T> A, Mode mode, Layout& layout) = 0;

  virtual std::vector<ad::Parameter<T>*> parameters() { return {}; }
  // The parameters L2 regularization applies to (the weights W[l], not biases or γ, β).
  virtual std::vector<ad::Parameter<T>*> weights() { return {}; }
  virtual std::vector<Buffer<T>> buffers() { return {}; }

  // The hyperparameters that rebuild this layer (checkpoints, conversions between float and double).
  virtual nlohmann::json spec() const = 0;
  // One line for a model summary: "Dense(256, relu)  W[1] (256, 784)  b[1] (256, 1)".
  virtual std::string describe() const = 0;
};

// Records a transposition when A is example-major, so that the result is (n, m).
template <class T>
ad::Var<T> to_columns(ad::Var<T> A, Layout& layout) {
  if (layout == Layout::rows) {
    layout = Layout::columns;
    return ad::transpose(A);
  }
  return A;
}

}  // namespace nn
