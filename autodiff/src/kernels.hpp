// Internal helpers shared by the operations: plain contiguous loops for broadcasting and
// reductions (xtensor's broadcast expressions are ~20× slower than these on (n, 1) + (n, m), see
// DESIGN.md), and small utilities to check shapes and write gradients.
#pragma once

#include <cstdint>
#include <utility>

#include "autodiff/ops.hpp"

namespace ad::detail {

template <class T>
inline Shape shape_at(const Tape<T>& tape, std::uint32_t index) {
  return shape_of(tape.value(index));
}

// "W[1] (3, 4)": a node's name and shape for messages.
template <class T>
inline std::string operand(const Tape<T>& tape, std::uint32_t index) {
  return fmt::format("{} is {}", tape.describe(index), to_string(shape_at(tape, index)));
}

// The tape all operands share; throws TapeError naming the operation otherwise.
template <class T>
inline Tape<T>& common_tape(const char* op, std::initializer_list<Var<T>> vars) {
  Tape<T>& tape = vars.begin()->tape(op);
  for (const auto& v : vars) tape.check_owns(v, op);
  return tape;
}

template <class T>
inline Var<T> make(Tape<T>& tape, std::uint32_t index) {
  return Var<T>(&tape, index);
}

template <class T>
inline std::string format_where(const Node<T>& node) {
  return fmt::format(" (at {})", format_site(node.where));
}

// NumPy broadcasting of two matrix shapes, or a ShapeError naming the operation and operands.
template <class T>
inline Shape broadcast_shape(const Tape<T>& tape, const Node<T>& node) {
  const Shape a = shape_at(tape, node.parents[0]), b = shape_at(tape, node.parents[1]);
  Shape out;
  for (int d = 0; d < 2; ++d) {
    if (a[d] == b[d] || b[d] == 1) out[d] = a[d];
    else if (a[d] == 1) out[d] = b[d];
    else
      throw ShapeError(fmt::format("{}: {} but {}: shapes do not broadcast (dimension {}){}", node.op->name,
                                   operand(tape, node.parents[0]), operand(tape, node.parents[1]), d,
                                   format_where(node)));
  }
  return out;
}

// A read-only operand seen through broadcasting: element (i, j) is p[i * row_stride + j * col_stride].
template <class T>
struct Strided {
  const T* p;
  std::size_t row_stride, col_stride;
};

template <class T>
inline Strided<T> broadcast_view(const Tensor<T>& t, const Shape& out) {
  const std::size_t r = t.shape()[0], c = t.shape()[1];
  (void)out;
  return {t.data(), r == 1 ? std::size_t(0) : c, c == 1 ? std::size_t(0) : std::size_t(1)};
}

// out(i, j) = f(a(i, j), b(i, j)) over the broadcast shape. The inner loop is instantiated for each
// pair of column strides (0 or 1) so that the compiler vectorizes it.
template <class T, class F>
inline void broadcast_binary(T* out, const Shape& shape, Strided<T> a, Strided<T> b, F f) {
  const std::size_t R = shape[0], C = shape[1];
  auto run = [&]<int CA, int CB>() {
    for (std::size_t i = 0; i < R; ++i) {
      const T* pa = a.p + i * a.row_stride;
      const T* pb = b.p + i * b.row_stride;
      T* po = out + i * C;
      for (std::size_t j = 0; j < C; ++j) po[j] = f(pa[j * CA], pb[j * CB]);
    }
  };
  if (a.col_stride && b.col_stride) run.template operator()<1, 1>();
  else if (a.col_stride) run.template operator()<1, 0>();
  else if (b.col_stride) run.template operator()<0, 1>();
  else run.template operator()<0, 0>();
}

// Writes a gradient: assigns on the first contribution of a sweep, accumulates afterwards.
template <class T, class F>
inline void write_grad(GradSink<T> s, F f) {
  T* g = s.grad.data();
  const std::size_t n = s.grad.size();
  if (s.first)
    for (std::size_t i = 0; i < n; ++i) g[i] = f(i);
  else
    for (std::size_t i = 0; i < n; ++i) g[i] += f(i);
}

// Σ x[0..n): eight independent partial sums, so that the additions pipeline and vectorize
// (a single accumulator is a serial chain of dependent adds, 4 cycles each, ~8× slower).
template <class T>
inline T sum_contiguous(const T* x, std::size_t n) {
  T partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (std::size_t l = 0; l < 8; ++l) partial[l] += x[k + l];
  T total = 0;
  for (; k < n; ++k) total += x[k];
  for (std::size_t l = 0; l < 8; ++l) total += partial[l];
  return total;
}

// Sums a full (R, C) gradient into the sink's (broadcast) shape: (R, C), (R, 1), (1, C) or (1, 1).
template <class T>
inline void reduce_into(GradSink<T> s, const T* full, const Shape& shape) {
  const std::size_t R = shape[0], C = shape[1];
  const std::size_t r = s.grad.shape()[0], c = s.grad.shape()[1];
  T* g = s.grad.data();
  if (r == R && c == C) {
    write_grad(s, [&](std::size_t i) { return full[i]; });
    return;
  }
  if (s.first) std::fill(g, g + r * c, T(0));
  if (c == 1 && r == R) {
    for (std::size_t i = 0; i < R; ++i) g[i] += sum_contiguous(full + i * C, C);
  } else if (r == 1 && c == C) {
    for (std::size_t i = 0; i < R; ++i) {
      const T* row = full + i * C;
      for (std::size_t j = 0; j < C; ++j) g[j] += row[j];
    }
  } else {
    g[0] += sum_contiguous(full, R * C);
  }
}

// The gradient of one operand of a broadcasting binary operation: out_grad(i, j) · partial(i, j)
// summed back to the operand's shape. `partial(i, j)` takes the element's row and column.
template <class T, class Partial>
inline void broadcast_backward(Tape<T>& tape, Node<T>& node, int which, Partial partial) {
  const std::uint32_t p = node.parents[which];
  if (!tape.needs_grad(p)) return;
  const Shape out = shape_of(node.value);
  const std::size_t R = out[0], C = out[1];
  const T* g = node.grad.data();
  auto fill = [&]<bool accumulate>(T* dst) {
    for (std::size_t i = 0; i < R; ++i)
      for (std::size_t j = 0; j < C; ++j) {
        const T v = g[i * C + j] * partial(i, j);
        if constexpr (accumulate) dst[i * C + j] += v;
        else dst[i * C + j] = v;
      }
  };
  GradSink<T> s = tape.sink(p);
  if (shape_of(s.grad) == out) {
    if (s.first) fill.template operator()<false>(s.grad.data());
    else fill.template operator()<true>(s.grad.data());
    return;
  }
  ensure_shape(node.scratch, out);
  fill.template operator()<false>(node.scratch.data());
  reduce_into(s, node.scratch.data(), out);
}

// Element (i, j) of a broadcast operand.
template <class T>
inline T at(const Strided<T>& v, std::size_t i, std::size_t j) {
  return v.p[i * v.row_stride + j * v.col_stride];
}

}  // namespace ad::detail
