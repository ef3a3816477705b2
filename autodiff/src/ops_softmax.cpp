// softmax and log_softmax along an axis, and the fused losses softmax_cross_entropy and
// sigmoid_cross_entropy. All subtract the maximum (or use log1p(exp(−|z|))) so that large logits
// neither overflow nor lose the gradient.
#include <cmath>
#include <limits>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "kernels.hpp"

namespace ad {
namespace {
using namespace detail;

// A matrix seen as segments along an axis: axis 0 makes each column a segment (the course's
// class scores of one example), axis 1 each row. Element k of segment s is at s·seg + k·step.
struct Segments {
  std::size_t count, length, seg, step;
  Segments(const Shape& s, int axis)
      : count(axis == 0 ? s[1] : s[0]),
        length(axis == 0 ? s[0] : s[1]),
        seg(axis == 0 ? 1 : s[1]),
        step(axis == 0 ? s[1] : 1) {}
  std::size_t at(std::size_t s, std::size_t k) const { return s * seg + k * step; }
};

// The maximum of segment s.
template <class T>
T segment_max(const T* x, const Segments& g, std::size_t s) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t k = 0; k < g.length; ++k) m = std::max(m, x[g.at(s, k)]);
  return m;
}

// y[s] = (x[s] − max) − log Σ exp(x[s] − max) for every segment. Subtracting the maximum before
// the log sum (not x − (max + log Σ)) keeps float's digits: at logits of 1000, max + log 2 rounds to
// 1000.6932 and the result would be off in the fifth digit.
template <class T>
void log_softmax_into(const T* x, T* y, const Segments& g) {
  for (std::size_t s = 0; s < g.count; ++s) {
    const T m = segment_max(x, g, s);
    T total = 0;
    for (std::size_t k = 0; k < g.length; ++k) total += std::exp(x[g.at(s, k)] - m);
    const T log_total = std::log(total);
    for (std::size_t k = 0; k < g.length; ++k) y[g.at(s, k)] = (x[g.at(s, k)] - m) - log_total;
  }
}

// y[s] = exp(x[s] − max) / Σ exp(x[s] − max): exact for ties however large the logits (see above).
template <class T>
void softmax_into(const T* x, T* y, const Segments& g) {
  for (std::size_t s = 0; s < g.count; ++s) {
    const T m = segment_max(x, g, s);
    T total = 0;
    for (std::size_t k = 0; k < g.length; ++k) total += y[g.at(s, k)] = std::exp(x[g.at(s, k)] - m);
    for (std::size_t k = 0; k < g.length; ++k) y[g.at(s, k)] /= total;
  }
}

struct AxisAttrs {
  int axis;  // 0: each column is a segment (the classes of one example), 1: each row
};

template <class T>
struct Softmax {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    ensure_shape(n.value, shape_of(a));
    softmax_into(a.data(), n.value.data(), Segments(shape_of(a), attrs<AxisAttrs>(n).axis));
  }
  // dx = y ⊙ (g − Σ g·y) per segment.
  static void backward(Tape<T>& t, Node<T>& n) {
    const std::uint32_t p = n.parents[0];
    if (!t.needs_grad(p)) return;
    const Segments seg(shape_of(n.value), attrs<AxisAttrs>(n).axis);
    const T* y = n.value.data();
    const T* g = n.grad.data();
    const GradSink<T> s = t.sink(p);
    for (std::size_t q = 0; q < seg.count; ++q) {
      T dot = 0;
      for (std::size_t k = 0; k < seg.length; ++k) dot += g[seg.at(q, k)] * y[seg.at(q, k)];
      for (std::size_t k = 0; k < seg.length; ++k) {
        const std::size_t i = seg.at(q, k);
        s.at(i, y[i] * (g[i] - dot));
      }
    }
  }
  static constexpr OpDef<T> def{"softmax", forward, backward};
};

template <class T>
struct LogSoftmax {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    ensure_shape(n.value, shape_of(a));
    log_softmax_into(a.data(), n.value.data(), Segments(shape_of(a), attrs<AxisAttrs>(n).axis));
  }
  // dx = g − softmax ⊙ Σ g per segment, with softmax = exp(y).
  static void backward(Tape<T>& t, Node<T>& n) {
    const std::uint32_t p = n.parents[0];
    if (!t.needs_grad(p)) return;
    const Segments seg(shape_of(n.value), attrs<AxisAttrs>(n).axis);
    const T* y = n.value.data();
    const T* g = n.grad.data();
    const GradSink<T> s = t.sink(p);
    for (std::size_t q = 0; q < seg.count; ++q) {
      T total = 0;
      for (std::size_t k = 0; k < seg.length; ++k) total += g[seg.at(q, k)];
      for (std::size_t k = 0; k < seg.length; ++k) {
        const std::size_t i = seg.at(q, k);
        s.at(i, g[i] - std::exp(y[i]) * total);
      }
    }
  }
  static constexpr OpDef<T> def{"log_softmax", forward, backward};
};

// J = −(1/m) Σ Y ⊙ log softmax(Z) over classes (axis 0) and examples (columns).
// saved[0] holds log softmax(Z) and saved[1] softmax(Z), read by backward: dZ = (softmax · Σ_k Y − Y)/m,
// which is the familiar (softmax − Y)/m when each column of Y sums to 1 (one-hot or smoothed
// labels), and dY = −log softmax/m. scratch holds per-example rows (column maximum, Σ exp, Σ_k Y).
//
// Every pass runs along the rows (one class of all examples), contiguous and vectorized, and the K·m
// exponentials are one xsimd expression: a pass per column was scalar (measured in docs/design.md).
template <class T>
struct SoftmaxCrossEntropy {
  static void forward(Tape<T>& t, Node<T>& n) {
    require_same_shape(t, n, "logits", "labels");
    const Tensor<T>& zt = t.value(n.parents[0]);
    const Tensor<T>& yt = t.value(n.parents[1]);
    const std::size_t K = zt.shape()[0], m = zt.shape()[1];
    if (n.saved.size() < 2) n.saved.resize(2);
    ensure_shape(n.saved[0], {K, m});
    ensure_shape(n.saved[1], {K, m});
    ensure_shape(n.scratch, {2, m});
    const T* z = zt.data();
    const T* y = yt.data();
    T* lp = n.saved[0].data();
    T* p = n.saved[1].data();
    T* top = n.scratch.data();  // the maximum logit of each example, then its log Σ exp(z − max)
    T* total = top + m;         // Σ exp(z − max) of each example
    std::fill(top, top + m, -std::numeric_limits<T>::infinity());
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t j = 0; j < m; ++j) top[j] = std::max(top[j], z[k * m + j]);
    // log softmax = (z − max) − log Σ, not z − (max + log Σ): the sum rounded at the logits' magnitude
    // would cost float its fifth digit at logits of 1000.
    // exp_in_place: a logit gap such as −9e59 (a diverging run) or NaN is no undefined behaviour.
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t j = 0; j < m; ++j) p[k * m + j] = lp[k * m + j] = z[k * m + j] - top[j];
    exp_in_place(n.saved[1]);
    std::fill(total, total + m, T(0));
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t j = 0; j < m; ++j) total[j] += p[k * m + j];
    for (std::size_t j = 0; j < m; ++j) top[j] = std::log(total[j]);
    for (std::size_t k = 0; k < K; ++k)
      for (std::size_t j = 0; j < m; ++j) {
        lp[k * m + j] -= top[j];
        p[k * m + j] /= total[j];
      }
    T partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // as in sum_contiguous: independent chains
    for (std::size_t i = 0; i < K * m; ++i) partial[i % 8] -= y[i] != 0 ? y[i] * lp[i] : T(0);  // 0·log 0 is 0
    ensure_shape(n.value, {1, 1});
    n.value(0, 0) = sum_contiguous(partial, 8) / T(std::max<std::size_t>(m, 1));
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const T* lp = n.saved[0].data();
    const T* p = n.saved[1].data();
    const T* y = t.value(n.parents[1]).data();
    const std::size_t K = n.saved[0].shape()[0], m = n.saved[0].shape()[1];
    const T scale = n.grad(0, 0) / T(std::max<std::size_t>(m, 1));
    if (t.needs_grad(n.parents[0])) {
      T* total = n.scratch.data();  // Σ_k Y of each example (forward's rows are no longer needed)
      std::fill(total, total + m, T(0));
      for (std::size_t k = 0; k < K; ++k)
        for (std::size_t j = 0; j < m; ++j) total[j] += y[k * m + j];
      t.sink(n.parents[0]).each_2d([&](std::size_t k, std::size_t j) {
        const std::size_t i = k * m + j;
        return (p[i] * total[j] - y[i]) * scale;
      });
    }
    if (t.needs_grad(n.parents[1])) t.sink(n.parents[1]).each([&](std::size_t i) { return -lp[i] * scale; });
  }
  static constexpr OpDef<T> def{"softmax_cross_entropy", forward, backward};
};

// J = (1/m) Σ [max(z, 0) − z·y + log(1 + exp(−|z|))], the stable form of binary cross-entropy on
// σ(z). dZ = (σ(z) − y)/m, dY = −z/m.
template <class T>
struct SigmoidCrossEntropy {
  static void forward(Tape<T>& t, Node<T>& n) {
    require_same_shape(t, n, "logits", "labels");
    const Tensor<T>& z = t.value(n.parents[0]);
    const T* y = t.value(n.parents[1]).data();
    ensure_shape(n.value, {1, 1});
    T acc = 0;
    for (std::size_t i = 0, e = z.size(); i < e; ++i) {
      const T v = z.data()[i];
      acc += std::max(v, T(0)) - v * y[i] + std::log1p(std::exp(-std::abs(v)));
    }
    n.value(0, 0) = acc / T(std::max<std::size_t>(z.shape()[1], 1));
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const T* z = t.value(n.parents[0]).data();
    const T* y = t.value(n.parents[1]).data();
    const T scale = n.grad(0, 0) / T(std::max<std::size_t>(t.value(n.parents[0]).shape()[1], 1));
    if (t.needs_grad(n.parents[0]))
      t.sink(n.parents[0]).each([&](std::size_t i) { return (T(1) / (T(1) + std::exp(-z[i])) - y[i]) * scale; });
    if (t.needs_grad(n.parents[1])) t.sink(n.parents[1]).each([&](std::size_t i) { return -z[i] * scale; });
  }
  static constexpr OpDef<T> def{"sigmoid_cross_entropy", forward, backward};
};

template <class T>
Var<T> along(const OpDef<T>& def, Var<T> a, int axis, std::source_location w) {
  checked_axis(def.name, axis, w);
  Tape<T>& tape = common_tape(def.name, {a});
  return as_var(tape, tape.record(def, {a.index()}, w, AxisAttrs{axis}));
}

template <class T>
Var<T> loss(const OpDef<T>& def, Var<T> logits, Var<T> labels, std::source_location w) {
  Tape<T>& tape = common_tape(def.name, {logits, labels});
  return as_var(tape, tape.record(def, {logits.index(), labels.index()}, w));
}

}  // namespace

template <class T>
Var<T> softmax(Var<T> a, int axis, std::source_location w) {
  return along(Softmax<T>::def, a, axis, w);
}
template <class T>
Var<T> log_softmax(Var<T> a, int axis, std::source_location w) {
  return along(LogSoftmax<T>::def, a, axis, w);
}
template <class T>
Var<T> softmax_cross_entropy(Var<T> logits, Var<T> Y, std::source_location w) {
  return loss(SoftmaxCrossEntropy<T>::def, logits, Y, w);
}
template <class T>
Var<T> sigmoid_cross_entropy(Var<T> logits, Var<T> Y, std::source_location w) {
  return loss(SigmoidCrossEntropy<T>::def, logits, Y, w);
}

#define AD_INSTANTIATE(T)                                                      \
  template Var<T> softmax(Var<T>, int, std::source_location);                  \
  template Var<T> log_softmax(Var<T>, int, std::source_location);              \
  template Var<T> softmax_cross_entropy(Var<T>, Var<T>, std::source_location); \
  template Var<T> sigmoid_cross_entropy(Var<T>, Var<T>, std::source_location);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)

}  // namespace ad
