#include <fmt/format.h>

#include "nn/errors.hpp"
#include "nn/layers.hpp"

namespace nn {

template <class T>
Dense<T>::Dense(std::size_t units, Activation activation, Init init, std::size_t inputs, double leaky_slope)
    : units_(units), inputs_(inputs), activation_(activation), init_(init), slope_(leaky_slope) {
  if (units == 0) throw ConfigError("Dense: a layer needs at least one unit");
  init_.validate();
}

template <class T>
void Dense<T>::set_bias(bool on) {
  if (built() && on != bias_)
    throw ConfigError(fmt::format("Dense {}: cannot change the bias of a built layer", W_->name));
  bias_ = on;
}

template <class T>
ad::Parameter<T>& Dense<T>::b() {
  if (!b_) throw ConfigError(fmt::format("Dense{}: this layer has no bias (it is followed by BatchNorm, or not built)",
                                         W_ ? " " + W_->name : ""));
  return *b_;
}

template <class T>
std::size_t Dense<T>::build(std::size_t n_in, int index, std::uint64_t seed) {
  if (inputs_ != 0 && inputs_ != n_in)
    throw ConfigError(fmt::format("Dense W[{}]: declared with {} inputs but the layer before gives {}", index,
                                  inputs_, n_in));
  if (built()) {
    if (W_->value.shape()[1] != n_in)
      throw ConfigError(fmt::format("Dense {}: built for {} inputs, now given {}", W_->name, W_->value.shape()[1], n_in));
    return units_;
  }
  inputs_ = n_in;
  const std::string w_name = fmt::format("W[{}]", index);
  W_ = std::make_unique<ad::Parameter<T>>(w_name, ad::Tensor<T>(xt::zeros<T>({units_, n_in})));
  auto rng = rng_for(seed, w_name);
  initialize(W_->value, init_, rng);
  if (bias_)
    b_ = std::make_unique<ad::Parameter<T>>(fmt::format("b[{}]", index),
                                            ad::Tensor<T>(xt::zeros<T>({units_, std::size_t(1)})));
  return units_;
}

template <class T>
ad::Var<T> Dense<T>::apply(ad::Tape<T>& tape, ad::Var<T> A, Mode, Layout& layout) {
  if (!built()) throw ConfigError("Dense: apply before build (call Sequential::build or record through the model)");
  const bool rows = layout == Layout::rows;
  layout = Layout::columns;
  auto W = tape.parameter(*W_);
  if (!b_) return activate(ad::matmul(W, A, false, rows), activation_, slope_);
  auto b = tape.parameter(*b_);
  if (activation_ != Activation::softmax)  // the engine's linear kernel fuses all the others
    return rows ? ad::linear_rows(W, A, b, activation_, slope_) : ad::linear(W, A, b, activation_, slope_);
  auto Z = rows ? ad::linear_rows(W, A, b) : ad::linear(W, A, b);
  return activate(Z, activation_, slope_);
}

template <class T>
std::vector<ad::Parameter<T>*> Dense<T>::parameters() {
  std::vector<ad::Parameter<T>*> out;
  if (W_) out.push_back(W_.get());
  if (b_) out.push_back(b_.get());
  return out;
}

template <class T>
std::vector<ad::Parameter<T>*> Dense<T>::weights() {
  if (W_) return {W_.get()};
  return {};
}

template <class T>
nlohmann::json Dense<T>::spec() const {
  return {{"type", to_string(kind())},
          {"units", units_},
          {"inputs", inputs_},
          {"activation", to_string(activation_)},
          {"leaky_slope", slope_},
          {"bias", bias_},
          {"init", {{"kind", to_string(init_.kind)}, {"distribution", to_string(init_.distribution)}, {"scale", init_.scale}}}};
}

template <class T>
std::string Dense<T>::describe() const {
  std::string s = fmt::format("Dense({}, {}, {} {}{})", units_, to_string(activation_), to_string(init_.kind),
                              to_string(init_.distribution), init_.scale != 1.0 ? fmt::format(" x{}", init_.scale) : "");
  if (W_) s += fmt::format("  {} ({}, {})", W_->name, W_->value.shape()[0], W_->value.shape()[1]);
  if (b_) s += fmt::format("  {} ({}, 1)", b_->name, b_->value.shape()[0]);
  return s;
}

template class Dense<float>;
template class Dense<double>;

}  // namespace nn
