// Operations that move values without arithmetic: reshape, row and column slices, concatenation,
// detach; and inverted dropout, whose mask is the only random state on a tape.
#include <algorithm>

#include "kernels.hpp"

namespace ad {
namespace {
using namespace detail;

// iattr = {rows, cols}. Row-major data is unchanged by a reshape, so both directions are copies.
template <class T>
struct Reshape {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    const Shape s{std::size_t(n.iattr[0]), std::size_t(n.iattr[1])};
    if (s[0] * s[1] != a.size())
      throw ShapeError(fmt::format("reshape: {} has {} elements, cannot become {}{}", operand(t, n.parents[0]),
                                   a.size(), to_string(s), format_where(n)));
    ensure_shape(n.value, s);
    std::copy(a.begin(), a.end(), n.value.begin());
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    if (!t.needs_grad(n.parents[0])) return;
    const T* g = n.grad.data();
    write_grad(t.sink(n.parents[0]), [&](std::size_t i) { return g[i]; });
  }
  static constexpr OpDef<T> def{"reshape", forward, backward};
};

// A window [begin, end) of rows (axis 0) or columns (axis 1). iattr = {axis, begin, end}.
template <class T>
struct Slice {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    const std::int64_t axis = n.iattr[0];
    const std::size_t begin = n.iattr[1], end = n.iattr[2];
    const std::size_t extent = a.shape()[axis];
    if (begin >= end || end > extent)
      throw ShapeError(fmt::format("{}: [{}, {}) is not a non-empty range inside {} {} of {}{}", n.op->name, begin, end,
                                   extent, axis == 0 ? "rows" : "columns", operand(t, n.parents[0]), format_where(n)));
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
    if (s.first) s.grad.fill(T(0));
    const std::size_t C = s.grad.shape()[1], begin = n.iattr[1];
    const std::size_t r = n.value.shape()[0], w = n.value.shape()[1];
    const T* g = n.grad.data();
    T* d = s.grad.data();
    for (std::size_t i = 0; i < r; ++i)
      for (std::size_t j = 0; j < w; ++j) {
        const std::size_t to = n.iattr[0] == 0 ? (begin + i) * C + j : i * C + begin + j;
        d[to] += g[i * w + j];
      }
  }
  static constexpr OpDef<T> rows_def{"slice_rows", forward, backward};
  static constexpr OpDef<T> cols_def{"slice_cols", forward, backward};
};

// iattr[0] is the axis: 0 stacks rows (same column counts), 1 places columns side by side.
template <class T>
struct Concat {
  static void forward(Tape<T>& t, Node<T>& n) {
    const std::int64_t axis = n.iattr[0];
    const std::size_t other = 1 - axis;
    const Shape first = shape_at(t, n.parents[0]);
    std::size_t extent = 0;
    for (auto p : n.parents) {
      const Shape s = shape_at(t, p);
      if (s[other] != first[other])
        throw ShapeError(fmt::format("concat: {} but {}: along axis {} the {} must match{}", operand(t, n.parents[0]),
                                     operand(t, p), axis, other == 0 ? "row counts" : "column counts",
                                     format_where(n)));
      extent += s[axis];
    }
    const Shape out = axis == 0 ? Shape{extent, first[1]} : Shape{first[0], extent};
    ensure_shape(n.value, out);
    std::size_t offset = 0;
    for (auto p : n.parents) {
      const Tensor<T>& a = t.value(p);
      const std::size_t r = a.shape()[0], c = a.shape()[1];
      for (std::size_t i = 0; i < r; ++i)
        for (std::size_t j = 0; j < c; ++j)
          (axis == 0 ? n.value(offset + i, j) : n.value(i, offset + j)) = a(i, j);
      offset += axis == 0 ? r : c;
    }
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const std::int64_t axis = n.iattr[0];
    std::size_t offset = 0;
    for (auto p : n.parents) {
      const Shape s = shape_at(t, p);
      if (t.needs_grad(p)) {
        GradSink<T> sink = t.sink(p);
        for (std::size_t i = 0; i < s[0]; ++i)
          for (std::size_t j = 0; j < s[1]; ++j) {
            const T g = axis == 0 ? n.grad(offset + i, j) : n.grad(i, offset + j);
            sink.grad(i, j) = sink.first ? g : sink.grad(i, j) + g;
          }
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

// attr[0] is keep_prob; saved[0] the mask, holding 0 or 1/keep_prob.
template <class T>
struct Dropout {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    if (n.saved.empty()) n.saved.resize(1);
    Tensor<T>& mask = n.saved[0];
    const bool reuse = t.frozen() && shape_of(mask) == shape_of(a);
    if (!reuse) {
      ensure_shape(mask, shape_of(a));
      const double keep = n.attr[0];
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
    const T* m = n.saved[0].data();
    write_grad(t.sink(n.parents[0]), [&](std::size_t i) { return g[i] * m[i]; });
  }
  static constexpr OpDef<T> def{"dropout", forward, backward};
};

template <class T>
Var<T> slice(const OpDef<T>& def, Var<T> a, std::int64_t axis, std::size_t begin, std::size_t end,
             std::source_location w) {
  Tape<T>& tape = common_tape(def.name, {a});
  return make(tape, tape.record(def, {a.index()}, w, 0, 0, axis, std::int64_t(begin), std::int64_t(end)));
}

}  // namespace

template <class T>
Var<T> reshape(Var<T> a, std::size_t rows, std::size_t cols, std::source_location w) {
  Tape<T>& tape = common_tape("reshape", {a});
  return make(tape, tape.record(Reshape<T>::def, {a.index()}, w, 0, 0, std::int64_t(rows), std::int64_t(cols)));
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
  if (parts.empty()) throw ShapeError(fmt::format("concat: no operands (at {})", format_site(w)));
  if (axis != 0 && axis != 1) throw ShapeError(fmt::format("concat: axis must be 0 or 1, got {} (at {})", axis, format_site(w)));
  Tape<T>& tape = parts.front().tape("concat");
  std::vector<std::uint32_t> parents;
  for (const auto& p : parts) {
    tape.check_owns(p, "concat");
    parents.push_back(p.index());
  }
  return make(tape, tape.record(Concat<T>::def, std::move(parents), w, 0, 0, axis));
}
template <class T>
Var<T> dropout(Var<T> a, double keep_prob, std::source_location w) {
  if (!(keep_prob > 0 && keep_prob <= 1))
    throw ShapeError(fmt::format("dropout: keep_prob must be in (0, 1], got {} (at {})", keep_prob, format_site(w)));
  Tape<T>& tape = common_tape("dropout", {a});
  return make(tape, tape.record(Dropout<T>::def, {a.index()}, w, keep_prob));
}
template <class T>
Var<T> detach(Var<T> a, std::source_location w) {
  Tape<T>& tape = common_tape("detach", {a});
  const auto index = tape.record(Detach<T>::def, {a.index()}, w);
  tape.node(index).needs_grad = false;
  return make(tape, index);
}

#define AD_INSTANTIATE(T)                                                        \
  template Var<T> reshape(Var<T>, std::size_t, std::size_t, std::source_location); \
  template Var<T> slice_rows(Var<T>, std::size_t, std::size_t, std::source_location); \
  template Var<T> slice_cols(Var<T>, std::size_t, std::size_t, std::source_location); \
  template Var<T> concat(const std::vector<Var<T>>&, int, std::source_location);  \
  template Var<T> dropout(Var<T>, double, std::source_location);                  \
  template Var<T> detach(Var<T>, std::source_location);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)

}  // namespace ad
