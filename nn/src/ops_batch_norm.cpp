// The fused batch-norm operation. One node instead of the ~10 a composition of engine operations
// needs (mean, sub, square, mean, add, sqrt, div, mul, add): one pass forward, two backward, and
// only x̂ and 1/√(σ²+ε) kept for backward.
#include <cmath>

#include <fmt/format.h>

#include "nn/ops.hpp"

namespace nn {
namespace {

using ad::Node;
using ad::Tape;
using ad::Tensor;

// saved[0] = x̂ (n, m), saved[1] = 1/√(σ² + ε) (n, 1). iattr[0] = training.
template <class T>
struct BatchNorm {
  static void check(const Tape<T>& t, const Node<T>& n) {
    const auto Z = ad::shape_of(t.value(n.parents[0]));
    for (int k = 1; k <= 2; ++k) {
      const auto p = ad::shape_of(t.value(n.parents[k]));
      if (p != ad::Shape{Z[0], 1})
        throw ad::ShapeError(fmt::format("batch_norm: {} is {} but {} is {}: it must be ({}, 1) (at {})",
                                         t.describe(n.parents[0]), ad::to_string(Z), t.describe(n.parents[k]),
                                         ad::to_string(p), Z[0], ad::format_site(n.where)));
    }
    // One example has variance 0: every output would be β and dZ exactly 0, silently.
    if (n.iattr[0] && Z[1] < 2)
      throw ad::ShapeError(fmt::format("batch_norm {}: training mode needs at least 2 examples (columns) for "
                                       "mini-batch statistics, but {} is {} (at {})",
                                       t.describe(n.parents[1]), t.describe(n.parents[0]), ad::to_string(Z),
                                       ad::format_site(n.where)));
    auto* s = static_cast<const BatchNormState<T>*>(n.state);
    if (ad::shape_of(s->running_mean) != ad::Shape{Z[0], 1} || ad::shape_of(s->running_var) != ad::Shape{Z[0], 1})
      throw ad::ShapeError(fmt::format("batch_norm: running statistics are {} but {} has {} units (at {})",
                                       ad::to_string(ad::shape_of(s->running_mean)), t.describe(n.parents[0]), Z[0],
                                       ad::format_site(n.where)));
  }

  // The processes' statistics are summed when the layer is synchronized, in training, unfrozen.
  static BatchNormSync<T>* synchronized(const Tape<T>& t, const Node<T>& n) {
    auto* s = static_cast<const BatchNormState<T>*>(n.state);
    return n.iattr[0] && !t.frozen() ? s->sync : nullptr;
  }

  // Whole-batch statistics in scratch (2R + 1, 1): rows [0, R) the means, rows [R, 2R) Σ (z − μ)²,
  // row 2R the example count (returned; backward reads it); two passes, as one process does.
  static T global_statistics(Node<T>& n, const Tensor<T>& Z, BatchNormSync<T>& sync) {
    const std::size_t R = Z.shape()[0], C = Z.shape()[1];
    ad::ensure_shape(n.scratch, {2 * R + 1, 1});
    T* s = n.scratch.data();
    for (std::size_t i = 0; i < R; ++i) {
      const T* z = Z.data() + i * C;
      T acc = 0;
      for (std::size_t j = 0; j < C; ++j) acc += z[j];
      s[i] = acc;
    }
    s[R] = T(C);
    sync.sum(std::span(s, R + 1));
    const T count = s[2 * R] = s[R];
    for (std::size_t i = 0; i < R; ++i) {
      const T* z = Z.data() + i * C;
      const T mu = s[i] / count;
      T sq = 0;
      for (std::size_t j = 0; j < C; ++j) sq += (z[j] - mu) * (z[j] - mu);
      s[i] = mu;
      s[R + i] = sq;
    }
    sync.sum(std::span(s + R, R));
    return count;
  }

  static void forward(Tape<T>& t, Node<T>& n) {
    check(t, n);
    const Tensor<T>& Z = t.value(n.parents[0]);
    const T* gamma = t.value(n.parents[1]).data();
    const T* beta = t.value(n.parents[2]).data();
    auto& s = *static_cast<BatchNormState<T>*>(n.state);
    const std::size_t R = Z.shape()[0], C = Z.shape()[1];
    const bool training = n.iattr[0];
    if (n.saved.size() != 2) n.saved.resize(2);
    ad::ensure_shape(n.saved[0], {R, C});
    ad::ensure_shape(n.saved[1], {R, 1});
    ad::ensure_shape(n.value, {R, C});
    BatchNormSync<T>* sync = synchronized(t, n);
    T count = T(C);  // the examples the statistics are over
    if (sync) count = global_statistics(n, Z, *sync);
    const bool update = training && !t.frozen() && count > T(1);
    const T eps = T(s.epsilon), mom = T(s.momentum);
    for (std::size_t i = 0; i < R; ++i) {
      const T* z = Z.data() + i * C;
      T mu, var;
      if (training) {
        T sq = 0;
        if (sync) {
          mu = n.scratch(i, 0);
          sq = n.scratch(R + i, 0);
        } else {
          T acc = 0;
          for (std::size_t j = 0; j < C; ++j) acc += z[j];
          mu = acc / T(C);
          for (std::size_t j = 0; j < C; ++j) sq += (z[j] - mu) * (z[j] - mu);
        }
        var = sq / count;
        if (update) {
          s.running_mean(i, 0) = mom * s.running_mean(i, 0) + (T(1) - mom) * mu;
          s.running_var(i, 0) = mom * s.running_var(i, 0) + (T(1) - mom) * sq / (count - T(1));
        }
      } else {
        mu = s.running_mean(i, 0);
        var = s.running_var(i, 0);
      }
      const T inv = T(1) / std::sqrt(var + eps);
      n.saved[1](i, 0) = inv;
      T* xhat = n.saved[0].data() + i * C;
      T* y = n.value.data() + i * C;
      const T g = gamma[i], b = beta[i];
      for (std::size_t j = 0; j < C; ++j) {
        xhat[j] = (z[j] - mu) * inv;
        y[j] = g * xhat[j] + b;
      }
    }
  }

  // With dx̂ = dY·γ: training dZ = (1/√(σ²+ε)) · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)) (μ and σ² depend
  // on Z); evaluation dZ = dx̂ / √(σ²+ε) (they are constants). dγ = Σ dY ⊙ x̂, dβ = Σ dY over columns.
  static void backward(Tape<T>& t, Node<T>& n) {
    const std::uint32_t pz = n.parents[0], pg = n.parents[1], pb = n.parents[2];
    const Tensor<T>& G = n.grad;
    const Tensor<T>& X = n.saved[0];
    const std::size_t R = G.shape()[0], C = G.shape()[1];
    const T* gamma = t.value(pg).data();
    const bool training = n.iattr[0];
    // dγ and dβ: one row sum each. A sink is taken once per parent (its `first` flag is per sweep).
    if (t.needs_grad(pg)) {
      auto sg = t.sink(pg);
      for (std::size_t i = 0; i < R; ++i) {
        const T* g = G.data() + i * C;
        const T* x = X.data() + i * C;
        T acc = 0;
        for (std::size_t j = 0; j < C; ++j) acc += g[j] * x[j];
        sg.grad(i, 0) = sg.first ? acc : sg.grad(i, 0) + acc;
      }
    }
    if (t.needs_grad(pb)) {
      auto sb = t.sink(pb);
      for (std::size_t i = 0; i < R; ++i) {
        const T* g = G.data() + i * C;
        T acc = 0;
        for (std::size_t j = 0; j < C; ++j) acc += g[j];
        sb.grad(i, 0) = sb.first ? acc : sb.grad(i, 0) + acc;
      }
    }
    if (!t.needs_grad(pz)) return;
    // Synchronized: the two means are over every process's columns, summed at the scale of the
    // whole batch (this process's G is the global one / w), and this process's dZ is again / w.
    BatchNormSync<T>* sync = synchronized(t, n);
    T count = T(C), unscale = T(1);
    if (sync) {
      const T w = T(sync->weight());
      T* s = n.scratch.data();  // rows [0, R) and [R, 2R); row 2R keeps forward's count
      for (std::size_t i = 0; i < R; ++i) {
        const T* g = G.data() + i * C;
        const T* x = X.data() + i * C;
        T a = 0, b = 0;
        for (std::size_t j = 0; j < C; ++j) {
          a += g[j];
          b += g[j] * x[j];
        }
        s[i] = w * a;
        s[R + i] = w * b;
      }
      sync->sum(std::span(s, 2 * R));
      count = s[2 * R];
      unscale = T(1) / w;
    }
    auto sz = t.sink(pz);
    for (std::size_t i = 0; i < R; ++i) {
      const T* g = G.data() + i * C;
      const T* x = X.data() + i * C;
      T* d = sz.grad.data() + i * C;
      const T inv = n.saved[1](i, 0), gi = gamma[i];
      T a = 0, b = 0;  // mean(dx̂) and mean(dx̂ ⊙ x̂)
      if (sync) {
        a = n.scratch(i, 0) * gi / count * unscale;
        b = n.scratch(R + i, 0) * gi / count * unscale;
      } else if (training) {
        for (std::size_t j = 0; j < C; ++j) {
          a += g[j];
          b += g[j] * x[j];
        }
        a = a * gi / T(C);
        b = b * gi / T(C);
      }
      const T k = gi * inv;
      if (sz.first)
        for (std::size_t j = 0; j < C; ++j) d[j] = k * g[j] - inv * (a + x[j] * b);
      else
        for (std::size_t j = 0; j < C; ++j) d[j] += k * g[j] - inv * (a + x[j] * b);
    }
  }
  static constexpr ad::OpDef<T> def{"batch_norm", forward, backward};
};

}  // namespace

template <class T>
ad::Var<T> batch_norm(ad::Var<T> Z, ad::Var<T> gamma, ad::Var<T> beta, BatchNormState<T>& state, bool training,
                      std::source_location where) {
  ad::Tape<T>& tape = Z.tape();
  tape.check_owns(gamma, "batch_norm");
  tape.check_owns(beta, "batch_norm");
  const auto index = tape.record(BatchNorm<T>::def, {Z.index(), gamma.index(), beta.index()}, where, 0, 0,
                                 training ? 1 : 0, 0, 0, &state);
  return ad::Var<T>(&tape, index);
}

template ad::Var<float> batch_norm(ad::Var<float>, ad::Var<float>, ad::Var<float>, BatchNormState<float>&, bool,
                                   std::source_location);
template ad::Var<double> batch_norm(ad::Var<double>, ad::Var<double>, ad::Var<double>, BatchNormState<double>&, bool,
                                    std::source_location);

}  // namespace nn
