// The fused batch-norm operation. One node instead of the ~10 a composition of engine operations
// needs (mean, sub, square, mean, add, sqrt, div, mul, add): one pass forward, two backward, and
// only x̂ and 1/√(σ²+ε) kept for backward.
#include <cmath>
#include <span>

#include <fmt/format.h>

#include <autodiff/operation_kit.hpp>

#include "nn/errors.hpp"
#include "nn/ops.hpp"

namespace nn {
namespace {

using ad::Node;
using ad::Tape;
using ad::Tensor;
using namespace ad::kit;

template <class T>
struct BatchNormAttrs {
  BatchNormState<T>* state;  // the layer's running statistics, updated by training forwards
  bool training;
};

// Keeps x̂ (n, m) and 1/√(σ² + ε) (n, 1) for backward.
template <class T>
struct BatchNormOp {
  using Attrs = BatchNormAttrs<T>;
  static Tensor<T>& xhat(Node<T>& n) { return n.saved[0]; }
  static Tensor<T>& inv_std(Node<T>& n) { return n.saved[1]; }
  // Synchronized only: the whole batch's statistics (2R + 1, 1), rows [0, R) the means, [R, 2R)
  // Σ (z − μ)², row 2R the example count; backward reuses rows [0, 2R) for its own two sums.
  static Tensor<T>& global_stats(Node<T>& n) { return n.saved[2]; }

  static void check(const Tape<T>& t, const Node<T>& n) {
    const auto Z = ad::shape_of(t.value(n.parents[0]));
    for (int k = 1; k <= 2; ++k) {
      const auto p = ad::shape_of(t.value(n.parents[k]));
      if (p != ad::Shape{Z[0], 1})
        throw ad::ShapeError(fmt::format("batch_norm: {} but {}: it must be ({}, 1){}", operand_text(t, n.parents[0]),
                                         operand_text(t, n.parents[k]), Z[0], site(n)));
    }
    // One example has variance 0: every output would be β and dZ exactly 0, silently.
    if (attrs<Attrs>(n).training && Z[1] < 2)
      throw ad::ShapeError(
          fmt::format("batch_norm {}: training mode needs at least 2 examples (columns) for "
                      "mini-batch statistics, but {}{}",
                      t.describe(n.parents[1]), operand_text(t, n.parents[0]), site(n)));
    const BatchNormState<T>* s = attrs<Attrs>(n).state;
    if (ad::shape_of(s->running_mean) != ad::Shape{Z[0], 1} || ad::shape_of(s->running_var) != ad::Shape{Z[0], 1})
      throw ad::ShapeError(fmt::format("batch_norm: running statistics are {} but {} has {} units{}",
                                       ad::to_string(ad::shape_of(s->running_mean)), t.describe(n.parents[0]), Z[0],
                                       site(n)));
  }

  // The processes' statistics are summed when the layer is synchronized, in training, unfrozen.
  static BatchNormSync<T>* synchronized(const Tape<T>& t, const Node<T>& n) {
    const Attrs& a = attrs<Attrs>(n);
    return a.training && !t.frozen() ? a.state->sync : nullptr;
  }

  // Fills global_stats(n) with two sums over the processes, as one process computes them (two
  // passes); returns the whole batch's example count.
  static T global_statistics(Node<T>& n, const Tensor<T>& Z, BatchNormSync<T>& sync) {
    const std::size_t R = Z.shape()[0], C = Z.shape()[1];
    ad::ensure_shape(global_stats(n), {2 * R + 1, 1});
    T* s = global_stats(n).data();
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
    BatchNormState<T>& s = *attrs<Attrs>(n).state;
    const std::size_t R = Z.shape()[0], C = Z.shape()[1];
    const bool training = attrs<Attrs>(n).training;
    if (n.saved.size() != 3) n.saved.resize(3);  // the first forward only
    ad::ensure_shape(xhat(n), {R, C});
    ad::ensure_shape(inv_std(n), {R, 1});
    ad::ensure_shape(n.value, {R, C});
    BatchNormSync<T>* sync = synchronized(t, n);
    const T count = sync ? global_statistics(n, Z, *sync) : T(C);  // the examples the statistics are over
    const bool update = training && !t.frozen() && count > T(1);
    const T eps = T(s.epsilon), mom = T(s.momentum);
    for (std::size_t i = 0; i < R; ++i) {
      const T* z = Z.data() + i * C;
      T mu, var;
      if (training) {
        T sq = 0;
        if (sync) {
          mu = global_stats(n)(i, 0);
          sq = global_stats(n)(R + i, 0);
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
      inv_std(n)(i, 0) = inv;
      T* xh = xhat(n).data() + i * C;
      T* y = n.value.data() + i * C;
      const T g = gamma[i], b = beta[i];
      for (std::size_t j = 0; j < C; ++j) {
        xh[j] = (z[j] - mu) * inv;
        y[j] = g * xh[j] + b;
      }
    }
  }

  // With dx̂ = dY·γ: training dZ = (1/√(σ²+ε)) · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)) (μ and σ² depend
  // on Z); evaluation dZ = dx̂ / √(σ²+ε) (they are constants). dγ = Σ dY ⊙ x̂, dβ = Σ dY over columns.
  static void backward(Tape<T>& t, Node<T>& n) {
    const std::uint32_t pz = n.parents[0], pg = n.parents[1], pb = n.parents[2];
    const Tensor<T>& G = n.grad;
    const Tensor<T>& X = xhat(n);
    const std::size_t R = G.shape()[0], C = G.shape()[1];
    const T* gamma = t.value(pg).data();
    const bool training = attrs<Attrs>(n).training;
    // dγ and dβ: one row sum each.
    if (t.needs_grad(pg))
      t.sink(pg).each([&](std::size_t i) {
        const T* g = G.data() + i * C;
        const T* x = X.data() + i * C;
        T acc = 0;
        for (std::size_t j = 0; j < C; ++j) acc += g[j] * x[j];
        return acc;
      });
    if (t.needs_grad(pb)) t.sink(pb).each([&](std::size_t i) { return sum_contiguous(G.data() + i * C, C); });
    if (!t.needs_grad(pz)) return;
    // dZ(i, j) = k_i·dY(i, j) − c_i − e_i·x̂(i, j), with k = γ/√(σ²+ε), and c = a/√(σ²+ε),
    // e = b/√(σ²+ε) for a = γ·mean(dY) and b = γ·mean(dY ⊙ x̂) in training (0 in evaluation).
    // Synchronized: the two means are over every process's columns, summed at the scale of the
    // whole batch (this process's dY is the global one / w), and this process's dZ is again / w.
    BatchNormSync<T>* sync = synchronized(t, n);
    T count = T(C), unscale = T(1);
    T* sums = nullptr;
    if (sync) {
      const T w = T(sync->weight());
      sums = global_stats(n).data();  // row 2R keeps forward's count
      for (std::size_t i = 0; i < R; ++i) {
        const T* g = G.data() + i * C;
        const T* x = X.data() + i * C;
        T a = 0, b = 0;
        for (std::size_t j = 0; j < C; ++j) {
          a += g[j];
          b += g[j] * x[j];
        }
        sums[i] = w * a;
        sums[R + i] = w * b;
      }
      sync->sum(std::span(sums, 2 * R));
      count = sums[2 * R];
      unscale = T(1) / w;
    }
    ad::ensure_shape(n.scratch, {R, 3});
    T* coef = n.scratch.data();
    const T* inv = inv_std(n).data();
    for (std::size_t i = 0; i < R; ++i) {
      const T* g = G.data() + i * C;
      const T* x = X.data() + i * C;
      T a = 0, b = 0;
      if (sync) {
        a = sums[i] * gamma[i] / count * unscale;
        b = sums[R + i] * gamma[i] / count * unscale;
      } else if (training) {
        for (std::size_t j = 0; j < C; ++j) {
          a += g[j];
          b += g[j] * x[j];
        }
        a = a * gamma[i] / T(C);
        b = b * gamma[i] / T(C);
      }
      coef[3 * i] = gamma[i] * inv[i];
      coef[3 * i + 1] = inv[i] * a;
      coef[3 * i + 2] = inv[i] * b;
    }
    const T* g = G.data();
    const T* x = X.data();
    t.sink(pz).each_2d([=](std::size_t i, std::size_t j) {
      return coef[3 * i] * g[i * C + j] - coef[3 * i + 1] - coef[3 * i + 2] * x[i * C + j];
    });
  }
  static constexpr ad::OpDef<T> def{"batch_norm", forward, backward};
};

}  // namespace

template <class T>
ad::Var<T> batch_norm(ad::Var<T> Z, ad::Var<T> gamma, ad::Var<T> beta, BatchNormState<T>& state, bool training,
                      std::source_location where) {
  if (!(state.epsilon > 0))
    throw ConfigError(fmt::format("batch_norm: epsilon must be > 0, got {}{}", state.epsilon, ad::site_suffix(where)));
  if (!(state.momentum >= 0 && state.momentum < 1))
    throw ConfigError(
        fmt::format("batch_norm: momentum must be in [0, 1), got {}{}", state.momentum, ad::site_suffix(where)));
  ad::Tape<T>& tape = common_tape("batch_norm", {Z, gamma, beta});
  return as_var(tape, tape.record(BatchNormOp<T>::def, {Z.index(), gamma.index(), beta.index()}, where,
                                  BatchNormAttrs<T>{.state = &state, .training = training}));
}

template ad::Var<float> batch_norm(ad::Var<float>, ad::Var<float>, ad::Var<float>, BatchNormState<float>&, bool,
                                   std::source_location);
template ad::Var<double> batch_norm(ad::Var<double>, ad::Var<double>, ad::Var<double>, BatchNormState<double>&, bool,
                                    std::source_location);

}  // namespace nn
