// Reductions: sum and mean, whole or along an axis. Plain loops: xtensor's reducers are slower
// than a row loop on these shapes (docs/design.md).
#include "kernels.hpp"

namespace ad {
namespace {
using namespace detail;

constexpr int whole = -1;

struct ReduceAttrs {
  int axis;  // 0, 1, or `whole` for the whole matrix
  bool keepdims;
  bool mean;
};

template <class T>
struct Reduce {
  static Shape out_shape(const Shape& in, int axis, bool keepdims) {
    if (axis == whole) return {1, 1};
    const std::size_t kept = axis == 0 ? in[1] : in[0];
    if (!keepdims) return {kept, 1};
    return axis == 0 ? Shape{1, kept} : Shape{kept, 1};
  }
  // How many elements each output averages over.
  static std::size_t count(const Shape& in, int axis) {
    return axis == whole ? in[0] * in[1] : axis == 0 ? in[0] : in[1];
  }
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    const Shape in = shape_of(a);
    const ReduceAttrs& r = attrs<ReduceAttrs>(n);
    const int axis = r.axis;
    ensure_shape(n.value, out_shape(in, axis, r.keepdims));
    const T scale = r.mean ? T(1) / T(std::max<std::size_t>(count(in, axis), 1)) : T(1);
    const T* x = a.data();
    T* y = n.value.data();
    const std::size_t R = in[0], C = in[1];
    if (axis == whole) {
      y[0] = sum_contiguous(x, R * C) * scale;
    } else if (axis == 0) {  // column sums, accumulated row by row (contiguous)
      std::fill(y, y + C, T(0));
      for (std::size_t i = 0; i < R; ++i)
        for (std::size_t j = 0; j < C; ++j) y[j] += x[i * C + j];
      for (std::size_t j = 0; j < C; ++j) y[j] *= scale;
    } else {
      for (std::size_t i = 0; i < R; ++i) y[i] = sum_contiguous(x + i * C, C) * scale;
    }
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const std::uint32_t p = n.parents[0];
    if (!t.needs_grad(p)) return;
    const Shape in = shape_at(t, p);
    const ReduceAttrs& r = attrs<ReduceAttrs>(n);
    const int axis = r.axis;
    const T scale = r.mean ? T(1) / T(std::max<std::size_t>(count(in, axis), 1)) : T(1);
    const T* g = n.grad.data();
    // The output gradient broadcast back over the reduced axis.
    GradSink<T> s = t.sink(p);
    if (axis == whole)
      s.fill(g[0] * scale);
    else if (axis == 0)
      s.each_2d([&](std::size_t, std::size_t j) { return g[j] * scale; });
    else
      s.each_2d([&](std::size_t i, std::size_t) { return g[i] * scale; });
  }
  static constexpr OpDef<T> sum_def{"sum", forward, backward};
  static constexpr OpDef<T> mean_def{"mean", forward, backward};
};

template <class T>
Var<T> reduce(const OpDef<T>& def, Var<T> a, int axis, bool keepdims, bool is_mean, std::source_location w) {
  Tape<T>& tape = common_tape(def.name, {a});
  return as_var(tape,
                tape.record(def, {a.index()}, w, ReduceAttrs{.axis = axis, .keepdims = keepdims, .mean = is_mean}));
}

}  // namespace

template <class T>
Var<T> sum(Var<T> a, std::source_location w) {
  return reduce(Reduce<T>::sum_def, a, whole, true, false, w);
}
template <class T>
Var<T> sum(Var<T> a, int axis, bool keepdims, std::source_location w) {
  return reduce(Reduce<T>::sum_def, a, checked_axis("sum", axis, w), keepdims, false, w);
}
template <class T>
Var<T> mean(Var<T> a, std::source_location w) {
  return reduce(Reduce<T>::mean_def, a, whole, true, true, w);
}
template <class T>
Var<T> mean(Var<T> a, int axis, bool keepdims, std::source_location w) {
  return reduce(Reduce<T>::mean_def, a, checked_axis("mean", axis, w), keepdims, true, w);
}

#define AD_INSTANTIATE(T)                                       \
  template Var<T> sum(Var<T>, std::source_location);            \
  template Var<T> sum(Var<T>, int, bool, std::source_location); \
  template Var<T> mean(Var<T>, std::source_location);           \
  template Var<T> mean(Var<T>, int, bool, std::source_location);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)

}  // namespace ad
