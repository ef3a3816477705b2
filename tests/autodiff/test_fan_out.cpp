// GradSink's accumulation where the graph fans out, for every kind of operation: each operand is
// read by the operation twice (through an intermediate node, whose gradient is a node gradient, and
// directly, where it is a parameter gradient), and binary operations also read one node as both
// operands. A backward that assigned where it should add would be wrong only here.
#define BOOST_TEST_MODULE autodiff fan - out accumulation
#include <boost/test/unit_test.hpp>

#include "finite_differences.hpp"

namespace {

using ad::Activation;
using ad::Tensor;
using V = std::vector<ad::Var<double>>;

Tensor<double> random(std::size_t rows, std::size_t cols, unsigned seed, double lo = -1, double hi = 1) {
  std::mt19937 rng(seed);
  return fixtures::uniform(rows, cols, lo, hi, rng);
}

// out = op(u) + 2·op(u) + op(v), where u = 1·v is an intermediate node per operand: every u is read
// twice by op, every parameter v by op and by the scaling.
template <class Op>
fd::Report fan_out(const std::vector<Tensor<double>>& values, Op op) {
  return fd::check_op(values, [&](const V& v) {
    V u;
    for (const auto& x : v) u.push_back(ad::mul_scalar(x, 1.0));
    const auto first = op(u), second = op(u), direct = op(v);
    return ad::add(ad::add(first, ad::mul_scalar(second, 2.0)), direct);
  });
}

const std::vector<Tensor<double>> one = {random(3, 4, 1)};
const std::vector<Tensor<double>> positive = {random(3, 4, 2, 0.5, 1.5)};
const std::vector<Tensor<double>> two = {random(3, 4, 3), random(3, 4, 4)};
const std::vector<Tensor<double>> broadcast = {random(3, 4, 5), random(3, 1, 6, 0.5, 1.5)};

}  // namespace

BOOST_AUTO_TEST_CASE(arithmetic) {
  CHECK_GRADIENTS(fan_out(two, [](const V& v) { return ad::add(v[0], v[1]); }));
  CHECK_GRADIENTS(fan_out(broadcast, [](const V& v) { return ad::add(v[0], v[1]); }));
  CHECK_GRADIENTS(fan_out(broadcast, [](const V& v) { return ad::sub(v[1], v[0]); }));
  CHECK_GRADIENTS(fan_out(broadcast, [](const V& v) { return ad::mul(v[0], v[1]); }));
  CHECK_GRADIENTS(fan_out(broadcast, [](const V& v) { return ad::div(v[0], v[1]); }));
  CHECK_GRADIENTS(fan_out(two, [](const V& v) { return ad::maximum(v[0], v[1]); }));
  CHECK_GRADIENTS(fan_out(broadcast, [](const V& v) { return ad::minimum(v[0], v[1]); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::neg(v[0]); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::add_scalar(v[0], 0.5); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::rsub_scalar(v[0], 0.5); }));
  CHECK_GRADIENTS(fan_out(positive, [](const V& v) { return ad::rdiv_scalar(v[0], 2.0); }));
}

BOOST_AUTO_TEST_CASE(one_node_as_both_operands) {
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::add(v[0], v[0]); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::sub(v[0], ad::mul_scalar(v[0], 3.0)); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::mul(v[0], v[0]); }));
  CHECK_GRADIENTS(fan_out(positive, [](const V& v) { return ad::div(ad::exp(v[0]), v[0]); }));
  CHECK_GRADIENTS(fan_out({random(4, 4, 7)}, [](const V& v) { return ad::matmul(v[0], v[0]); }));
  CHECK_GRADIENTS(fan_out({random(4, 3, 8)}, [](const V& v) { return ad::matmul(v[0], v[0], true, false); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::concat<double>({v[0], v[0]}, 1); }));
}

BOOST_AUTO_TEST_CASE(products_and_the_fused_linear) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      CHECK_GRADIENTS(
          fan_out({random(3, 3, 9), random(3, 3, 10)}, [=](const V& v) { return ad::matmul(v[0], v[1], ta, tb); }));
  CHECK_GRADIENTS(fan_out({random(3, 4, 11)}, [](const V& v) { return ad::transpose(v[0]); }));
  for (auto act :
       {Activation::linear, Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::sigmoid}) {
    CHECK_GRADIENTS(fan_out({random(3, 2, 12), random(2, 5, 13), random(3, 1, 14)},
                            [=](const V& v) { return ad::linear(v[0], v[1], v[2], act, 0.1); }));
    CHECK_GRADIENTS(fan_out({random(3, 2, 15), random(5, 2, 16), random(3, 1, 17)},
                            [=](const V& v) { return ad::linear_rows(v[0], v[1], v[2], act, 0.1); }));
  }
}

BOOST_AUTO_TEST_CASE(reductions) {
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::sum(v[0]); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::mean(v[0]); }));
  for (int axis : {0, 1})
    for (bool keep : {false, true}) {
      CHECK_GRADIENTS(fan_out(one, [=](const V& v) { return ad::sum(v[0], axis, keep); }));
      CHECK_GRADIENTS(fan_out(one, [=](const V& v) { return ad::mean(v[0], axis, keep); }));
    }
}

BOOST_AUTO_TEST_CASE(elementwise) {
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::exp(v[0]); }));
  CHECK_GRADIENTS(fan_out(positive, [](const V& v) { return ad::log(v[0]); }));
  CHECK_GRADIENTS(fan_out(positive, [](const V& v) { return ad::sqrt(v[0]); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::square(v[0]); }));
  CHECK_GRADIENTS(fan_out(positive, [](const V& v) { return ad::pow(v[0], 1.5); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::abs(v[0]); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::tanh(v[0]); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::sigmoid(v[0]); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::relu(v[0]); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::leaky_relu(v[0], 0.1); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::clip(v[0], -0.5, 0.5); }));
}

BOOST_AUTO_TEST_CASE(softmax_and_losses) {
  for (int axis : {0, 1}) {
    CHECK_GRADIENTS(fan_out(one, [=](const V& v) { return ad::softmax(v[0], axis); }));
    CHECK_GRADIENTS(fan_out(one, [=](const V& v) { return ad::log_softmax(v[0], axis); }));
  }
  const std::vector<Tensor<double>> logits_labels = {random(3, 4, 18), random(3, 4, 19, 0, 1)};
  CHECK_GRADIENTS(fan_out(logits_labels, [](const V& v) { return ad::softmax_cross_entropy(v[0], v[1]); }));
  CHECK_GRADIENTS(fan_out(logits_labels, [](const V& v) { return ad::sigmoid_cross_entropy(v[0], v[1]); }));
}

BOOST_AUTO_TEST_CASE(shape_operations) {
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::reshape(v[0], 2, 6); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::slice_rows(v[0], 1, 3); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) { return ad::slice_cols(v[0], 0, 2); }));
  CHECK_GRADIENTS(fan_out(two, [](const V& v) { return ad::concat<double>({v[0], v[1]}, 0); }));
  CHECK_GRADIENTS(fan_out(one, [](const V& v) {
    v[0].tape().set_frozen(true);  // each dropout keeps the mask it drew for the finite differences
    return ad::dropout(v[0], 0.7);
  }));
}
