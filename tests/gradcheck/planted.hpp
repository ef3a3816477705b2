// Test-only: operations with a correct forward and a deliberately wrong backward, and the MLP the
// gradcheck tests plant them in (20-32-32-5, tanh, softmax cross-entropy plus L2, batch 16).
//
// PlantedLinear copies the structure of the engine's fused Linear op (autodiff/src/ops_linear.cpp):
// y = g(W·A + b), one node, forward and backward side by side. Its backward carries one planted
// bug, chosen per node, so that a test knows exactly which block is wrong and how. Products are
// naive loops: the matrices are tiny and the point is readability, not speed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <autodiff/autodiff.hpp>

namespace planted {

enum class Bug : std::int64_t {
  none,
  dW_wrong,          // dW = dY·Aᵀ: g'(Z) forgotten in dW only (db is right)
  db_wrong,          // db = Σ_j dY: g'(Z) forgotten in db only (dW is right)
  dW_times_m,        // the loss's 1/m undone in dW: analytic = m × numeric
  db_times_m,        // the same in db
  dW_sign,           // dW = −dZ·Aᵀ
  db_sign,           // db = −Σ_j dZ
  dW_transposed,     // dW = (dZ·Aᵀ)ᵀ (square W only)
  db_zero,           // db written as zeros: backward drops the block
  db_skipped,        // db never written: the sweep does not reach b (disconnected)
  seed_plus_one,     // dW = dZ·Aᵀ + 1: not linear in the seed (engine contract)
  dW_one_element,    // one element of dW (its largest) with the wrong sign: a sample usually misses it
};

struct PlantedLinearAttrs {
  bool tanh;  // tanh or linear
  Bug bug;
};

template <class T>
struct PlantedLinear {
  static void forward(ad::Tape<T>& t, ad::Node<T>& n) {
    const auto& W = t.value(n.parents[0]);
    const auto& A = t.value(n.parents[1]);
    const auto& b = t.value(n.parents[2]);
    const std::size_t rows = W.shape()[0], inner = W.shape()[1], cols = A.shape()[1];
    if (A.shape()[0] != inner || b.shape()[0] != rows) throw ad::ShapeError("planted_linear: shapes do not fit");
    ad::ensure_shape(n.value, {rows, cols});
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j) {
        T z = b(i, 0);
        for (std::size_t k = 0; k < inner; ++k) z += W(i, k) * A(k, j);
        n.value(i, j) = n.template attrs<PlantedLinearAttrs>().tanh ? std::tanh(z) : z;
      }
  }

  static void backward(ad::Tape<T>& t, ad::Node<T>& n) {
    const auto [tanh, bug] = n.template attrs<PlantedLinearAttrs>();
    const auto& W = t.value(n.parents[0]);
    const auto& A = t.value(n.parents[1]);
    const std::size_t rows = n.value.shape()[0], cols = n.value.shape()[1], inner = W.shape()[1];
    const T m = T(cols);
    ad::Tensor<T> dZ = n.grad;
    if (tanh) dZ = n.grad * (T(1) - n.value * n.value);
    const ad::Tensor<T>& dZ_for_W = bug == Bug::dW_wrong ? n.grad : dZ;
    const ad::Tensor<T>& dZ_for_b = bug == Bug::db_wrong ? n.grad : dZ;

    if (t.needs_grad(n.parents[0])) {
      ad::Tensor<T> dW = ad::Tensor<T>::from_shape({rows, inner});
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t k = 0; k < inner; ++k) {
          T s = 0;
          for (std::size_t j = 0; j < cols; ++j) s += dZ_for_W(i, j) * A(k, j);
          dW(i, k) = s;
        }
      if (bug == Bug::dW_times_m) dW *= m;
      if (bug == Bug::dW_sign) dW *= T(-1);
      if (bug == Bug::seed_plus_one) dW += T(1);
      if (bug == Bug::dW_transposed) dW = ad::Tensor<T>(xt::transpose(dW));
      if (bug == Bug::dW_one_element) negate_largest(dW);
      t.sink(n.parents[0]).add(dW);
    }
    if (t.needs_grad(n.parents[1])) {
      ad::Tensor<T> dA = ad::Tensor<T>::from_shape({inner, cols});
      for (std::size_t k = 0; k < inner; ++k)
        for (std::size_t j = 0; j < cols; ++j) {
          T s = 0;
          for (std::size_t i = 0; i < rows; ++i) s += W(i, k) * dZ(i, j);
          dA(k, j) = s;
        }
      t.sink(n.parents[1]).add(dA);
    }
    if (t.needs_grad(n.parents[2]) && bug != Bug::db_skipped) {
      ad::Tensor<T> db = ad::Tensor<T>::from_shape({rows, std::size_t(1)});
      for (std::size_t i = 0; i < rows; ++i) {
        T s = 0;
        for (std::size_t j = 0; j < cols; ++j) s += dZ_for_b(i, j);
        db(i, 0) = s;
      }
      if (bug == Bug::db_times_m) db *= m;
      if (bug == Bug::db_sign) db *= T(-1);
      if (bug == Bug::db_zero) db.fill(T(0));
      t.sink(n.parents[2]).add(db);
    }
  }

  // Linear in the seed (scaling it keeps the largest element where it is): only the comparison sees it.
  static void negate_largest(ad::Tensor<T>& g) {
    auto largest = std::max_element(g.begin(), g.end(), [](T x, T y) { return std::abs(x) < std::abs(y); });
    *largest = -*largest;
  }

  static constexpr ad::OpDef<T> def{"planted_linear", forward, backward};
};

template <class T>
ad::Var<T> planted_linear(ad::Var<T> W, ad::Var<T> A, ad::Var<T> b, bool tanh, Bug bug,
                          std::source_location where = std::source_location::current()) {
  ad::Tape<T>& tape = W.tape();
  const auto index = tape.record(PlantedLinear<T>::def, {W.index(), A.index(), b.index()}, where,
                                 PlantedLinearAttrs{.tanh = tanh, .bug = bug});
  return ad::Var<T>(&tape, index);
}

// scale·Σ‖W‖² whose backward does nothing: the L2 term is in the cost but left out of backward.
template <class T>
struct L2WithoutBackward {
  struct Attrs {
    double scale;
  };
  static void forward(ad::Tape<T>& t, ad::Node<T>& n) {
    const auto& W = t.value(n.parents[0]);
    T s = 0;
    for (T w : W) s += w * w;
    ad::ensure_shape(n.value, {1, 1});
    n.value(0, 0) = T(n.template attrs<Attrs>().scale) * s;
  }
  static void backward(ad::Tape<T>&, ad::Node<T>&) {}
  static constexpr ad::OpDef<T> def{"l2_without_backward", forward, backward};
};

template <class T>
ad::Var<T> l2_without_backward(ad::Var<T> W, double scale, std::source_location where = std::source_location::current()) {
  ad::Tape<T>& tape = W.tape();
  return ad::Var<T>(&tape, tape.record(L2WithoutBackward<T>::def, {W.index()}, where, typename L2WithoutBackward<T>::Attrs{scale}));
}

// Which bugs a build plants: bug[l] in the Dense layer l (1-based; none: the engine's own linear),
// and the layer whose L2 term leaves backward out (0: none).
struct Plan {
  Bug layer[4] = {Bug::none, Bug::none, Bug::none, Bug::none};
  int l2_missing = 0;
  bool planted_everywhere = false;  // PlantedLinear (Bug::none) even in correct layers
};
inline Plan plant(int l, Bug bug) {
  Plan p;
  p.layer[l] = bug;
  return p;
}

// The MLP of the issue: 20-32-32-5, tanh, softmax cross-entropy plus λ/(2m)Σ‖W[l]‖², m = 16; one
// example per column, parameters named the course's way (1893 of them).
template <class T>
struct Mlp {
  static constexpr std::size_t n_x = 20, hidden = 32, classes = 5, m = 16;
  double lambda = 0.7;
  ad::Parameter<T> W1, b1, W2, b2, W3, b3;
  ad::Tensor<T> X, Y;

  explicit Mlp(std::uint64_t seed = 1)
      : W1("W[1]", random(hidden, n_x, seed, 1 / std::sqrt(double(n_x)))),
        b1("b[1]", random(hidden, 1, seed + 1, 0.3)),
        W2("W[2]", random(hidden, hidden, seed + 2, 1 / std::sqrt(double(hidden)))),
        b2("b[2]", random(hidden, 1, seed + 3, 0.3)),
        W3("W[3]", random(classes, hidden, seed + 4, 1 / std::sqrt(double(hidden)))),
        b3("b[3]", random(classes, 1, seed + 5, 0.3)),
        X(random(n_x, m, seed + 6, 1)),
        Y(xt::zeros<T>({classes, m})) {
    for (std::size_t j = 0; j < m; ++j) Y((j * 7 + seed) % classes, j) = T(1);
  }

  std::vector<ad::Parameter<T>*> parameters() { return {&W1, &b1, &W2, &b2, &W3, &b3}; }
  std::vector<ad::Parameter<T>*> weights() { return {&W1, &W2, &W3}; }
  double l2_scale() const { return lambda / double(m); }  // the L2 term's gradient is (λ/m)·W

  // Records the cost on `tape` with the bugs of `plan`; its two terms go to `data` and `l2` when given.
  ad::Var<T> cost(ad::Tape<T>& tape, const Plan& plan = {}, ad::Var<T>* data = nullptr, ad::Var<T>* l2_term = nullptr) {
    ad::Var<T> A = tape.constant(X, "X");
    ad::Parameter<T>* Ws[] = {&W1, &W2, &W3};
    ad::Parameter<T>* bs[] = {&b1, &b2, &b3};
    ad::Var<T> l2;
    for (int l = 1; l <= 3; ++l) {
      auto W = tape.parameter(*Ws[l - 1]);
      auto b = tape.parameter(*bs[l - 1]);
      const bool tanh = l < 3;
      if (plan.layer[l] != Bug::none || plan.planted_everywhere)
        A = planted_linear(W, A, b, tanh, plan.layer[l]);
      else
        A = ad::linear(W, A, b, tanh ? ad::Activation::tanh : ad::Activation::linear);
      const double scale = lambda / (2.0 * double(m));
      auto term = plan.l2_missing == l ? l2_without_backward(W, scale) : ad::mul_scalar(ad::sum(ad::square(W)), scale);
      l2 = l == 1 ? term : l2 + term;
    }
    auto cross_entropy = ad::softmax_cross_entropy(A, tape.constant(Y, "Y"));
    if (data) *data = cross_entropy;
    if (l2_term) *l2_term = l2;
    return cross_entropy + l2;
  }

  static ad::Tensor<T> random(std::size_t rows, std::size_t cols, std::uint64_t seed, double scale) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0, scale);
    ad::Tensor<T> t = ad::Tensor<T>::from_shape({rows, cols});
    for (T& x : t) x = T(normal(rng));
    return t;
  }
};

}  // namespace planted
