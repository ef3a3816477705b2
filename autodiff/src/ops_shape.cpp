// Operations that move values without arithmetic: reshape, row and column slices, concatenation,
// detach; and inverted dropout, whose mask is the only random state on a tape.
#include <algorithm>

#include "kernels.hpp"

namespace ad {
namespace {
using namespace detail;

// Row-major data is unchanged by a reshape, so both directions are copies.
struct ReshapeAttrs {
  std::size_t rows, cols;
};

template <class T>
struct Reshape {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    const Shape s{attrs<ReshapeAttrs>(n).rows, attrs<ReshapeAttrs>(n).cols};
    if (s[0] * s[1] != a.size())
      throw ShapeError(fmt::format("reshape: {} has {} elements, cannot become {}{}", operand_text(t, n.parents[0]),
                                   a.size(), to_string(s), site(n)));
    ensure_shape(n.value, s);
    std::copy(a.begin(), a.end(), n.value.begin());
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    if (!t.needs_grad(n.parents[0])) return;
    const T* g = n.grad.data();
    t.sink(n.parents[0]).each([g](std::size_t i) { return g[i]; });
  }
  static constexpr OpDef<T> def{"reshape", forward, backward};
};

// A window [begin, end) of rows (axis 0) or columns (axis 1).
struct SliceAttrs {
  int axis;
  std::size_t begin, end;
};

template <class T>
struct Slice {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    const auto [axis, begin, end] = attrs<SliceAttrs>(n);
    const std::size_t extent = a.shape()[axis];
    if (begin >= end || end > extent)
      throw ShapeError(fmt::format("{}: [{}, {}) is not a non-empty range inside {} {} of {}{}", n.op->name, begin, end,
                                   extent, axis == 0 ? "rows" : "columns", operand_text(t, n.parents[0]), site(n)));
    const std::size_t R = a.shape()[0], C = a.shape()[1];
    if (axis == 0) {
      ensure_shape(n.value, {end - begin, C});
      std::copy(a.data() + begin * C, a.data() + end * C, n.value.data());
    } else {
      const std::size_t w = end - begin;
      ensure_shape(n.value, {R, w});
      for (std::size_t i = 0; i < R; ++i) std::copy_n(a.data() + i * C + begin, w, n.value.data() + i * w);
    }
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    if (!t.needs_grad(n.parents[0])) return;
    GradSink<T> s = t.sink(n.parents[0]);
    const auto [axis, begin, end] = attrs<SliceAttrs>(n);
    const std::size_t C = s.shape()[1];
    const std::size_t r = n.value.shape()[0], w = n.value.shape()[1];
    const T* g = n.grad.data();
    T* d = s.accumulator();
    for (std::size_t i = 0; i < r; ++i)
      for (std::size_t j = 0; j < w; ++j) {
        const std::size_t to = axis == 0 ? (begin + i) * C + j : i * C + begin + j;
        d[to] += g[i * w + j];
      }
  }
  static constexpr OpDef<T> rows_def{"slice_rows", forward, backward};
  static constexpr OpDef<T> cols_def{"slice_cols", forward, backward};
};

// Axis 0 stacks rows (same column counts), axis 1 places columns side by side.
struct ConcatAttrs {
  int axis;
};

template <class T>
struct Concat {
  static void forward(Tape<T>& t, Node<T>& n) {
    const int axis = attrs<ConcatAttrs>(n).axis;
    const std::size_t other = 1 - axis;
    const Shape first = shape_at(t, n.parents[0]);
    std::size_t extent = 0;
    for (auto p : n.parents) {
      const Shape s = shape_at(t, p);
      if (s[other] != first[other])
        throw ShapeError(fmt::format("concat: {} but {}: along axis {} the {} must match{}",
                                     operand_text(t, n.parents[0]), operand_text(t, p), axis,
                                     other == 0 ? "row counts" : "column counts", site(n)));
      extent += s[axis];
    }
    const Shape out = axis == 0 ? Shape{extent, first[1]} : Shape{first[0], extent};
    ensure_shape(n.value, out);
    std::size_t offset = 0;
    for (auto p : n.parents) {
      const Tensor<T>& a = t.value(p);
      const std::size_t r = a.shape()[0], c = a.shape()[1];
      for (std::size_t i = 0; i < r; ++i)
        for (std::size_t j = 0; j < c; ++j) (axis == 0 ? n.value(offset + i, j) : n.value(i, offset + j)) = a(i, j);
      offset += axis == 0 ? r : c;
    }
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const int axis = attrs<ConcatAttrs>(n).axis;
    const Tensor<T>& g = n.grad;
    std::size_t offset = 0;
    for (auto p : n.parents) {
      const Shape s = shape_at(t, p);
      if (t.needs_grad(p)) {
        const std::size_t o = offset;
        t.sink(p).each_2d(
            [&g, axis, o](std::size_t i, std::size_t j) { return axis == 0 ? g(o + i, j) : g(i, o + j); });
      }
      offset += s[axis];
    }
  }
  static constexpr OpDef<T> def{"concat", forward, backward};
};

template <class T>
struct Detach {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    ensure_shape(n.value, shape_of(a));
    std::copy(a.begin(), a.end(), n.value.begin());
  }
  static void backward(Tape<T>&, Node<T>&) {}
  static constexpr OpDef<T> def{"detach", forward, backward};
};

struct DropoutAttrs {
  double keep_prob;
};

// The mask, holding 0 or 1/keep_prob, is the node's only saved tensor.
template <class T>
struct DropoutMask {
  static Tensor<T>& mask(Node<T>& n) {
    if (n.saved.empty()) n.saved.resize(1);  // the first forward only
    return n.saved[0];
  }
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    Tensor<T>& mask = DropoutMask::mask(n);
    const bool reuse = t.frozen() && shape_of(mask) == shape_of(a);
    if (!reuse) {
      ensure_shape(mask, shape_of(a));
      const double keep = attrs<DropoutAttrs>(n).keep_prob;
      const T scale = T(1 / keep);
      // Two 32-bit draws per 64-bit output, compared as integers: ~1 ns per element.
      const auto threshold = static_cast<std::uint64_t>(keep * 4294967296.0);
      auto& rng = t.rng();
      T* m = mask.data();
      const std::size_t size = mask.size();
      for (std::size_t i = 0; i < size; i += 2) {
        const std::uint64_t r = rng();
        m[i] = (r & 0xffffffffu) < threshold ? scale : T(0);
        if (i + 1 < size) m[i + 1] = (r >> 32) < threshold ? scale : T(0);
      }
    }
    ensure_shape(n.value, shape_of(a));
    const T* x = a.data();
    const T* m = mask.data();
    T* y = n.value.data();
    for (std::size_t i = 0, e = a.size(); i < e; ++i) y[i] = x[i] * m[i];
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    if (!t.needs_grad(n.parents[0])) return;
    const T* g = n.grad.data();
    const T* m = mask(n).data();
    t.sink(n.parents[0]).each([&](std::size_t i) { return g[i] * m[i]; });
  }
  static constexpr OpDef<T> def{"dropout", forward, backward};
};

template <class T>
Var<T> slice(const OpDef<T>& def, Var<T> a, int axis, std::size_t begin, std::size_t end, std::source_location w) {
  Tape<T>& tape = common_tape(def.name, {a});
  return as_var(tape, tape.record(def, {a.index()}, w, SliceAttrs{.axis = axis, .begin = begin, .end = end}));
}

}  // namespace

template <class T>
Var<T> reshape(Var<T> a, std::size_t rows, std::size_t cols, std::source_location w) {
  Tape<T>& tape = common_tape("reshape", {a});
  return as_var(tape, tape.record(Reshape<T>::def, {a.index()}, w, ReshapeAttrs{.rows = rows, .cols = cols}));
}
template <class T>
Var<T> slice_rows(Var<T> a, std::size_t begin, std::size_t end, std::source_location w) {
  return slice(Slice<T>::rows_def, a, 0, begin, end, w);
}
template <class T>
Var<T> slice_cols(Var<T> a, std::size_t begin, std::size_t end, std::source_location w) {
  return slice(Slice<T>::cols_def, a, 1, begin, end, w);
}
template <class T>
Var<T> concat(const std::vector<Var<T>>& parts, int axis, std::source_location w) {
  if (parts.empty()) throw ConfigError(fmt::format("concat: no operands{}", site_suffix(w)));
  checked_axis("concat", axis, w);
  Tape<T>& tape = common_tape("concat", parts);
  std::vector<std::uint32_t> parents;
  for (const auto& p : parts) parents.push_back(p.index());
  return as_var(tape, tape.record(Concat<T>::def, std::move(parents), w, ConcatAttrs{axis}));
}
template <class T>
Var<T> dropout(Var<T> a, double keep_prob, std::source_location w) {
  if (!(keep_prob > 0 && keep_prob <= 1))
    throw ConfigError(fmt::format("dropout: keep_prob must be in (0, 1], got {}{}", keep_prob, site_suffix(w)));
  Tape<T>& tape = common_tape("dropout", {a});
  return as_var(tape, tape.record(DropoutMask<T>::def, {a.index()}, w, DropoutAttrs{keep_prob}));
}
template <class T>
Var<T> detach(Var<T> a, std::source_location w) {
  Tape<T>& tape = common_tape("detach", {a});
  const auto index = tape.record(Detach<T>::def, {a.index()}, w);
  tape.node(index).needs_grad = false;
  return as_var(tape, index);
}

#define AD_INSTANTIATE(T)                                                             \
  template Var<T> reshape(Var<T>, std::size_t, std::size_t, std::source_location);    \
  template Var<T> slice_rows(Var<T>, std::size_t, std::size_t, std::source_location); \
  template Var<T> slice_cols(Var<T>, std::size_t, std::size_t, std::source_location); \
  template Var<T> concat(const std::vector<Var<T>>&, int, std::source_location);      \
  template Var<T> dropout(Var<T>, double, std::source_location);                      \
  template Var<T> detach(Var<T>, std::source_location);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)

}  // namespace ad
