#include "nn/inspect.hpp"

#include <cmath>

#include <fmt/format.h>
#include <xtensor/xmanipulation.hpp>

#include "nn/errors.hpp"
#include "nn/layers.hpp"

namespace nn {

template <class T>
TensorStats stats_of(const ad::Tensor<T>& t) {
  TensorStats s;
  if (t.size() == 0) return s;
  double sum = 0, squares = 0;
  for (T v : t) sum += double(v), squares += double(v) * double(v);
  s.mean = sum / double(t.size());
  double spread = 0;
  for (T v : t) spread += (double(v) - s.mean) * (double(v) - s.mean);
  s.std = std::sqrt(spread / double(t.size()));
  s.norm = std::sqrt(squares);
  return s;
}

namespace {

// A value of the graph in the course's (n, m) layout: X is recorded one example per row.
template <class T>
ad::Tensor<T> as_columns(const ModelGraph<T>& g, ad::Var<T> v) {
  const auto& value = g.tape->value(v.index());
  if (v.index() == g.X.index()) return xt::transpose(value);
  return value;
}

}  // namespace

template <class T>
Inspector<T>::Inspector(const Sequential<T>& model, const ModelGraph<T>& g) {
  if (!g.tape || g.layer_outputs.size() != model.size())
    throw ConfigError("Inspector: the graph was not recorded from this model (record_graph)");
  A0_ = as_columns(g, g.X);
  ad::Var<T> in = g.X;      // what the current Dense layer takes
  Dense<T>* dense = nullptr;
  ad::Var<T> z_node;        // the node holding Z[l] when it is on the tape
  auto close = [&](ad::Var<T> last) {
    Layer L;
    L.A = g.tape->value(last.index());
    L.dA = g.tape->grad(last.index());
    L.dW = dense->W().grad;
    L.has_bias = dense->has_bias();
    if (L.has_bias) L.db = dense->b().grad;
    if (dense->activation() == Activation::linear) {
      L.Z = g.tape->value(z_node.index());
    } else {  // fused into the kernel: Z = W·A[l−1] + b from the values the forward used
      const ad::Tensor<T> A_prev = as_columns(g, in);
      const auto& W = dense->W().value;
      ad::Tensor<T> Z = xt::zeros<T>({W.shape()[0], A_prev.shape()[1]});
      for (std::size_t i = 0; i < W.shape()[0]; ++i)
        for (std::size_t j = 0; j < A_prev.shape()[1]; ++j) {
          double s = L.has_bias ? double(dense->b().value(i, 0)) : 0.0;
          for (std::size_t k = 0; k < W.shape()[1]; ++k) s += double(W(i, k)) * double(A_prev(k, j));
          Z(i, j) = T(s);
        }
      L.Z = std::move(Z);
    }
    layers_.push_back(std::move(L));
  };
  ad::Var<T> previous = g.X, last;
  for (std::size_t i = 0; i < model.size(); ++i) {
    auto& layer = model.layer(i);
    const auto out = g.layer_outputs[i];
    if (layer.kind() == LayerKind::dense) {
      if (dense) close(last);
      dense = static_cast<Dense<T>*>(&layer);
      in = previous;
      z_node = out;
    } else if (layer.kind() == LayerKind::batch_norm && dense && z_node.index() == last.index()) {
      z_node = out;  // z̃ directly after the Dense layer
    }
    last = previous = out;
  }
  if (!dense) throw ConfigError("Inspector: the model has no Dense layer (layers are numbered by Dense)");
  close(last);
}

template <class T>
const typename Inspector<T>::Layer& Inspector<T>::at(std::size_t l, const char* what) const {
  if (l < 1 || l > layers_.size())
    throw ConfigError(fmt::format("Inspector::{}({}): layers are numbered l = 1..{} (the course's; A(0) is X)", what, l,
                                  layers_.size()));
  return layers_[l - 1];
}

template <class T>
const ad::Tensor<T>& Inspector<T>::A(std::size_t l) const {
  return l == 0 ? A0_ : at(l, "A").A;
}
template <class T>
const ad::Tensor<T>& Inspector<T>::Z(std::size_t l) const {
  return at(l, "Z").Z;
}
template <class T>
const ad::Tensor<T>& Inspector<T>::dA(std::size_t l) const {
  return at(l, "dA").dA;
}
template <class T>
const ad::Tensor<T>& Inspector<T>::dW(std::size_t l) const {
  return at(l, "dW").dW;
}
template <class T>
const ad::Tensor<T>& Inspector<T>::db(std::size_t l) const {
  const auto& L = at(l, "db");
  if (!L.has_bias)
    throw ConfigError(fmt::format("Inspector::db({}): layer {} has no bias (BatchNorm's beta[{}] follows it)", l, l, l));
  return L.db;
}

template <class T>
LayerStats Inspector<T>::stats(std::size_t l) const {
  const auto& L = at(l, "stats");
  return {l, stats_of(L.A), stats_of(L.Z), stats_of(L.dW), stats_of(L.db)};
}

template <class T>
std::vector<LayerStats> Inspector<T>::stats() const {
  std::vector<LayerStats> out;
  for (std::size_t l = 1; l <= layers_.size(); ++l) out.push_back(stats(l));
  return out;
}

template TensorStats stats_of(const ad::Tensor<float>&);
template TensorStats stats_of(const ad::Tensor<double>&);
template class Inspector<float>;
template class Inspector<double>;

}  // namespace nn
