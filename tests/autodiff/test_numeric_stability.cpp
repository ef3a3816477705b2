// Logits of ±1000 (far past exp's overflow in both float and double) through softmax, log_softmax,
// sigmoid, tanh, the fused linear activations and the fused losses: exact values and exact,
// finite gradients, in float and in double. Every tape runs in anomaly mode, so a NaN or Inf
// anywhere, forward or backward, fails the test with the operation's name.
#define BOOST_TEST_MODULE autodiff numeric stability
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <tuple>

#include <xtensor/xmanipulation.hpp>

#include "fixtures.hpp"

namespace tt = boost::test_tools;
using ad::Activation;
using ad::Tensor;
using ad::Var;
using scalar_types = std::tuple<float, double>;

namespace {

// Transposed for the same check along the other axis.
template <class T>
Tensor<T> transposed(const Tensor<T>& t) {
  return xt::transpose(t);
}

// The gradient that `seed` on f(z) sends back to z, z a parameter, with anomaly mode on.
template <class T, class F>
Tensor<T> gradient(const Tensor<T>& z, const Tensor<T>& seed, F f, Tensor<T>* value = nullptr) {
  ad::Parameter<T> p("Z", z);
  ad::Tape<T> tape;
  tape.set_anomaly_detection(true);
  auto y = f(tape.parameter(p));
  if (value) *value = y.value();
  tape.backward(y, seed);
  return p.grad;
}

// Columns along axis 0: {1000, 1000, −1000} (a tie far above the third) and {−1000, 0, 1000}.
template <class T>
struct HugeLogits {
  const T ln2 = T(std::log(2.0));
  const Tensor<T> Z = {{1000, -1000}, {1000, 0}, {-1000, 1000}};
  const Tensor<T> seed = {{1, 1}, {0, 0}, {0, 0}};
};

// op(Z, axis) of the huge logits along each axis (transposed for axis 1, so the columns become
// rows): its value and the gradient of the seed against the expected ones, stated for axis 0.
template <class T, class Op>
void expect_along_each_axis(Op op, const Tensor<T>& expected_value, const Tensor<T>& expected_grad) {
  const HugeLogits<T> h;
  for (int axis : {0, 1}) {
    BOOST_TEST_CONTEXT("axis " << axis) {
      const bool rows = axis == 1;
      Tensor<T> value;
      const Tensor<T> grad = gradient<T>(rows ? transposed(h.Z) : h.Z, rows ? transposed(h.seed) : h.seed,
                                         [&](Var<T> z) { return op(z, axis); }, &value);
      BOOST_TEST(value == (rows ? transposed(expected_value) : expected_value),
                 tt::tolerance(T(1e-6)) << tt::per_element());
      BOOST_TEST(grad == (rows ? transposed(expected_grad) : expected_grad), tt::tolerance(T(1e-6)) << tt::per_element());
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(softmax_family)

BOOST_AUTO_TEST_CASE_TEMPLATE(softmax_of_huge_logits_along_each_axis, T, scalar_types) {
  // y ⊙ (g − Σ g·y): 0.5·(1 − 0.5) and 0.5·(0 − 0.5) for the tie, 0 for the saturated column.
  // Float keeps ~7 digits of 0.5 only if exp sees x − max, not x − (max + log Σ) rounded at 1000.
  expect_along_each_axis<T>([](Var<T> z, int axis) { return ad::softmax(z, axis); },
                            {{0.5, 0}, {0.5, 0}, {0, 1}}, {{0.25, 0}, {-0.25, 0}, {0, 0}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(log_softmax_of_huge_logits_along_each_axis, T, scalar_types) {
  const T l = HugeLogits<T>().ln2;
  // g − softmax · Σ g.
  expect_along_each_axis<T>([](Var<T> z, int axis) { return ad::log_softmax(z, axis); },
                            {{-l, -2000}, {-l, -1000}, {-1000 - 1000 - l, 0}}, {{0.5, 1}, {-0.5, 0}, {0, -1}});
}

BOOST_AUTO_TEST_CASE_TEMPLATE(fused_losses_of_huge_logits, T, scalar_types) {
  // Softmax cross-entropy: the right class 2000 below the other; dZ = (softmax − Y)/m.
  ad::Parameter<T> logits("Z", Tensor<T>{{1000}, {-1000}});
  ad::Tape<T> tape;
  tape.set_anomaly_detection(true);
  auto K = ad::softmax_cross_entropy(tape.parameter(logits), tape.constant(Tensor<T>{{0}, {1}}));
  BOOST_TEST(K.value()(0, 0) == T(2000));
  tape.backward(K);
  BOOST_TEST(logits.grad == (Tensor<T>{{1}, {-1}}), tt::per_element());

  // A tie of two huge logits: J = log 2 to float's precision, not rounded at the logits' magnitude.
  ad::Parameter<T> tie("tie", Tensor<T>{{1000}, {1000}});
  auto L = ad::softmax_cross_entropy(tape.parameter(tie), tape.constant(Tensor<T>{{1}, {0}}));
  BOOST_TEST(L.value()(0, 0) == T(std::log(2.0)), tt::tolerance(T(1e-6)));
  tape.backward(L);
  BOOST_TEST(tie.grad == (Tensor<T>{{-0.5}, {0.5}}), tt::tolerance(T(1e-6)) << tt::per_element());

  // Sigmoid cross-entropy, m = 2: (1000 + 0)/2; dZ = (σ(z) − y)/m = {(1 − 0)/2, (0 − 0)/2}.
  ad::Parameter<T> z("z", Tensor<T>{{1000, -1000}});
  auto J = ad::sigmoid_cross_entropy(tape.parameter(z), tape.constant(Tensor<T>{{0, 0}}));
  BOOST_TEST(J.value()(0, 0) == T(500));
  tape.backward(J);
  BOOST_TEST(z.grad == (Tensor<T>{{0.5, 0}}), tt::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(saturating_activations)

BOOST_AUTO_TEST_CASE_TEMPLATE(sigmoid_and_tanh_saturate_to_exact_values_with_zero_gradient, T, scalar_types) {
  const Tensor<T> z = {{-1000, 1000, -100, 100}};
  const Tensor<T> seed = {{1, 1, 1, 1}};
  Tensor<T> s, t;
  const Tensor<T> ds = gradient<T>(z, seed, [](Var<T> v) { return ad::sigmoid(v); }, &s);
  const Tensor<T> dt = gradient<T>(z, seed, [](Var<T> v) { return ad::tanh(v); }, &t);
  BOOST_TEST(s(0, 0) == T(0));
  BOOST_TEST(s(0, 1) == T(1));
  BOOST_TEST((s(0, 2) >= T(0) && s(0, 2) < T(1e-40)));  // 3.7e−44, or 0 in float
  BOOST_TEST(s(0, 3) == T(1));
  BOOST_TEST(t == (Tensor<T>{{-1, 1, -1, 1}}), tt::per_element());
  BOOST_TEST(ds(0, 0) == T(0));
  BOOST_TEST(ds(0, 1) == T(0));
  BOOST_TEST(ds(0, 3) == T(0));
  BOOST_TEST(dt == (Tensor<T>{{0, 0, 0, 0}}), tt::per_element());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(fused_linear_activations_of_huge_pre_activations, T, scalar_types) {
  // W·A + b = {−1000, 1000, 0}: the saturated columns pass no gradient to W, the middle one does.
  const Tensor<T> A = {{-1000, 1000, 0}};
  for (Activation act : {Activation::sigmoid, Activation::tanh, Activation::relu, Activation::leaky_relu}) {
    BOOST_TEST_CONTEXT(ad::to_string(act)) {
      ad::Parameter<T> W("W[1]", Tensor<T>{{1}}), b("b[1]", Tensor<T>{{0}});
      ad::Tape<T> tape;
      tape.set_anomaly_detection(true);
      auto y = ad::linear(tape.parameter(W), tape.input("A", A), tape.parameter(b), act, 0.01);
      tape.backward(ad::sum(y));
      const bool smooth = act == Activation::sigmoid || act == Activation::tanh;
      // Saturated sigmoid/tanh: dW = dz at 0 times 0; relu: 1000; leaky relu: 1000 + 0.01·(−1000).
      const T expected_dW = smooth ? T(0) : act == Activation::relu ? T(1000) : T(1000 - 10);
      BOOST_TEST(W.grad(0, 0) == expected_dW, tt::tolerance(T(1e-6)));
      BOOST_TEST(std::isfinite(b.grad(0, 0)));
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(exp_of_nan_and_of_arguments_beyond_integer_range, T, scalar_types) {
  // xsimd's vectorized exp converts its argument to an integer: for NaN or ±1e30 that is undefined
  // behaviour, which the sanitized suite (float-cast-overflow) halts on. NaN must stay NaN.
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  const Tensor<T> z = {{nan, T(-1e30), T(1e30), 0}};
  ad::Tape<T> tape;
  const auto x = tape.input("z", z);
  const Tensor<T> e = ad::exp(x).value(), s = ad::sigmoid(x).value();
  BOOST_TEST(std::isnan(e(0, 0)));
  BOOST_TEST(e(0, 1) == T(0));
  BOOST_TEST(e(0, 2) == inf);
  BOOST_TEST(e(0, 3) == T(1));
  BOOST_TEST(std::isnan(s(0, 0)));
  BOOST_TEST(s(0, 1) == T(0));
  BOOST_TEST(s(0, 2) == T(1));
  ad::Parameter<T> W("W[1]", Tensor<T>{{1}}), b("b[1]", Tensor<T>{{0}});
  const Tensor<T> y = ad::linear(tape.parameter(W), x, tape.parameter(b), Activation::sigmoid).value();
  BOOST_TEST(std::isnan(y(0, 0)));
  BOOST_TEST(y(0, 1) == T(0));
  const Tensor<T> p = ad::softmax(tape.input("logits", Tensor<T>{{nan, 0}, {T(-1e30), 0}}), 0).value();
  BOOST_TEST(std::isnan(p(0, 0)));
}

BOOST_AUTO_TEST_SUITE_END()
