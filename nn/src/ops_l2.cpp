// The L2 regularization term λ/(2m) Σ‖W[l]‖²_F as one node. m is read from the batch's column
// count at every forward: a term recorded with λ/(2m) as a constant would be wrong for the last,
// partial mini-batch of a replayed tape.
#include <fmt/format.h>

#include <autodiff/operation_kit.hpp>

#include "nn/errors.hpp"
#include "nn/ops.hpp"

namespace nn {
namespace {

using ad::Node;
using ad::Tape;
using namespace ad::kit;

struct L2Attrs {
  double lambda;
};

// parents = {batch, W[1], W[2], ...}.
template <class T>
struct L2PenaltyOp {
  static T per_example(const Tape<T>& t, const Node<T>& n) {
    return T(attrs<L2Attrs>(n).lambda) / T(std::max<std::size_t>(t.value(n.parents[0]).shape()[1], 1));
  }
  static void forward(Tape<T>& t, Node<T>& n) {
    T total = 0;
    for (std::size_t k = 1; k < n.parents.size(); ++k)
      for (T w : t.value(n.parents[k])) total += w * w;
    ad::ensure_shape(n.value, {1, 1});
    n.value(0, 0) = T(0.5) * per_example(t, n) * total;
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const T scale = n.grad(0, 0) * per_example(t, n);
    for (std::size_t k = 1; k < n.parents.size(); ++k) {
      const auto p = n.parents[k];
      if (!t.needs_grad(p)) continue;
      const T* w = t.value(p).data();
      t.sink(p).each([=](std::size_t i) { return scale * w[i]; });
    }
  }
  static constexpr ad::OpDef<T> def{"l2_penalty", forward, backward};
};

}  // namespace

template <class T>
ad::Var<T> l2_penalty(const std::vector<ad::Var<T>>& weights, ad::Var<T> batch, double lambda,
                      std::source_location where) {
  if (!(lambda >= 0))
    throw ConfigError(fmt::format("l2_penalty: lambda must be >= 0, got {}{}", lambda, ad::site_suffix(where)));
  std::vector<ad::Var<T>> operands{batch};
  operands.insert(operands.end(), weights.begin(), weights.end());
  ad::Tape<T>& tape = common_tape("l2_penalty", operands);
  std::vector<std::uint32_t> parents;
  for (const auto& v : operands) parents.push_back(v.index());
  return as_var(tape, tape.record(L2PenaltyOp<T>::def, std::move(parents), where, L2Attrs{lambda}));
}

template ad::Var<float> l2_penalty(const std::vector<ad::Var<float>>&, ad::Var<float>, double, std::source_location);
template ad::Var<double> l2_penalty(const std::vector<ad::Var<double>>&, ad::Var<double>, double, std::source_location);

}  // namespace nn
