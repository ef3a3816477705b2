#include <fmt/format.h>

#include "nn/errors.hpp"
#include "nn/layers.hpp"

namespace nn {

const char* to_string(LayerKind k) {
  switch (k) {
    case LayerKind::dense: return "dense";
    case LayerKind::activation: return "activation";
    case LayerKind::dropout: return "dropout";
    case LayerKind::batch_norm: return "batch_norm";
  }
  return "?";
}

Activation activation_from_string(const std::string& s) {
  for (auto a : {Activation::linear, Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::sigmoid,
                 Activation::softmax})
    if (s == ad::to_string(a)) return a;
  throw ConfigError("activation: unknown '" + s + "' (linear, relu, leaky_relu, tanh, sigmoid, softmax)");
}

template <class T>
ad::Var<T> activate(ad::Var<T> Z, Activation a, double slope) {
  switch (a) {
    case Activation::linear: return Z;
    case Activation::relu: return ad::relu(Z);
    case Activation::leaky_relu: return ad::leaky_relu(Z, slope);
    case Activation::tanh: return ad::tanh(Z);
    case Activation::sigmoid: return ad::sigmoid(Z);
    case Activation::softmax: return ad::softmax(Z, 0);
  }
  return Z;
}

template <class T>
ad::Var<T> ActivationLayer<T>::apply(ad::Tape<T>&, ad::Var<T> A, Mode, Layout& layout) {
  // Elementwise functions keep the layout; softmax runs over a column's classes, so it needs (n, m).
  if (activation_ == Activation::softmax) A = to_columns(A, layout);
  return activate(A, activation_, slope_);
}

template <class T>
nlohmann::json ActivationLayer<T>::spec() const {
  return {{"type", to_string(kind())}, {"activation", ad::to_string(activation_)}, {"leaky_slope", slope_}};
}

template <class T>
std::string ActivationLayer<T>::describe() const {
  return fmt::format("Activation({})", ad::to_string(activation_));
}

template ad::Var<float> activate(ad::Var<float>, Activation, double);
template ad::Var<double> activate(ad::Var<double>, Activation, double);
template class ActivationLayer<float>;
template class ActivationLayer<double>;

}  // namespace nn
