#include "nn/graph.hpp"

#include <fmt/format.h>

#include "nn/errors.hpp"
#include "nn/layers.hpp"

namespace nn {

template <class T>
bool ModelGraph<T>::fits(std::size_t features, std::size_t outputs) const {
  return tape && X.value().shape()[1] == features && Y.value().shape()[0] == outputs;
}

template <class T>
ModelGraph<T> record_graph(Sequential<T>& model, const GraphSpec& spec) {
  std::optional<ad::NoGrad> no_grad;
  if (!spec.gradients) no_grad.emplace();
  ModelGraph<T> g;
  g.tape = std::make_unique<ad::Tape<T>>();
  g.tape->seed(spec.seed);
  g.tape->set_frozen(true);
  g.X = g.tape->input("X", xt::zeros<T>({spec.batch, spec.features}));
  g.Y = g.tape->input("Y", xt::zeros<T>({spec.outputs, spec.batch}));
  g.output = model.forward(*g.tape, g.X, spec.mode, Layout::rows, &g.layer_outputs);
  if (g.output.rows() != spec.outputs)
    throw DataError(fmt::format("{}: the model outputs {} values per example but the targets have {}", spec.who,
                                g.output.rows(), spec.outputs));
  if (spec.probabilities) g.probabilities = predictions(spec.loss, g.output);
  g.J = spec.mode == Mode::train ? cost(spec.loss, g.output, g.Y, model.weights(), spec.l2) : loss(spec.loss, g.output, g.Y);
  g.J.named("J");
  g.tape->set_frozen(false);
  return g;
}

template <class T>
void check_output_activation(const Sequential<T>& model, Loss loss, const char* who) {
  if (model.size() == 0 || loss == Loss::mean_squared_error) return;
  auto& last = model.layer(model.size() - 1);
  Activation a = Activation::linear;
  std::string where = "the model";
  if (last.kind() == LayerKind::activation) {
    a = static_cast<ActivationLayer<T>&>(last).activation();
  } else if (last.kind() == LayerKind::dense) {
    a = static_cast<const Dense<T>&>(last).activation();
    std::size_t l = 0;
    for (std::size_t i = 0; i < model.size(); ++i) l += model.layer(i).kind() == LayerKind::dense;
    where = fmt::format("the model's last Dense layer (W[{}])", l);
  }
  if (a == Activation::softmax || a == Activation::sigmoid)
    throw ConfigError(fmt::format("{}: {} ends with {} but {} takes logits (it applies {} itself): "
                                  "remove the last activation",
                                  who, where, to_string(a), to_string(loss), to_string(a)));
}

template struct ModelGraph<float>;
template struct ModelGraph<double>;
template ModelGraph<float> record_graph(Sequential<float>&, const GraphSpec&);
template ModelGraph<double> record_graph(Sequential<double>&, const GraphSpec&);
template void check_output_activation(const Sequential<float>&, Loss, const char*);
template void check_output_activation(const Sequential<double>&, Loss, const char*);

}  // namespace nn
