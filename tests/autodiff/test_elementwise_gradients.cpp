// Every elementwise operation (unary functions, scalar forms, same-shape binary operations and the
// operators): its value against a plain xtensor reference and its backward against centered
// differences in double. Inputs are kept away from the kinks of relu, abs, leaky_relu, clip,
// maximum and minimum.
#define BOOST_TEST_MODULE autodiff elementwise gradients
#include <boost/test/unit_test.hpp>

#include <tuple>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "finite_differences.hpp"

namespace tt = boost::test_tools;
using ad::Tensor;
using ad::Var;
using V = std::vector<Var<double>>;
using scalar_types = std::tuple<float, double>;

namespace {

std::mt19937 rng_for(unsigned seed) { return std::mt19937(seed); }

// The operation's value equals `expected`, and its backward agrees with finite differences.
template <class Build>
void check_unary(const Tensor<double>& x, Build build, const Tensor<double>& expected) {
  ad::Parameter<double> p("x", x);
  ad::Tape<double> tape;
  const Tensor<double> value = build(tape.parameter(p)).value();
  BOOST_TEST(ad::to_string(ad::shape_of(value)) == ad::to_string(ad::shape_of(expected)));
  BOOST_TEST(value == expected, tt::tolerance(1e-12) << tt::per_element());
  CHECK_GRADIENTS(fd::check_op({x}, [&](const V& v) { return build(v[0]); }));
}

Tensor<double> positive(unsigned seed) {
  auto rng = rng_for(seed);
  return fixtures::uniform(3, 4, 0.5, 2.0, rng);
}
Tensor<double> signed_values(unsigned seed) {
  auto rng = rng_for(seed);
  return fixtures::away_from_zero(3, 4, rng);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(unary_functions)

BOOST_AUTO_TEST_CASE(exp_matches_reference_and_finite_differences) {
  const auto x = signed_values(1);
  check_unary(x, [](Var<double> a) { return ad::exp(a); }, fixtures::map(x, [](double v) { return std::exp(v); }));
}

BOOST_AUTO_TEST_CASE(log_of_positive_values) {
  const auto x = positive(2);
  check_unary(x, [](Var<double> a) { return ad::log(a); }, fixtures::map(x, [](double v) { return std::log(v); }));
}

BOOST_AUTO_TEST_CASE(sqrt_of_positive_values) {
  const auto x = positive(3);
  check_unary(x, [](Var<double> a) { return ad::sqrt(a); }, fixtures::map(x, [](double v) { return std::sqrt(v); }));
}

BOOST_AUTO_TEST_CASE(square_of_signed_values) {
  const auto x = signed_values(4);
  check_unary(x, [](Var<double> a) { return ad::square(a); }, Tensor<double>(x * x));
}

BOOST_AUTO_TEST_CASE(pow_with_integer_exponent_on_signed_values) {
  const auto x = signed_values(5);
  check_unary(x, [](Var<double> a) { return ad::pow(a, 3.0); }, Tensor<double>(x * x * x));
}

BOOST_AUTO_TEST_CASE(pow_with_fractional_and_negative_exponents) {
  const auto x = positive(6);
  check_unary(x, [](Var<double> a) { return ad::pow(a, 0.5); }, fixtures::map(x, [](double v) { return std::sqrt(v); }));
  check_unary(x, [](Var<double> a) { return ad::pow(a, -1.5); }, fixtures::map(x, [](double v) { return std::pow(v, -1.5); }));
}

BOOST_AUTO_TEST_CASE(pow_with_negative_integer_exponents_on_signed_values) {
  const auto x = signed_values(15);
  check_unary(x, [](Var<double> a) { return ad::pow(a, -2.0); }, Tensor<double>(1.0 / (x * x)));
  check_unary(x, [](Var<double> a) { return ad::pow(a, -3.0); }, Tensor<double>(1.0 / (x * x * x)));
}

// p·x^(p−1) is 0·0⁻¹ = NaN for p = 0 at x = 0, where the function is the constant 1.
BOOST_AUTO_TEST_CASE(pow_gradient_at_a_zero_base_for_exponents_zero_one_and_two) {
  const std::pair<double, double> exponent_and_gradient[] = {{0.0, 0.0}, {1.0, 1.0}, {2.0, 0.0}};
  for (auto [exponent, gradient] : exponent_and_gradient) {
    BOOST_TEST_CONTEXT("exponent " << exponent) {
      ad::Parameter<double> p("x", Tensor<double>{{0.0, -1.5, 2.0}});
      ad::Tape<double> tape;
      tape.backward(ad::sum(ad::pow(tape.parameter(p), exponent)));
      const Tensor<double> expected = {{gradient, exponent * std::pow(-1.5, exponent - 1),
                                        exponent * std::pow(2.0, exponent - 1)}};
      BOOST_TEST(p.grad == expected, tt::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(abs_away_from_zero) {
  const auto x = signed_values(7);
  check_unary(x, [](Var<double> a) { return ad::abs(a); }, fixtures::map(x, [](double v) { return std::abs(v); }));
}

BOOST_AUTO_TEST_CASE(tanh_of_signed_values) {
  const auto x = signed_values(8);
  check_unary(x, [](Var<double> a) { return ad::tanh(a); }, fixtures::map(x, [](double v) { return std::tanh(v); }));
}

BOOST_AUTO_TEST_CASE(sigmoid_of_signed_values) {
  const auto x = signed_values(9);
  check_unary(x, [](Var<double> a) { return ad::sigmoid(a); }, fixtures::map(x, [](double v) { return 1 / (1 + std::exp(-v)); }));
}

BOOST_AUTO_TEST_CASE(relu_away_from_zero) {
  const auto x = signed_values(10);
  check_unary(x, [](Var<double> a) { return ad::relu(a); }, Tensor<double>(xt::where(x > 0, x, 0.0)));
}

BOOST_AUTO_TEST_CASE(leaky_relu_with_a_visible_slope) {
  const auto x = signed_values(11);
  check_unary(x, [](Var<double> a) { return ad::leaky_relu(a, 0.1); }, Tensor<double>(xt::where(x > 0, x, 0.1 * x)));
}

BOOST_AUTO_TEST_CASE(clip_below_inside_and_above_the_bounds) {
  const Tensor<double> x = {{-0.9, -0.3, 0.2, 0.8}, {0.45, -0.6, 0.1, -0.05}, {1.5, -1.2, 0.33, -0.41}};
  check_unary(x, [](Var<double> a) { return ad::clip(a, -0.5, 0.5); }, xt::clip(x, -0.5, 0.5));
}

// At the bounds themselves the gradient passes (1), as PyTorch's clamp does; outside it is 0.
BOOST_AUTO_TEST_CASE_TEMPLATE(clip_gradient_is_one_at_both_bounds_and_zero_outside, T, scalar_types) {
  ad::Parameter<T> p("x", Tensor<T>{{T(-0.75), T(-0.5), T(0.25), T(0.5), T(0.75)}});
  ad::Tape<T> tape;
  auto y = ad::clip(tape.parameter(p), -0.5, 0.5);
  BOOST_TEST(y.value() == (Tensor<T>{{T(-0.5), T(-0.5), T(0.25), T(0.5), T(0.5)}}), tt::per_element());
  tape.backward(ad::sum(y));
  BOOST_TEST(p.grad == (Tensor<T>{{0, 1, 1, 1, 0}}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(neg_of_signed_values) {
  const auto x = signed_values(12);
  check_unary(x, [](Var<double> a) { return ad::neg(a); }, Tensor<double>(-x));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scalar_forms)

BOOST_AUTO_TEST_CASE(named_scalar_functions) {
  const auto x = signed_values(13);
  check_unary(x, [](Var<double> a) { return ad::add_scalar(a, 2.5); }, Tensor<double>(x + 2.5));
  check_unary(x, [](Var<double> a) { return ad::mul_scalar(a, -3.0); }, Tensor<double>(x * -3.0));
  check_unary(x, [](Var<double> a) { return ad::rsub_scalar(a, 2.0); }, Tensor<double>(2.0 - x));
  check_unary(x, [](Var<double> a) { return ad::rdiv_scalar(a, 2.0); }, Tensor<double>(2.0 / x));
}

BOOST_AUTO_TEST_CASE(scalar_operators_on_both_sides) {
  const auto x = signed_values(14);
  check_unary(x, [](Var<double> a) { return a + 2.0; }, Tensor<double>(x + 2.0));
  check_unary(x, [](Var<double> a) { return 2.0 + a; }, Tensor<double>(2.0 + x));
  check_unary(x, [](Var<double> a) { return a - 2.0; }, Tensor<double>(x - 2.0));
  check_unary(x, [](Var<double> a) { return 2.0 - a; }, Tensor<double>(2.0 - x));
  check_unary(x, [](Var<double> a) { return a * 3.0; }, Tensor<double>(x * 3.0));
  check_unary(x, [](Var<double> a) { return 3.0 * a; }, Tensor<double>(3.0 * x));
  check_unary(x, [](Var<double> a) { return a / 2.0; }, Tensor<double>(x / 2.0));
  check_unary(x, [](Var<double> a) { return 2.0 / a; }, Tensor<double>(2.0 / x));
  check_unary(x, [](Var<double> a) { return -a; }, Tensor<double>(-x));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(same_shape_binary)

// a and b of the same shape; b is kept away from zero (div) and from a (maximum, minimum).
struct Operands {
  Tensor<double> a, b;
  Operands() {
    auto rng = rng_for(20);
    a = fixtures::away_from_zero(3, 4, rng);
    b = a + fixtures::away_from_zero(3, 4, rng, 0.3, 1.0);
    b = xt::where(xt::abs(b) < 0.2, b + 0.5, b);
  }
};

template <class Build>
void check_binary(const Operands& o, Build build, const Tensor<double>& expected) {
  ad::Parameter<double> a("a", o.a), b("b", o.b);
  ad::Tape<double> tape;
  const Tensor<double> value = build(tape.parameter(a), tape.parameter(b)).value();
  BOOST_TEST(ad::to_string(ad::shape_of(value)) == ad::to_string(ad::shape_of(expected)));
  BOOST_TEST(value == expected, tt::tolerance(1e-12) << tt::per_element());
  CHECK_GRADIENTS(fd::check_op({o.a, o.b}, [&](const V& v) { return build(v[0], v[1]); }));
}

BOOST_FIXTURE_TEST_CASE(add_sub_mul_div_functions, Operands) {
  const Operands& o = *this;
  check_binary(o, [](Var<double> x, Var<double> y) { return ad::add(x, y); }, Tensor<double>(a + b));
  check_binary(o, [](Var<double> x, Var<double> y) { return ad::sub(x, y); }, Tensor<double>(a - b));
  check_binary(o, [](Var<double> x, Var<double> y) { return ad::mul(x, y); }, Tensor<double>(a * b));
  check_binary(o, [](Var<double> x, Var<double> y) { return ad::div(x, y); }, Tensor<double>(a / b));
}

BOOST_FIXTURE_TEST_CASE(binary_operators, Operands) {
  const Operands& o = *this;
  check_binary(o, [](Var<double> x, Var<double> y) { return x + y; }, Tensor<double>(a + b));
  check_binary(o, [](Var<double> x, Var<double> y) { return x - y; }, Tensor<double>(a - b));
  check_binary(o, [](Var<double> x, Var<double> y) { return x * y; }, Tensor<double>(a * b));
  check_binary(o, [](Var<double> x, Var<double> y) { return x / y; }, Tensor<double>(a / b));
}

BOOST_FIXTURE_TEST_CASE(maximum_and_minimum_away_from_ties, Operands) {
  const Operands& o = *this;
  check_binary(o, [](Var<double> x, Var<double> y) { return ad::maximum(x, y); }, xt::maximum(a, b));
  check_binary(o, [](Var<double> x, Var<double> y) { return ad::minimum(x, y); }, xt::minimum(a, b));
}

BOOST_AUTO_TEST_CASE(maximum_and_minimum_split_the_gradient_at_a_tie) {
  ad::Parameter<double> a("a", Tensor<double>{{1.0, 2.0, 3.0}}), b("b", Tensor<double>{{1.0, 5.0, -3.0}});
  for (bool larger : {true, false}) {
    ad::Tape<double> tape;
    auto x = tape.parameter(a), y = tape.parameter(b);
    tape.backward(ad::sum(larger ? ad::maximum(x, y) : ad::minimum(x, y)));
    const Tensor<double> da = larger ? Tensor<double>{{0.5, 0.0, 1.0}} : Tensor<double>{{0.5, 1.0, 0.0}};
    BOOST_TEST(a.grad == da, tt::per_element());
    BOOST_TEST(b.grad == Tensor<double>(1.0 - da), tt::per_element());
  }
}

BOOST_AUTO_TEST_SUITE_END()
