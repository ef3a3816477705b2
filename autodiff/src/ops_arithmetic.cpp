// Elementwise arithmetic with NumPy broadcasting: add, sub, mul, div, maximum, minimum, neg and
// the scalar forms. Each operation: shape check and forward, then backward, side by side.
#include "kernels.hpp"

namespace ad {
namespace {
using namespace detail;

// Forward of a broadcasting binary operation out = f(a, b).
template <class T, class F>
void binary_forward(Tape<T>& t, Node<T>& n, F f) {
  const Shape s = broadcast_shape(t, n);
  ensure_shape(n.value, s);
  broadcast_binary(n.value.data(), s, broadcast_view(t.value(n.parents[0])), broadcast_view(t.value(n.parents[1])), f);
}

// Views of both operands for a backward's partials.
template <class T>
std::pair<Strided<T>, Strided<T>> operands(const Tape<T>& t, const Node<T>& n) {
  return {broadcast_view(t.value(n.parents[0])), broadcast_view(t.value(n.parents[1]))};
}

template <class T>
struct Add {
  static void forward(Tape<T>& t, Node<T>& n) {
    binary_forward(t, n, [](T x, T y) { return x + y; });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    broadcast_backward(t, n, 0, [](std::size_t, std::size_t) { return T(1); });
    broadcast_backward(t, n, 1, [](std::size_t, std::size_t) { return T(1); });
  }
  static constexpr OpDef<T> def{"add", forward, backward};
};

template <class T>
struct Sub {
  static void forward(Tape<T>& t, Node<T>& n) {
    binary_forward(t, n, [](T x, T y) { return x - y; });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    broadcast_backward(t, n, 0, [](std::size_t, std::size_t) { return T(1); });
    broadcast_backward(t, n, 1, [](std::size_t, std::size_t) { return T(-1); });
  }
  static constexpr OpDef<T> def{"sub", forward, backward};
};

template <class T>
struct Mul {
  static void forward(Tape<T>& t, Node<T>& n) {
    binary_forward(t, n, [](T x, T y) { return x * y; });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    auto [a, b] = operands(t, n);
    broadcast_backward(t, n, 0, [&](std::size_t i, std::size_t j) { return at(b, i, j); });
    broadcast_backward(t, n, 1, [&](std::size_t i, std::size_t j) { return at(a, i, j); });
  }
  static constexpr OpDef<T> def{"mul", forward, backward};
};

template <class T>
struct Div {
  static void forward(Tape<T>& t, Node<T>& n) {
    binary_forward(t, n, [](T x, T y) { return x / y; });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    auto [a, b] = operands(t, n);
    broadcast_backward(t, n, 0, [&](std::size_t i, std::size_t j) { return T(1) / at(b, i, j); });
    broadcast_backward(t, n, 1, [&](std::size_t i, std::size_t j) {
      const T y = at(b, i, j);
      return -at(a, i, j) / (y * y);
    });
  }
  static constexpr OpDef<T> def{"div", forward, backward};
};

// Branch bytes of maximum/minimum: 0 where a < b, 1 at a tie, 2 where a > b.
template <class T>
void compare_branches(const Tape<T>& t, const Node<T>& n, std::vector<std::uint8_t>& out) {
  auto [a, b] = operands(t, n);
  const Shape s = shape_of(n.value);
  for (std::size_t i = 0; i < s[0]; ++i)
    for (std::size_t j = 0; j < s[1]; ++j) {
      const T x = at(a, i, j), y = at(b, i, j);
      out.push_back(x < y ? 0 : x == y ? 1 : 2);
    }
}

// maximum (Larger = true) and minimum: the gradient goes to the selected operand, half to each at a tie.
template <class T, bool Larger>
struct Select {
  static T share(T mine, T other) {
    if (mine == other) return T(0.5);
    return (Larger ? mine > other : mine < other) ? T(1) : T(0);
  }
  static void forward(Tape<T>& t, Node<T>& n) {
    binary_forward(t, n, [](T x, T y) { return Larger ? (x > y ? x : y) : (x < y ? x : y); });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    auto [a, b] = operands(t, n);
    broadcast_backward(t, n, 0, [&](std::size_t i, std::size_t j) { return share(at(a, i, j), at(b, i, j)); });
    broadcast_backward(t, n, 1, [&](std::size_t i, std::size_t j) { return share(at(b, i, j), at(a, i, j)); });
  }
  static constexpr OpDef<T> def{Larger ? "maximum" : "minimum", forward, backward, compare_branches<T>};
};

// out = a·scale + shift elementwise (neg, the scalar forms).
struct AffineAttrs {
  double scale, shift;
};
template <class T>
struct Affine {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    ensure_shape(n.value, shape_of(a));
    const AffineAttrs& affine = attrs<AffineAttrs>(n);
    const T scale = T(affine.scale), shift = T(affine.shift);
    const T* x = a.data();
    T* y = n.value.data();
    for (std::size_t i = 0, e = a.size(); i < e; ++i) y[i] = x[i] * scale + shift;
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    if (!t.needs_grad(n.parents[0])) return;
    const T scale = T(attrs<AffineAttrs>(n).scale);
    const T* g = n.grad.data();
    t.sink(n.parents[0]).each([&](std::size_t i) { return g[i] * scale; });
  }
  static constexpr OpDef<T> def{"scale_shift", forward, backward};
  static constexpr OpDef<T> neg_def{"neg", forward, backward};
};

// out = s / a.
struct ScalarDivAttrs {
  double numerator;
};
template <class T>
struct ScalarDiv {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    ensure_shape(n.value, shape_of(a));
    const T s = T(attrs<ScalarDivAttrs>(n).numerator);
    const T* x = a.data();
    T* y = n.value.data();
    for (std::size_t i = 0, e = a.size(); i < e; ++i) y[i] = s / x[i];
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    if (!t.needs_grad(n.parents[0])) return;
    const T s = T(attrs<ScalarDivAttrs>(n).numerator);
    const T* g = n.grad.data();
    const T* x = t.value(n.parents[0]).data();
    t.sink(n.parents[0]).each([&](std::size_t i) { return -g[i] * s / (x[i] * x[i]); });
  }
  static constexpr OpDef<T> def{"rdiv_scalar", forward, backward};
};

template <class T>
Var<T> binary(const OpDef<T>& def, Var<T> a, Var<T> b, std::source_location where) {
  Tape<T>& tape = common_tape(def.name, {a, b});
  return as_var(tape, tape.record(def, {a.index(), b.index()}, where));
}

template <class T>
Var<T> affine(const OpDef<T>& def, Var<T> a, double scale, double shift, std::source_location where) {
  Tape<T>& tape = common_tape(def.name, {a});
  return as_var(tape, tape.record(def, {a.index()}, where, AffineAttrs{.scale = scale, .shift = shift}));
}

}  // namespace

template <class T>
Var<T> add(Var<T> a, Var<T> b, std::source_location w) {
  return binary(Add<T>::def, a, b, w);
}
template <class T>
Var<T> sub(Var<T> a, Var<T> b, std::source_location w) {
  return binary(Sub<T>::def, a, b, w);
}
template <class T>
Var<T> mul(Var<T> a, Var<T> b, std::source_location w) {
  return binary(Mul<T>::def, a, b, w);
}
template <class T>
Var<T> div(Var<T> a, Var<T> b, std::source_location w) {
  return binary(Div<T>::def, a, b, w);
}
template <class T>
Var<T> maximum(Var<T> a, Var<T> b, std::source_location w) {
  return binary(Select<T, true>::def, a, b, w);
}
template <class T>
Var<T> minimum(Var<T> a, Var<T> b, std::source_location w) {
  return binary(Select<T, false>::def, a, b, w);
}
template <class T>
Var<T> neg(Var<T> a, std::source_location w) {
  return affine(Affine<T>::neg_def, a, -1, 0, w);
}
template <class T>
Var<T> add_scalar(Var<T> a, double s, std::source_location w) {
  return affine(Affine<T>::def, a, 1, s, w);
}
template <class T>
Var<T> mul_scalar(Var<T> a, double s, std::source_location w) {
  return affine(Affine<T>::def, a, s, 0, w);
}
template <class T>
Var<T> rsub_scalar(Var<T> a, double s, std::source_location w) {
  return affine(Affine<T>::def, a, -1, s, w);
}
template <class T>
Var<T> rdiv_scalar(Var<T> a, double s, std::source_location w) {
  Tape<T>& tape = common_tape("rdiv_scalar", {a});
  return as_var(tape, tape.record(ScalarDiv<T>::def, {a.index()}, w, ScalarDivAttrs{.numerator = s}));
}

#define AD_INSTANTIATE(T)                                                                     \
  template Var<T> add(Var<T>, Var<T>, std::source_location);                                  \
  template Var<T> sub(Var<T>, Var<T>, std::source_location);                                  \
  template Var<T> mul(Var<T>, Var<T>, std::source_location);                                  \
  template Var<T> div(Var<T>, Var<T>, std::source_location);                                  \
  template Var<T> maximum(Var<T>, Var<T>, std::source_location);                              \
  template Var<T> minimum(Var<T>, Var<T>, std::source_location);                              \
  template Var<T> neg(Var<T>, std::source_location);                                          \
  template Var<T> add_scalar(Var<T>, double, std::source_location);                           \
  template Var<T> mul_scalar(Var<T>, double, std::source_location);                           \
  template Var<T> rsub_scalar(Var<T>, double, std::source_location);                          \
  template Var<T> rdiv_scalar(Var<T>, double, std::source_location);                          \
  Var<T> operator+(Var<T> a, Operand<T> b) { return add(a, b.var, b.where); }                 \
  Var<T> operator-(Var<T> a, Operand<T> b) { return sub(a, b.var, b.where); }                 \
  Var<T> operator*(Var<T> a, Operand<T> b) { return mul(a, b.var, b.where); }                 \
  Var<T> operator/(Var<T> a, Operand<T> b) { return div(a, b.var, b.where); }                 \
  Var<T> operator-(Operand<T> a) { return neg(a.var, a.where); }                              \
  Var<T> operator+(Operand<T> a, T s) { return add_scalar(a.var, s, a.where); }               \
  Var<T> operator+(T s, Operand<T> a) { return add_scalar(a.var, s, a.where); }               \
  Var<T> operator-(Operand<T> a, T s) { return add_scalar(a.var, -double(s), a.where); }      \
  Var<T> operator-(T s, Operand<T> a) { return rsub_scalar(a.var, s, a.where); }              \
  Var<T> operator*(Operand<T> a, T s) { return mul_scalar(a.var, s, a.where); }               \
  Var<T> operator*(T s, Operand<T> a) { return mul_scalar(a.var, s, a.where); }               \
  Var<T> operator/(Operand<T> a, T s) { return mul_scalar(a.var, 1.0 / double(s), a.where); } \
  Var<T> operator/(T s, Operand<T> a) { return rdiv_scalar(a.var, s, a.where); }
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)

}  // namespace ad
