// The operations. Each records one node on its operands' tape, runs its forward at once, and
// checks its operands' shapes (again on every replay). Every function takes the caller's source
// location as a defaulted last argument, so errors and anomaly reports point at the user's line.
//
// Broadcasting follows NumPy on matrices: a dimension of size 1 stretches to the other operand's;
// the backward sums the gradient back to each operand's shape. Axis 0 runs down a column (over
// rows), axis 1 along a row: with the course's X of shape (n_x, m), axis 1 is over examples and
// softmax over classes is axis 0.
#pragma once

#include <source_location>
#include <vector>

#include "autodiff/tape.hpp"

namespace ad {

#define AD_HERE std::source_location where = std::source_location::current()

// A Var together with the site of the expression that uses it, so that operators, which cannot
// take a defaulted location argument, still record the user's line.
template <class T>
struct Operand {
  Var<T> var;
  std::source_location where;
  Operand(Var<T> v, AD_HERE) : var(v), where(where) {}  // NOLINT: implicit on purpose
};

// Elementwise arithmetic with broadcasting.
template <class T>
Var<T> add(Var<T> a, Var<T> b, AD_HERE);
template <class T>
Var<T> sub(Var<T> a, Var<T> b, AD_HERE);
template <class T>
Var<T> mul(Var<T> a, Var<T> b, AD_HERE);
template <class T>
Var<T> div(Var<T> a, Var<T> b, AD_HERE);
template <class T>
Var<T> maximum(Var<T> a, Var<T> b, AD_HERE);  // ties: gradient split in half
template <class T>
Var<T> minimum(Var<T> a, Var<T> b, AD_HERE);
template <class T>
Var<T> neg(Var<T> a, AD_HERE);
template <class T>
Var<T> add_scalar(Var<T> a, double s, AD_HERE);  // a + s
template <class T>
Var<T> mul_scalar(Var<T> a, double s, AD_HERE);  // a * s
template <class T>
Var<T> rsub_scalar(Var<T> a, double s, AD_HERE);  // s - a
template <class T>
Var<T> rdiv_scalar(Var<T> a, double s, AD_HERE);  // s / a

// Matrix products through BLAS. Transposed operands are passed to BLAS as flags, never copied.
template <class T>
Var<T> matmul(Var<T> a, Var<T> b, bool transpose_a = false, bool transpose_b = false, AD_HERE);
template <class T>
Var<T> transpose(Var<T> a, AD_HERE);

// The activation functions of the course, for the whole stack (nn's layers use this enum too).
// linear() fuses all but softmax, which runs over each column (the classes of one example).
enum class Activation { linear, relu, leaky_relu, tanh, sigmoid, softmax };
const char* to_string(Activation a);
// Fused W·A + b followed by an activation: one node, one pass over Z (the Dense layer's kernel).
// Softmax is refused (ConfigError): apply ad::softmax to the result.
template <class T>
Var<T> linear(Var<T> W, Var<T> A, Var<T> b, Activation act = Activation::linear, double slope = 0.01, AD_HERE);
// The same for a batch stored one example per row, X of shape (m, n_in): g(W·Xᵀ + b), with Xᵀ passed
// to BLAS as a flag. A mini-batch gathered from an example-major data set is copied row by row into
// such an input without the transposition a (n_in, m) input costs (docs/design.md).
template <class T>
Var<T> linear_rows(Var<T> W, Var<T> X, Var<T> b, Activation act = Activation::linear, double slope = 0.01, AD_HERE);

// Reductions. Whole: (1, 1). Along an axis with keepdims: (1, C) for axis 0, (R, 1) for axis 1;
// without keepdims the remaining dimension is returned as a column vector, (C, 1) or (R, 1).
template <class T>
Var<T> sum(Var<T> a, AD_HERE);
template <class T>
Var<T> sum(Var<T> a, int axis, bool keepdims = true, AD_HERE);
template <class T>
Var<T> mean(Var<T> a, AD_HERE);
template <class T>
Var<T> mean(Var<T> a, int axis, bool keepdims = true, AD_HERE);

// Elementwise functions.
template <class T>
Var<T> exp(Var<T> a, AD_HERE);
template <class T>
Var<T> log(Var<T> a, AD_HERE);
template <class T>
Var<T> sqrt(Var<T> a, AD_HERE);
template <class T>
Var<T> square(Var<T> a, AD_HERE);
template <class T>
Var<T> pow(Var<T> a, double exponent, AD_HERE);
template <class T>
Var<T> abs(Var<T> a, AD_HERE);  // subgradient 0 at 0
template <class T>
Var<T> tanh(Var<T> a, AD_HERE);
template <class T>
Var<T> sigmoid(Var<T> a, AD_HERE);
template <class T>
Var<T> relu(Var<T> a, AD_HERE);  // gradient 0 at 0
template <class T>
Var<T> leaky_relu(Var<T> a, double slope = 0.01, AD_HERE);
template <class T>
Var<T> clip(Var<T> a, double lo, double hi, AD_HERE);  // gradient 1 on [lo, hi]

// Numerically stable (the maximum is subtracted first).
template <class T>
Var<T> softmax(Var<T> a, int axis = 0, AD_HERE);
template <class T>
Var<T> log_softmax(Var<T> a, int axis = 0, AD_HERE);

// Fused losses, averaged over the m examples (columns). Y is a constant or input of the logits'
// shape (one-hot for softmax). Their gradients are (ŷ − y)/m, computed without forming log ŷ.
template <class T>
Var<T> softmax_cross_entropy(Var<T> logits, Var<T> Y, AD_HERE);
template <class T>
Var<T> sigmoid_cross_entropy(Var<T> logits, Var<T> Y, AD_HERE);

// Shape operations.
template <class T>
Var<T> reshape(Var<T> a, std::size_t rows, std::size_t cols, AD_HERE);
template <class T>
Var<T> slice_rows(Var<T> a, std::size_t begin, std::size_t end, AD_HERE);  // [begin, end)
template <class T>
Var<T> slice_cols(Var<T> a, std::size_t begin, std::size_t end, AD_HERE);
template <class T>
Var<T> concat(const std::vector<Var<T>>& parts, int axis, AD_HERE);

// Inverted dropout: keeps each element with probability keep_prob and scales it by 1/keep_prob.
// A replay draws a new mask, unless the tape is frozen (then the last mask is reused).
template <class T>
Var<T> dropout(Var<T> a, double keep_prob, AD_HERE);

// The same value, cut from the graph: no gradient flows through it.
template <class T>
Var<T> detach(Var<T> a, AD_HERE);

// Operators, with the user's line recorded through Operand.
#define AD_DECLARE_OPERATORS(T)             \
  Var<T> operator+(Var<T> a, Operand<T> b); \
  Var<T> operator-(Var<T> a, Operand<T> b); \
  Var<T> operator*(Var<T> a, Operand<T> b); \
  Var<T> operator/(Var<T> a, Operand<T> b); \
  Var<T> operator-(Operand<T> a);           \
  Var<T> operator+(Operand<T> a, T s);      \
  Var<T> operator+(T s, Operand<T> a);      \
  Var<T> operator-(Operand<T> a, T s);      \
  Var<T> operator-(T s, Operand<T> a);      \
  Var<T> operator*(Operand<T> a, T s);      \
  Var<T> operator*(T s, Operand<T> a);      \
  Var<T> operator/(Operand<T> a, T s);      \
  Var<T> operator/(T s, Operand<T> a);
AD_DECLARE_OPERATORS(float)
AD_DECLARE_OPERATORS(double)
#undef AD_DECLARE_OPERATORS

}  // namespace ad
