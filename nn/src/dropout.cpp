#include <fmt/format.h>

#include "nn/errors.hpp"
#include "nn/layers.hpp"

namespace nn {

template <class T>
Dropout<T>::Dropout(double keep_prob) : keep_prob_(keep_prob) {
  if (!(keep_prob > 0 && keep_prob <= 1))
    throw ConfigError(fmt::format("Dropout: keep_prob must be in (0, 1], got {}", keep_prob));
}

template <class T>
ad::Var<T> Dropout<T>::apply(ad::Tape<T>&, ad::Var<T> A, Mode mode, Layout&) {
  // Inverted dropout needs no rescaling at evaluation: the identity records nothing.
  if (mode == Mode::eval || keep_prob_ == 1.0) return A;
  return ad::dropout(A, keep_prob_);
}

template <class T>
nlohmann::json Dropout<T>::spec() const {
  return {{"type", to_string(kind())}, {"keep_prob", keep_prob_}};
}

template <class T>
std::string Dropout<T>::describe() const {
  return fmt::format("Dropout(keep_prob={})", keep_prob_);
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace nn
