// The kit for writing an operation: the engine's own operations (autodiff/src/ops_*.cpp), nn's
// (batch norm, L2) and a user's (examples/autodiff/custom_op.cpp) are all written with it.
//
// WHAT AN OPERATION IS
//   A struct with static `forward` and `backward` (and `branches` for piecewise functions), an
//   `OpDef<T> def{"name", forward, backward[, branches]}`, its attributes as a small struct of its
//   own (e.g. `struct ClipAttrs { double lo, hi; }`), and a function the user calls:
//
//     template <class T>
//     Var<T> clip(Var<T> a, double lo, double hi, std::source_location where = current()) {
//       Tape<T>& tape = kit::common_tape("clip", {a});
//       return kit::as_var(tape, tape.record(Clip<T>::def, {a.index()}, where, ClipAttrs{lo, hi}));
//     }
//
//   That function checks what it can check once (a bad scalar argument throws ConfigError, a Var
//   from another tape TapeError), then Tape::record appends the node and runs forward once.
//
// forward(tape, node)
//   REQUIRES: the parents' values are current: tape.value(node.parents[k]).
//   - Checks the parents' shapes and throws ShapeError naming the operation, the operands
//     (kit::operand_text) and the user's line (kit::site(node)) when they do not fit. It runs again
//     on every replay, where an input may have been fed a new shape: check shapes here, not in the
//     recording function.
//   - Writes node.value, sized with ensure_shape(node.value, shape). May size node.saved (what
//     backward needs: masks, statistics) and node.scratch the same way. ensure_shape allocates only
//     when a shape changes, so a replay with unchanged shapes allocates nothing: never assign a
//     fresh tensor (node.value = expr of another size) or push_back on a replay.
//   - Reads its attributes with node.attrs<MyAttrs>() (the type recorded; another type throws
//     TapeError). Attributes are trivially copyable and never change after recording: what must
//     change between replays (a running statistic) lives behind a pointer the attributes hold, to
//     an object that outlives the tape.
//   - Random operations draw from tape.rng() and, when tape.frozen(), reuse their last draw;
//     stateful operations leave their external state alone when frozen (the checker replays frozen
//     and needs the same function at every evaluation).
//
// backward(tape, node)
//   REQUIRES: node.grad holds ∂cost/∂node.value (node.value's shape); node.value, node.saved and the
//   parents' values are those of the last forward.
//   - For each parent p with tape.needs_grad(p), takes one sink, tape.sink(p), and writes its
//     contribution through it: each/each_2d (elementwise), add (an xtensor expression), fill, gemm
//     (BLAS into the gradient), reduce_from (a full-size gradient summed to a broadcast operand's
//     shape), at (element by element, from parallel pieces), accumulator (scattered +=). The sink
//     assigns on the node's first contribution of a sweep and adds on later ones (a node read by
//     two operations, or twice by one): an operation never chooses between = and +=.
//   - Skips parents that do not need a gradient (no sink taken: their gradient stays unwritten and
//     reads as zero).
//   - Writes nothing else: not node.value, not a parent's value, not its attributes' target.
//   - Allocates only through ensure_shape on node.scratch (a broadcast operand's full-size
//     gradient), so that a replayed step allocates nothing.
//
// branches(tape, node, out)   [piecewise functions only]
//   Appends one byte per element of the operation's output (or of the input it switches on) that
//   names which piece the last forward took: e.g. 0 below a kink, 1 exactly at it, 2 above. The
//   gradient checker compares these bytes between θ+h and θ−h: a change means a finite difference
//   straddled a kink and that element's disagreement is not a bug. Smooth operations define none.
//   Must not depend on anything but the last forward's values and the attributes.
//
// WHAT SURVIVES A REPLAY
//   Tape::forward() calls every forward again in creation order on the current input and parameter
//   values, with the same node: its attributes, saved tensors, scratch and buffers survive; the
//   values are overwritten. A forward must therefore be a function of the parents' values, the
//   attributes and (for random operations) the tape's generator.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/errors.hpp"
#include "autodiff/tape.hpp"

namespace ad::kit {

// The tape all operands share; throws TapeError naming the operation otherwise.
template <class T>
inline Tape<T>& common_tape(const char* op, std::initializer_list<Var<T>> vars) {
  Tape<T>& tape = vars.begin()->tape(op);
  for (const auto& v : vars) tape.check_owns(v, op);
  return tape;
}

// The same for a variable number of operands (concat, l2_penalty).
template <class T>
inline Tape<T>& common_tape(const char* op, const std::vector<Var<T>>& vars) {
  Tape<T>& tape = vars.front().tape(op);
  for (const auto& v : vars) tape.check_owns(v, op);
  return tape;
}

// node.attrs<A>() without the `template` keyword a member call needs inside a template.
template <class A, class T>
inline const A& attrs(const Node<T>& node) {
  return node.template attrs<A>();
}

// The Var of a node just recorded.
template <class T>
inline Var<T> as_var(Tape<T>& tape, std::uint32_t index) {
  return Var<T>(&tape, index);
}

template <class T>
inline Shape shape_at(const Tape<T>& tape, std::uint32_t index) {
  return shape_of(tape.value(index));
}

// "W[1] is (3, 4)": a node's name and shape for messages.
template <class T>
inline std::string operand_text(const Tape<T>& tape, std::uint32_t index) {
  return fmt::format("{} is {}", tape.describe(index), to_string(shape_at(tape, index)));
}

// " (at file.cpp:42)": the user's line that recorded the node, to end a message with.
template <class T>
inline std::string site(const Node<T>& node) {
  return site_suffix(node.where);
}

// Throws ShapeError unless the first two parents have the same shape; `role_a` and `role_b` name
// them in the message ("logits", "labels").
template <class T>
inline void require_same_shape(const Tape<T>& tape, const Node<T>& node, const char* role_a, const char* role_b) {
  if (shape_at(tape, node.parents[0]) != shape_at(tape, node.parents[1]))
    throw ShapeError(fmt::format("{}: {} {} but {} {}: they must have the same shape{}", node.op->name, role_a,
                                 operand_text(tape, node.parents[0]), role_b, operand_text(tape, node.parents[1]),
                                 site(node)));
}

// --- elementwise operations of one operand ---------------------------------------------------------

// node.value[i] = f(x[i]) over the first parent x.
template <class T, class F>
inline void map_forward(Tape<T>& tape, Node<T>& node, F f) {
  const Tensor<T>& in = tape.value(node.parents[0]);
  ensure_shape(node.value, shape_of(in));
  const T* x = in.data();
  T* y = node.value.data();
  for (std::size_t i = 0, e = in.size(); i < e; ++i) y[i] = f(x[i]);
}

// dx = dy · d(x, y), with the derivative written as a function of the input x and output y.
template <class T, class D>
inline void map_backward(Tape<T>& tape, Node<T>& node, D d) {
  const std::uint32_t p = node.parents[0];
  if (!tape.needs_grad(p)) return;
  const T* x = tape.value(p).data();
  const T* y = node.value.data();
  const T* g = node.grad.data();
  tape.sink(p).each([&](std::size_t i) { return g[i] * d(x[i], y[i]); });
}

// One branch byte per element of the first parent: which side of the kink at `at` it lies
// (0 below, 1 at, 2 above).
template <class T>
inline void sign_branches(const Tape<T>& tape, const Node<T>& node, std::vector<std::uint8_t>& out, T at) {
  for (T x : tape.value(node.parents[0])) out.push_back(x < at ? 0 : x == at ? 1 : 2);
}

// --- broadcasting (NumPy rules on matrices) -------------------------------------------------------

// The broadcast shape of the first two parents, or a ShapeError naming the operation and operands.
template <class T>
inline Shape broadcast_shape(const Tape<T>& tape, const Node<T>& node) {
  const Shape a = shape_at(tape, node.parents[0]), b = shape_at(tape, node.parents[1]);
  Shape out;
  for (int d = 0; d < 2; ++d) {
    if (a[d] == b[d] || b[d] == 1)
      out[d] = a[d];
    else if (a[d] == 1)
      out[d] = b[d];
    else
      throw ShapeError(fmt::format("{}: {} but {}: shapes do not broadcast (dimension {}){}", node.op->name,
                                   operand_text(tape, node.parents[0]), operand_text(tape, node.parents[1]), d,
                                   site(node)));
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
inline Strided<T> broadcast_view(const Tensor<T>& t) {
  const std::size_t r = t.shape()[0], c = t.shape()[1];
  return {t.data(), r == 1 ? std::size_t(0) : c, c == 1 ? std::size_t(0) : std::size_t(1)};
}

// Element (i, j) of a broadcast operand.
template <class T>
inline T at(const Strided<T>& v, std::size_t i, std::size_t j) {
  return v.p[i * v.row_stride + j * v.col_stride];
}

// out(i, j) = f(a(i, j), b(i, j)) over the broadcast shape. The inner loop is instantiated for each
// pair of column strides (0 or 1), so that the compiler vectorizes it. Plain loops: xtensor's
// broadcast expressions are much slower on (n, 1) + (n, m) (docs/design.md).
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
  if (a.col_stride && b.col_stride)
    run.template operator()<1, 1>();
  else if (a.col_stride)
    run.template operator()<1, 0>();
  else if (b.col_stride)
    run.template operator()<0, 1>();
  else
    run.template operator()<0, 0>();
}

// The gradient of parent `which` of a broadcasting operation: node.grad(i, j) · partial(i, j) summed
// back to that parent's shape (through node.scratch when the parent was stretched).
template <class T, class Partial>
inline void broadcast_backward(Tape<T>& tape, Node<T>& node, int which, Partial partial) {
  const std::uint32_t p = node.parents[which];
  if (!tape.needs_grad(p)) return;
  const Shape out = shape_of(node.value);
  const std::size_t C = out[1];
  const T* g = node.grad.data();
  GradSink<T> s = tape.sink(p);
  if (s.shape() == out) {
    s.each_2d([&](std::size_t i, std::size_t j) { return g[i * C + j] * partial(i, j); });
    return;
  }
  ensure_shape(node.scratch, out);
  T* full = node.scratch.data();
  for (std::size_t i = 0; i < out[0]; ++i)
    for (std::size_t j = 0; j < C; ++j) full[i * C + j] = g[i * C + j] * partial(i, j);
  s.reduce_from(full, out);
}

// --- sums ------------------------------------------------------------------------------------------

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

}  // namespace ad::kit
