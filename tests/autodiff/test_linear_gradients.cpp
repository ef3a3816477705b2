// Matrix products and what is built on them: matmul with every pair of transpose flags, transpose,
// the fused Dense kernel linear(W, A, b, activation) with every activation (and linear_rows, its
// example-per-row form), and the fused losses. Values against naive references, gradients
// against centered differences in double.
#define BOOST_TEST_MODULE autodiff linear algebra and loss gradients
#include <boost/test/unit_test.hpp>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "finite_differences.hpp"

namespace tt = boost::test_tools;
using ad::Activation;
using ad::Tensor;
using ad::Var;
using V = std::vector<Var<double>>;

namespace {

void check_value(const Tensor<double>& value, const Tensor<double>& expected) {
  BOOST_TEST(ad::to_string(ad::shape_of(value)) == ad::to_string(ad::shape_of(expected)));
  BOOST_TEST(value == expected, tt::tolerance(1e-12) << tt::per_element());
}

Tensor<double> transposed(const Tensor<double>& a) {
  Tensor<double> t = xt::empty<double>({a.shape()[1], a.shape()[0]});
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    for (std::size_t j = 0; j < a.shape()[1]; ++j) t(j, i) = a(i, j);
  return t;
}

// The triple loop, independent of BLAS.
Tensor<double> naive_product(const Tensor<double>& a, const Tensor<double>& b) {
  Tensor<double> c = xt::zeros<double>({a.shape()[0], b.shape()[1]});
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    for (std::size_t j = 0; j < b.shape()[1]; ++j)
      for (std::size_t k = 0; k < a.shape()[1]; ++k) c(i, j) += a(i, k) * b(k, j);
  return c;
}

Tensor<double> activate(const Tensor<double>& z, Activation act, double slope) {
  switch (act) {
    case Activation::linear: return z;
    case Activation::relu: return xt::where(z > 0, z, 0.0);
    case Activation::leaky_relu: return xt::where(z > 0, z, slope * z);
    case Activation::tanh: return fixtures::map(z, [](double v) { return std::tanh(v); });
    case Activation::sigmoid: return fixtures::map(z, [](double v) { return 1 / (1 + std::exp(-v)); });
    case Activation::softmax: break;  // not fused by linear (refused, see test_errors)
  }
  return z;
}

constexpr Activation all_activations[] = {Activation::linear, Activation::relu, Activation::leaky_relu,
                                          Activation::tanh, Activation::sigmoid};

}  // namespace

BOOST_AUTO_TEST_SUITE(products)

BOOST_AUTO_TEST_CASE(matmul_with_every_pair_of_transpose_flags) {
  std::mt19937 rng(1);
  const std::size_t m = 3, k = 4, n = 5;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      BOOST_TEST_CONTEXT("transpose_a " << ta << ", transpose_b " << tb) {
        // Stored so that op(a) is (m, k) and op(b) is (k, n).
        const Tensor<double> a = ta ? fixtures::uniform(k, m, -1, 1, rng) : fixtures::uniform(m, k, -1, 1, rng);
        const Tensor<double> b = tb ? fixtures::uniform(n, k, -1, 1, rng) : fixtures::uniform(k, n, -1, 1, rng);
        ad::Tape<double> tape;
        const auto c = ad::matmul(tape.constant(a), tape.constant(b), ta, tb);
        check_value(c.value(), naive_product(ta ? transposed(a) : a, tb ? transposed(b) : b));
        CHECK_GRADIENTS(fd::check_op({a, b}, [&](const V& v) { return ad::matmul(v[0], v[1], ta, tb); }));
      }
    }
}

BOOST_AUTO_TEST_CASE(matmul_of_a_matrix_with_its_own_transpose_accumulates_both_sides) {
  std::mt19937 rng(2);
  const Tensor<double> a = fixtures::uniform(3, 4, -1, 1, rng);
  CHECK_GRADIENTS(fd::check_op({a}, [](const V& v) { return ad::matmul(v[0], v[0], false, true); }));
  CHECK_GRADIENTS(fd::check_op({a}, [](const V& v) { return ad::matmul(v[0], v[0], true, false); }));
}

BOOST_AUTO_TEST_CASE(transpose_value_and_gradient) {
  std::mt19937 rng(3);
  const Tensor<double> a = fixtures::uniform(3, 4, -1, 1, rng);
  ad::Tape<double> tape;
  check_value(ad::transpose(tape.constant(a)).value(), transposed(a));
  CHECK_GRADIENTS(fd::check_op({a}, [](const V& v) { return ad::transpose(v[0]); }));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dense_kernel)

// W (4, 3), A (3, 5), b (4, 1), with every pre-activation at least 0.05 away from 0 (relu's kink).
struct Layer {
  Tensor<double> W, A, b;
  Layer() {
    for (unsigned seed = 1;; ++seed) {
      std::mt19937 rng(seed);
      W = fixtures::uniform(4, 3, -1, 1, rng);
      A = fixtures::uniform(3, 5, -1, 1, rng);
      b = fixtures::uniform(4, 1, -0.5, 0.5, rng);
      if (xt::amin(xt::abs(pre_activation()))() > 0.05) return;
    }
  }
  Tensor<double> pre_activation() const { return naive_product(W, A) + b; }
};

BOOST_FIXTURE_TEST_CASE(linear_with_every_activation, Layer) {
  for (Activation act : all_activations) {
    BOOST_TEST_CONTEXT("activation " << ad::to_string(act)) {
      ad::Tape<double> tape;
      const auto y = ad::linear(tape.constant(W), tape.constant(A), tape.constant(b), act, 0.1);
      check_value(y.value(), activate(pre_activation(), act, 0.1));
      CHECK_GRADIENTS(fd::check_op({W, A, b}, [&](const V& v) { return ad::linear(v[0], v[1], v[2], act, 0.1); }));
    }
  }
}

BOOST_FIXTURE_TEST_CASE(linear_defaults_to_no_activation, Layer) {
  ad::Tape<double> tape;
  check_value(ad::linear(tape.constant(W), tape.constant(A), tape.constant(b)).value(), pre_activation());
}

BOOST_FIXTURE_TEST_CASE(linear_rows_takes_one_example_per_row, Layer) {
  const Tensor<double> X = transposed(A);  // (5, 3)
  for (Activation act : all_activations) {
    BOOST_TEST_CONTEXT("activation " << ad::to_string(act)) {
      ad::Tape<double> tape;
      const auto y = ad::linear_rows(tape.constant(W), tape.constant(X), tape.constant(b), act, 0.1);
      check_value(y.value(), activate(pre_activation(), act, 0.1));
      CHECK_GRADIENTS(
          fd::check_op({W, X, b}, [&](const V& v) { return ad::linear_rows(v[0], v[1], v[2], act, 0.1); }));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(losses)

// Logits (4 classes, 5 examples), soft labels (so that the labels' gradient is tested too) and
// one-hot labels.
struct Batch {
  Tensor<double> Z, soft, one_hot;
  Batch() {
    std::mt19937 rng(4);
    Z = fixtures::uniform(4, 5, -2, 2, rng);
    soft = fixtures::uniform(4, 5, 0.05, 0.95, rng);
    one_hot = xt::zeros<double>({4, 5});
    for (std::size_t j = 0; j < 5; ++j) one_hot((j * 3) % 4, j) = 1;
  }
};

BOOST_FIXTURE_TEST_CASE(softmax_cross_entropy_value_is_the_mean_negative_log_likelihood, Batch) {
  ad::Tape<double> tape;
  const double J = ad::softmax_cross_entropy(tape.constant(Z), tape.constant(one_hot)).value()(0, 0);
  const Tensor<double> e = fixtures::map(Z, [](double v) { return std::exp(v); });
  double expected = 0;
  for (std::size_t j = 0; j < 5; ++j) {
    const double total = e(0, j) + e(1, j) + e(2, j) + e(3, j);
    expected -= std::log(e((j * 3) % 4, j) / total) / 5;
  }
  BOOST_TEST(J == expected, tt::tolerance(1e-12));
}

BOOST_FIXTURE_TEST_CASE(softmax_cross_entropy_gradients_for_logits_and_labels, Batch) {
  CHECK_GRADIENTS(fd::check_op({Z, one_hot}, [](const V& v) { return ad::softmax_cross_entropy(v[0], v[1]); }));
  CHECK_GRADIENTS(fd::check_op({Z, soft}, [](const V& v) { return ad::softmax_cross_entropy(v[0], v[1]); }));
}

BOOST_FIXTURE_TEST_CASE(sigmoid_cross_entropy_value_is_binary_cross_entropy, Batch) {
  ad::Tape<double> tape;
  const double J = ad::sigmoid_cross_entropy(tape.constant(Z), tape.constant(soft)).value()(0, 0);
  double expected = 0;
  for (std::size_t i = 0; i < Z.size(); ++i) {
    const double a = 1 / (1 + std::exp(-Z.data()[i])), y = soft.data()[i];
    expected -= (y * std::log(a) + (1 - y) * std::log(1 - a)) / 5;
  }
  BOOST_TEST(J == expected, tt::tolerance(1e-12));
}

BOOST_FIXTURE_TEST_CASE(sigmoid_cross_entropy_gradients_for_logits_and_labels, Batch) {
  CHECK_GRADIENTS(fd::check_op({Z, soft}, [](const V& v) { return ad::sigmoid_cross_entropy(v[0], v[1]); }));
}

BOOST_AUTO_TEST_CASE(losses_stay_finite_for_huge_logits) {
  ad::Parameter<double> z("Z", Tensor<double>{{100.0, -100.0}});
  ad::Tape<double> tape;
  auto zero = tape.constant(Tensor<double>{{0.0, 0.0}});
  const auto J = ad::sigmoid_cross_entropy(tape.parameter(z), zero);
  BOOST_TEST(J.value()(0, 0) == 50.0, tt::tolerance(1e-12));  // (100 + 0) / m, m = 2
  tape.backward(J);
  BOOST_TEST(z.grad == (Tensor<double>{{0.5, 0.0}}), tt::tolerance(1e-12) << tt::per_element());

  ad::Parameter<double> logits("Z", Tensor<double>{{1000.0}, {-1000.0}});
  ad::Tape<double> tape2;
  const auto K = ad::softmax_cross_entropy(tape2.parameter(logits), tape2.constant(Tensor<double>{{0.0}, {1.0}}));
  BOOST_TEST(K.value()(0, 0) == 2000.0, tt::tolerance(1e-12));
  tape2.backward(K);
  BOOST_TEST(logits.grad == (Tensor<double>{{1.0}, {-1.0}}), tt::tolerance(1e-12) << tt::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
