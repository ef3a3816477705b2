// Elementwise functions: exp, log, sqrt, square, pow, abs, tanh, sigmoid, relu, leaky_relu, clip.
// Transcendental forwards go through xtensor expressions (vectorized by xsimd); backwards are
// plain loops over the values the tape already holds (the input x and the output y), so no
// operation keeps an extra copy.
#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "kernels.hpp"

namespace ad {
namespace {
using namespace detail;

template <class T, class F>
void unary_forward(Tape<T>& t, Node<T>& n, F f) {
  const Tensor<T>& x = t.value(n.parents[0]);
  ensure_shape(n.value, shape_of(x));
  xt::noalias(n.value) = f(x);
}

template <class T>
struct Exp {
  static void forward(Tape<T>& t, Node<T>& n) {
    unary_forward(t, n, [](const auto& x) { return x; });
    exp_in_place(n.value);
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    map_backward(t, n, [](T, T y) { return y; });
  }
  static constexpr OpDef<T> def{"exp", forward, backward};
};

template <class T>
struct Log {
  static void forward(Tape<T>& t, Node<T>& n) {
    unary_forward(t, n, [](const auto& x) { return xt::log(x); });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    map_backward(t, n, [](T x, T) { return T(1) / x; });
  }
  static constexpr OpDef<T> def{"log", forward, backward};
};

template <class T>
struct Sqrt {
  static void forward(Tape<T>& t, Node<T>& n) {
    unary_forward(t, n, [](const auto& x) { return xt::sqrt(x); });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    map_backward(t, n, [](T, T y) { return T(0.5) / y; });
  }
  static constexpr OpDef<T> def{"sqrt", forward, backward};
};

template <class T>
struct Square {
  static void forward(Tape<T>& t, Node<T>& n) {
    map_forward(t, n, [](T x) { return x * x; });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    map_backward(t, n, [](T x, T) { return T(2) * x; });
  }
  static constexpr OpDef<T> def{"square", forward, backward};
};

struct PowAttrs {
  double exponent;
};
// d/dx x^p = p·x^(p−1), computed from x (y/x fails at x = 0). For
// p = 0 the function is the constant 1 and the derivative 0, not 0·0⁻¹ = NaN at x = 0.
template <class T>
struct Pow {
  static void forward(Tape<T>& t, Node<T>& n) {
    const T p = T(attrs<PowAttrs>(n).exponent);
    unary_forward(t, n, [p](const auto& x) { return xt::pow(x, p); });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const T p = T(attrs<PowAttrs>(n).exponent);
    if (p == T(0))
      map_backward(t, n, [](T, T) { return T(0); });
    else
      map_backward(t, n, [p](T x, T) { return p * std::pow(x, p - T(1)); });
  }
  static constexpr OpDef<T> def{"pow", forward, backward};
};

template <class T>
struct Abs {
  static void forward(Tape<T>& t, Node<T>& n) {
    map_forward(t, n, [](T x) { return std::abs(x); });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    map_backward(t, n, [](T x, T) { return x > 0 ? T(1) : x < 0 ? T(-1) : T(0); });
  }
  static void branches(const Tape<T>& t, const Node<T>& n, std::vector<std::uint8_t>& out) {
    sign_branches(t, n, out, T(0));
  }
  static constexpr OpDef<T> def{"abs", forward, backward, branches};
};

template <class T>
struct Tanh {
  static void forward(Tape<T>& t, Node<T>& n) {
    unary_forward(t, n, [](const auto& x) { return xt::tanh(x); });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    map_backward(t, n, [](T, T y) { return T(1) - y * y; });
  }
  static constexpr OpDef<T> def{"tanh", forward, backward};
};

template <class T>
struct Sigmoid {
  static void forward(Tape<T>& t, Node<T>& n) {
    unary_forward(t, n, [](const auto& x) { return -x; });
    exp_in_place(n.value);
    xt::noalias(n.value) = T(1) / (T(1) + n.value);
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    map_backward(t, n, [](T, T y) { return y * (T(1) - y); });
  }
  static constexpr OpDef<T> def{"sigmoid", forward, backward};
};

template <class T>
struct Relu {
  static void forward(Tape<T>& t, Node<T>& n) {
    map_forward(t, n, [](T x) { return x > 0 ? x : T(0); });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    map_backward(t, n, [](T x, T) { return x > 0 ? T(1) : T(0); });
  }
  static void branches(const Tape<T>& t, const Node<T>& n, std::vector<std::uint8_t>& out) {
    sign_branches(t, n, out, T(0));
  }
  static constexpr OpDef<T> def{"relu", forward, backward, branches};
};

struct LeakyReluAttrs {
  double slope;  // for x < 0
};
template <class T>
struct LeakyRelu {
  static void forward(Tape<T>& t, Node<T>& n) {
    const T slope = T(attrs<LeakyReluAttrs>(n).slope);
    map_forward(t, n, [slope](T x) { return x > 0 ? x : slope * x; });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const T slope = T(attrs<LeakyReluAttrs>(n).slope);
    map_backward(t, n, [slope](T x, T) { return x > 0 ? T(1) : slope; });
  }
  static void branches(const Tape<T>& t, const Node<T>& n, std::vector<std::uint8_t>& out) {
    sign_branches(t, n, out, T(0));
  }
  static constexpr OpDef<T> def{"leaky_relu", forward, backward, branches};
};

// The gradient passes on the closed interval [lo, hi], as in PyTorch's clamp.
struct ClipAttrs {
  double lo, hi;
};
template <class T>
struct Clip {
  static void forward(Tape<T>& t, Node<T>& n) {
    const T lo = T(attrs<ClipAttrs>(n).lo), hi = T(attrs<ClipAttrs>(n).hi);
    map_forward(t, n, [lo, hi](T x) { return x < lo ? lo : x > hi ? hi : x; });
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const T lo = T(attrs<ClipAttrs>(n).lo), hi = T(attrs<ClipAttrs>(n).hi);
    map_backward(t, n, [lo, hi](T x, T) { return x >= lo && x <= hi ? T(1) : T(0); });
  }
  // 0 below lo, 1 at lo, 2 inside, 3 at hi, 4 above hi.
  static void branches(const Tape<T>& t, const Node<T>& n, std::vector<std::uint8_t>& out) {
    const T lo = T(attrs<ClipAttrs>(n).lo), hi = T(attrs<ClipAttrs>(n).hi);
    for (T x : t.value(n.parents[0])) out.push_back(x < lo ? 0 : x == lo ? 1 : x < hi ? 2 : x == hi ? 3 : 4);
  }
  static constexpr OpDef<T> def{"clip", forward, backward, branches};
};

template <class T>
Var<T> unary(const OpDef<T>& def, Var<T> a, std::source_location where, OpAttrs attributes = {}) {
  Tape<T>& tape = common_tape(def.name, {a});
  return as_var(tape, tape.record(def, {a.index()}, where, attributes));
}

}  // namespace

template <class T>
Var<T> exp(Var<T> a, std::source_location w) {
  return unary(Exp<T>::def, a, w);
}
template <class T>
Var<T> log(Var<T> a, std::source_location w) {
  return unary(Log<T>::def, a, w);
}
template <class T>
Var<T> sqrt(Var<T> a, std::source_location w) {
  return unary(Sqrt<T>::def, a, w);
}
template <class T>
Var<T> square(Var<T> a, std::source_location w) {
  return unary(Square<T>::def, a, w);
}
template <class T>
Var<T> pow(Var<T> a, double p, std::source_location w) {
  return unary(Pow<T>::def, a, w, PowAttrs{p});
}
template <class T>
Var<T> abs(Var<T> a, std::source_location w) {
  return unary(Abs<T>::def, a, w);
}
template <class T>
Var<T> tanh(Var<T> a, std::source_location w) {
  return unary(Tanh<T>::def, a, w);
}
template <class T>
Var<T> sigmoid(Var<T> a, std::source_location w) {
  return unary(Sigmoid<T>::def, a, w);
}
template <class T>
Var<T> relu(Var<T> a, std::source_location w) {
  return unary(Relu<T>::def, a, w);
}
template <class T>
Var<T> leaky_relu(Var<T> a, double slope, std::source_location w) {
  if (!(slope >= 0)) throw ConfigError(fmt::format("leaky_relu: slope must be >= 0, got {}{}", slope, site_suffix(w)));
  return unary(LeakyRelu<T>::def, a, w, LeakyReluAttrs{slope});
}
template <class T>
Var<T> clip(Var<T> a, double lo, double hi, std::source_location w) {
  if (!(lo <= hi))
    throw ConfigError(fmt::format("clip: lower bound {} is above upper bound {}{}", lo, hi, site_suffix(w)));
  return unary(Clip<T>::def, a, w, ClipAttrs{.lo = lo, .hi = hi});
}

#define AD_INSTANTIATE(T)                                           \
  template Var<T> exp(Var<T>, std::source_location);                \
  template Var<T> log(Var<T>, std::source_location);                \
  template Var<T> sqrt(Var<T>, std::source_location);               \
  template Var<T> square(Var<T>, std::source_location);             \
  template Var<T> pow(Var<T>, double, std::source_location);        \
  template Var<T> abs(Var<T>, std::source_location);                \
  template Var<T> tanh(Var<T>, std::source_location);               \
  template Var<T> sigmoid(Var<T>, std::source_location);            \
  template Var<T> relu(Var<T>, std::source_location);               \
  template Var<T> leaky_relu(Var<T>, double, std::source_location); \
  template Var<T> clip(Var<T>, double, double, std::source_location);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)

}  // namespace ad
