// Matrix products: matmul (BLAS, transposes passed as flags), transpose, and the fused
// Dense kernel linear(W, A, b, activation) = g(W·A + b).
#include <optional>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "autodiff/parallel.hpp"
#include "gemm.hpp"
#include "kernels.hpp"

namespace ad {

const char* to_string(Activation a) {
  switch (a) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::leaky_relu: return "leaky_relu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
    case Activation::softmax: return "softmax";
  }
  return "?";
}

namespace {
using namespace detail;

struct MatMulAttrs {
  bool transpose_a, transpose_b;
};

template <class T>
struct MatMul {
  static Shape infer(const Tape<T>& t, const Node<T>& n) {
    const auto [ta, tb] = attrs<MatMulAttrs>(n);
    const Shape a = shape_at(t, n.parents[0]), b = shape_at(t, n.parents[1]);
    const std::size_t ka = ta ? a[0] : a[1], kb = tb ? b[1] : b[0];
    if (ka != kb)
      throw ShapeError(fmt::format("matmul: {}{} but {}{}: inner dimensions {} and {} differ{}",
                                   operand_text(t, n.parents[0]), ta ? " (transposed)" : "",
                                   operand_text(t, n.parents[1]), tb ? " (transposed)" : "", ka, kb, site(n)));
    return {ta ? a[1] : a[0], tb ? b[0] : b[1]};
  }
  static void forward(Tape<T>& t, Node<T>& n) {
    ensure_shape(n.value, infer(t, n));
    const auto [ta, tb] = attrs<MatMulAttrs>(n);
    gemm(t.value(n.parents[0]), t.value(n.parents[1]), n.value, ta, tb, false);
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const auto [ta, tb] = attrs<MatMulAttrs>(n);
    const std::uint32_t pa = n.parents[0], pb = n.parents[1];
    const Tensor<T>& G = n.grad;
    // C = op(A)·op(B): dop(A) = G·op(B)ᵀ and dop(B) = op(A)ᵀ·G, then undo the op on the left side.
    if (t.needs_grad(pa)) {
      const Tensor<T>& B = t.value(pb);
      if (!ta)
        t.sink(pa).gemm(G, B, false, !tb);  // dA = G·op(B)ᵀ
      else
        t.sink(pa).gemm(B, G, tb, true);  // dA = op(B)·Gᵀ
    }
    if (t.needs_grad(pb)) {
      const Tensor<T>& A = t.value(pa);
      if (!tb)
        t.sink(pb).gemm(A, G, !ta, false);  // dB = op(A)ᵀ·G
      else
        t.sink(pb).gemm(G, A, true, ta);  // dB = Gᵀ·op(A)
    }
  }
  static constexpr OpDef<T> def{"matmul", forward, backward};
};

template <class T>
struct Transpose {
  static void forward(Tape<T>& t, Node<T>& n) {
    const Tensor<T>& a = t.value(n.parents[0]);
    const std::size_t R = a.shape()[0], C = a.shape()[1];
    ensure_shape(n.value, {C, R});
    for (std::size_t i = 0; i < R; ++i)
      for (std::size_t j = 0; j < C; ++j) n.value(j, i) = a(i, j);
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    if (!t.needs_grad(n.parents[0])) return;
    const T* g = n.grad.data();
    const std::size_t R = n.grad.shape()[1];  // the parent is (R, C), its gradient's transpose
    t.sink(n.parents[0]).each_2d([g, R](std::size_t i, std::size_t j) { return g[j * R + i]; });
  }
  static constexpr OpDef<T> def{"transpose", forward, backward};
};

// The elementwise halves of Linear, as functions of plain pointers: called from parallel_for's
// pieces, a loop that reads pointers captured in a lambda is not vectorized by GCC 12 (it reloads
// them after every store), a loop over function arguments is.
//
// y(i, j) = g(y(i, j) + b(i)) for rows [first, last) of C columns (the identity, relu or leaky relu
// here; tanh and sigmoid are applied afterwards to the whole of y).
template <class T>
void bias_activation_rows(T* y, const T* b, std::size_t C, std::size_t first, std::size_t last, Activation act,
                          T slope) {
  for (std::size_t i = first; i < last; ++i) {
    T* row = y + i * C;
    const T bi = b[i];
    switch (act) {
      case Activation::relu:
        for (std::size_t j = 0; j < C; ++j) row[j] = std::max(row[j] + bi, T(0));
        break;
      case Activation::leaky_relu:
        for (std::size_t j = 0; j < C; ++j) {
          const T z = row[j] + bi;
          row[j] = z > 0 ? z : slope * z;
        }
        break;
      default:
        for (std::size_t j = 0; j < C; ++j) row[j] += bi;
    }
  }
}

// d = g ⊙ g'(z) over n elements, g' written as a function of the output y.
template <class T>
void activation_grad(T* d, const T* y, const T* g, std::size_t n, Activation act, T slope) {
  switch (act) {
    case Activation::relu:
      for (std::size_t i = 0; i < n; ++i) d[i] = y[i] > 0 ? g[i] : T(0);
      break;
    case Activation::leaky_relu:
      for (std::size_t i = 0; i < n; ++i) d[i] = y[i] > 0 ? g[i] : slope * g[i];
      break;
    case Activation::tanh:
      for (std::size_t i = 0; i < n; ++i) d[i] = g[i] * (T(1) - y[i] * y[i]);
      break;
    case Activation::sigmoid:
      for (std::size_t i = 0; i < n; ++i) d[i] = g[i] * y[i] * (T(1) - y[i]);
      break;
    case Activation::linear:
    case Activation::softmax: break;  // refused when recorded
  }
}

// y = g(W·op(A) + b). Keeps nothing but its output: each activation's derivative is a function of y.
struct LinearAttrs {
  Activation activation;
  bool rows;     // A holds one example per row: op(A) = Aᵀ, passed to BLAS as a flag
  double slope;  // leaky_relu's, for z < 0
};

template <class T>
struct Linear {
  static Shape infer(const Tape<T>& t, const Node<T>& n) {
    const Shape W = shape_at(t, n.parents[0]), b = shape_at(t, n.parents[2]);
    Shape A = shape_at(t, n.parents[1]);
    if (attrs<LinearAttrs>(n).rows) std::swap(A[0], A[1]);
    if (W[1] != A[0])
      throw ShapeError(fmt::format("{}: {} but {}: inner dimensions {} and {} differ{}", n.op->name,
                                   operand_text(t, n.parents[0]), operand_text(t, n.parents[1]), W[1], A[0], site(n)));
    if (b != Shape{W[0], 1})
      throw ShapeError(fmt::format("{}: {} but {}: the bias must be ({}, 1){}", n.op->name,
                                   operand_text(t, n.parents[2]), operand_text(t, n.parents[0]), W[0], site(n)));
    return {W[0], A[1]};
  }
  static void forward(Tape<T>& t, Node<T>& n) {
    const Shape s = infer(t, n);
    ensure_shape(n.value, s);
    Tensor<T>& y = n.value;
    const LinearAttrs& at = attrs<LinearAttrs>(n);
    gemm(t.value(n.parents[0]), t.value(n.parents[1]), y, false, at.rows, false);
    const T* b = t.value(n.parents[2]).data();
    const Activation act = at.activation;
    const T slope = T(at.slope);
    // Rows split over OpenBLAS's threads: the product just left them in both cores' caches.
    T* out = y.data();
    const std::size_t C = s[1];
    parallel_for(s[0], rows_per_piece(C), [=](std::size_t first, std::size_t last) {
      bias_activation_rows(out, b, C, first, last, act, slope);
    });
    if (act == Activation::tanh) xt::noalias(y) = xt::tanh(y);
    if (act == Activation::sigmoid) {
      xt::noalias(y) = -y;
      exp_in_place(y);
      xt::noalias(y) = T(1) / (T(1) + y);
    }
  }
  static void backward(Tape<T>& t, Node<T>& n) {
    const LinearAttrs& at = attrs<LinearAttrs>(n);
    const Activation act = at.activation;
    const T slope = T(at.slope);
    const T* y = n.value.data();
    const T* g = n.grad.data();
    const Shape shape = shape_of(n.value);
    const std::size_t C = shape[1];
    const std::uint32_t pW = n.parents[0], pA = n.parents[1], pb = n.parents[2];
    // The bias's sink is taken here, on this thread: it marks the tape, which the pieces must not.
    const bool want_db = t.needs_grad(pb);
    const std::optional<GradSink<T>> db = want_db ? std::optional(t.sink(pb)) : std::nullopt;
    // dZ = dY ⊙ g'(Z), written into scratch (dZ is dY itself for a linear activation), and db the
    // row sums of dZ, each row summed right after it is written (still in L1). Rows split over
    // OpenBLAS's threads; a row is computed and summed exactly as in GradSink::reduce_from.
    const Tensor<T>* dz = &n.grad;
    if (act != Activation::linear) {
      ensure_shape(n.scratch, shape);
      dz = &n.scratch;
    }
    T* d = act != Activation::linear ? n.scratch.data() : nullptr;
    const T* dzp = dz->data();
    const GradSink<T>* dbs = db ? &*db : nullptr;
    if (d || dbs)
      parallel_for(shape[0], rows_per_piece(C), [=](std::size_t first, std::size_t last) {
        for (std::size_t r = first; r < last; ++r) {
          const std::size_t lo = r * C;
          if (d) activation_grad(d + lo, y + lo, g + lo, C, act, slope);
          if (dbs) dbs->at(r, C == 1 ? dzp[lo] : sum_contiguous(dzp + lo, C));
        }
      });
    const bool rows = at.rows;
    if (t.needs_grad(pW)) t.sink(pW).gemm(*dz, t.value(pA), false, !rows);  // dW = dZ·op(A)ᵀ
    if (t.needs_grad(pA)) {
      if (!rows)
        t.sink(pA).gemm(t.value(pW), *dz, true, false);  // dA = Wᵀ·dZ
      else
        t.sink(pA).gemm(*dz, t.value(pW), true, false);  // dA = (Wᵀ·dZ)ᵀ = dZᵀ·W
    }
  }
  // Which side of 0 each pre-activation lies (relu and leaky relu only; the others are smooth).
  static void branches(const Tape<T>& t, const Node<T>& n, std::vector<std::uint8_t>& out) {
    (void)t;
    const Activation act = attrs<LinearAttrs>(n).activation;
    if (act != Activation::relu && act != Activation::leaky_relu) return;
    // relu's output is 0 on the whole negative side, so only y > 0 tells the branch apart there.
    for (T y : n.value) out.push_back(y > 0 ? 2 : (y < 0 || act == Activation::relu) ? 0 : 1);
  }
  static constexpr OpDef<T> def{"linear", forward, backward, branches};
  static constexpr OpDef<T> rows_def{"linear_rows", forward, backward, branches};
};

}  // namespace

template <class T>
Var<T> matmul(Var<T> a, Var<T> b, bool transpose_a, bool transpose_b, std::source_location w) {
  Tape<T>& tape = common_tape("matmul", {a, b});
  return as_var(tape, tape.record(MatMul<T>::def, {a.index(), b.index()}, w,
                                  MatMulAttrs{.transpose_a = transpose_a, .transpose_b = transpose_b}));
}

template <class T>
Var<T> transpose(Var<T> a, std::source_location w) {
  Tape<T>& tape = common_tape("transpose", {a});
  return as_var(tape, tape.record(Transpose<T>::def, {a.index()}, w));
}

template <class T>
Var<T> record_linear(const OpDef<T>& def, Var<T> W, Var<T> A, Var<T> b, Activation act, double slope, bool rows,
                     std::source_location w) {
  if (act == Activation::softmax)
    throw ConfigError(
        fmt::format("{}: softmax is not fused; apply ad::softmax to its result{}", def.name, site_suffix(w)));
  if (act == Activation::leaky_relu && !(slope >= 0))
    throw ConfigError(fmt::format("{}: leaky_relu slope must be >= 0, got {}{}", def.name, slope, site_suffix(w)));
  Tape<T>& tape = common_tape(def.name, {W, A, b});
  return as_var(tape, tape.record(def, {W.index(), A.index(), b.index()}, w,
                                  LinearAttrs{.activation = act, .rows = rows, .slope = slope}));
}

template <class T>
Var<T> linear(Var<T> W, Var<T> A, Var<T> b, Activation act, double slope, std::source_location w) {
  return record_linear(Linear<T>::def, W, A, b, act, slope, false, w);
}

template <class T>
Var<T> linear_rows(Var<T> W, Var<T> X, Var<T> b, Activation act, double slope, std::source_location w) {
  return record_linear(Linear<T>::rows_def, W, X, b, act, slope, true, w);
}

#define AD_INSTANTIATE(T)                                                                   \
  template Var<T> matmul(Var<T>, Var<T>, bool, bool, std::source_location);                 \
  template Var<T> transpose(Var<T>, std::source_location);                                  \
  template Var<T> linear(Var<T>, Var<T>, Var<T>, Activation, double, std::source_location); \
  template Var<T> linear_rows(Var<T>, Var<T>, Var<T>, Activation, double, std::source_location);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)

}  // namespace ad
