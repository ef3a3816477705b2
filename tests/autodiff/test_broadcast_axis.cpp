// NumPy broadcasting in binary operations (the backward sums the gradient back to each operand's
// shape) and everything that takes an axis: sum and mean with and without keepdims, softmax and
// log_softmax. Values against xtensor references, gradients against centered differences.
#define BOOST_TEST_MODULE autodiff broadcasting and axes
#include <boost/test/unit_test.hpp>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>
#include <xtensor/xview.hpp>

#include "finite_differences.hpp"

namespace tt = boost::test_tools;
using ad::Tensor;
using ad::Var;
using V = std::vector<Var<double>>;

namespace {

void check_value(const Tensor<double>& value, const Tensor<double>& expected) {
  BOOST_TEST(ad::to_string(ad::shape_of(value)) == ad::to_string(ad::shape_of(expected)));
  BOOST_TEST(value == expected, tt::tolerance(1e-12) << tt::per_element());
}

// Operands of the given shapes for div, maximum and minimum: |b| in [0.9, 1.5] with checkerboard
// signs, |a| in [0.2, 0.6] or (checkerboard) [1.8, 2.4] with random signs. So b is away from zero,
// |a − b| ≥ 0.3 (no ties within ±eps), and either operand wins somewhere, even a (1, 1) one.
std::pair<Tensor<double>, Tensor<double>> operands(ad::Shape sa, ad::Shape sb, unsigned seed) {
  std::mt19937 rng(seed);
  Tensor<double> a = fixtures::away_from_zero(sa[0], sa[1], rng, 0.2, 0.6);
  Tensor<double> b = fixtures::uniform(sb[0], sb[1], 0.9, 1.5, rng);
  for (std::size_t i = 0; i < sa[0]; ++i)
    for (std::size_t j = 0; j < sa[1]; ++j)
      if ((i + j) % 2) a(i, j) += a(i, j) > 0 ? 1.6 : -1.6;
  for (std::size_t i = 0; i < sb[0]; ++i)
    for (std::size_t j = 0; j < sb[1]; ++j)
      if ((i + j) % 2) b(i, j) = -b(i, j);
  return {a, b};
}

// Every broadcasting binary operation on operands of shapes sa and sb, both orders.
void check_all_binary(ad::Shape sa, ad::Shape sb, unsigned seed) {
  const auto [a, b] = operands(sa, sb, seed);
  using F = Var<double> (*)(Var<double>, Var<double>, std::source_location);
  const std::pair<const char*, F> ops[] = {{"add", ad::add<double>}, {"sub", ad::sub<double>},
                                            {"mul", ad::mul<double>}, {"div", ad::div<double>},
                                            {"maximum", ad::maximum<double>}, {"minimum", ad::minimum<double>}};
  const Tensor<double> expected[] = {a + b, a - b, a * b, a / b, xt::maximum(a, b), xt::minimum(a, b)};
  const Tensor<double> expected_swapped[] = {b + a, b - a, b * a, b / a, xt::maximum(b, a), xt::minimum(b, a)};
  for (std::size_t k = 0; k < std::size(ops); ++k) {
    BOOST_TEST_CONTEXT(ops[k].first << " of " << ad::to_string(sa) << " and " << ad::to_string(sb)) {
      const F op = ops[k].second;
      auto here = std::source_location::current();
      {
        ad::Parameter<double> pa("a", a), pb("b", b);
        ad::Tape<double> tape;
        check_value(op(tape.parameter(pa), tape.parameter(pb), here).value(), expected[k]);
        check_value(op(tape.parameter(pb), tape.parameter(pa), here).value(), expected_swapped[k]);
      }
      CHECK_GRADIENTS(fd::check_op({a, b}, [&](const V& v) { return op(v[0], v[1], here); }));
      CHECK_GRADIENTS(fd::check_op({a, b}, [&](const V& v) { return op(v[1], v[0], here); }));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(broadcasting)

BOOST_AUTO_TEST_CASE(column_vector_with_matrix_like_a_bias) { check_all_binary({3, 1}, {3, 4}, 1); }

BOOST_AUTO_TEST_CASE(row_vector_with_matrix) { check_all_binary({1, 4}, {3, 4}, 2); }

BOOST_AUTO_TEST_CASE(scalar_with_matrix) { check_all_binary({1, 1}, {3, 4}, 3); }

BOOST_AUTO_TEST_CASE(column_and_row_vectors_both_broadcast) { check_all_binary({3, 1}, {1, 4}, 4); }

BOOST_AUTO_TEST_CASE(scalar_with_column_and_row_vectors) {
  check_all_binary({1, 1}, {3, 1}, 5);
  check_all_binary({1, 1}, {1, 4}, 6);
}

// A (1, 1) operand tied with two of the elements it is compared to: half of each tied element's
// gradient, summed back into the single element.
BOOST_AUTO_TEST_CASE(maximum_and_minimum_ties_with_a_broadcast_scalar_sum_the_halves) {
  ad::Parameter<double> s("s", Tensor<double>{{2.0}}), row("row", Tensor<double>{{2.0, 5.0, 2.0, -1.0}});
  const Tensor<double> seed = {{1.0, 10.0, 100.0, 1000.0}};
  for (bool larger : {true, false}) {
    BOOST_TEST_CONTEXT((larger ? "maximum" : "minimum")) {
      ad::Tape<double> tape;
      auto x = tape.parameter(s), y = tape.parameter(row);
      auto out = larger ? ad::maximum(x, y) : ad::minimum(x, y);
      tape.backward(out, seed);
      // Ties at elements 0 and 2 (1 and 100, halved); element 3 goes to s for maximum, element 1 for minimum.
      BOOST_TEST(s.grad(0, 0) == (larger ? 50.5 + 1000.0 : 50.5 + 10.0));
      const Tensor<double> expected_row = larger ? Tensor<double>{{0.5, 10.0, 50.0, 0.0}} : Tensor<double>{{0.5, 0.0, 50.0, 1000.0}};
      BOOST_TEST(row.grad == expected_row, tt::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(bias_gradient_is_the_row_sum_of_the_output_gradient) {
  ad::Parameter<double> b("b[1]", Tensor<double>{{1.0}, {2.0}});
  ad::Tape<double> tape;
  auto Z = tape.constant(Tensor<double>{{1, 2, 3}, {4, 5, 6}}, "Z");
  tape.backward(ad::sum(ad::mul(ad::add(Z, tape.parameter(b)), Z)));
  BOOST_TEST(b.grad == (Tensor<double>{{6.0}, {15.0}}), tt::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(reductions)

const Tensor<double> X = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};

BOOST_AUTO_TEST_CASE(sum_and_mean_of_the_whole_matrix) {
  ad::Tape<double> tape;
  auto x = tape.constant(X);
  check_value(ad::sum(x).value(), Tensor<double>{{78.0}});
  check_value(ad::mean(x).value(), Tensor<double>{{6.5}});
}

BOOST_AUTO_TEST_CASE(sum_and_mean_along_each_axis_with_and_without_keepdims) {
  ad::Tape<double> tape;
  auto x = tape.constant(X);
  check_value(ad::sum(x, 0, true).value(), Tensor<double>{{15, 18, 21, 24}});
  check_value(ad::sum(x, 0, false).value(), Tensor<double>{{15}, {18}, {21}, {24}});
  check_value(ad::sum(x, 1, true).value(), Tensor<double>{{10}, {26}, {42}});
  check_value(ad::sum(x, 1, false).value(), Tensor<double>{{10}, {26}, {42}});
  check_value(ad::mean(x, 0, true).value(), Tensor<double>{{5, 6, 7, 8}});
  check_value(ad::mean(x, 0, false).value(), Tensor<double>{{5}, {6}, {7}, {8}});
  check_value(ad::mean(x, 1, true).value(), Tensor<double>{{2.5}, {6.5}, {10.5}});
  check_value(ad::mean(x, 1, false).value(), Tensor<double>{{2.5}, {6.5}, {10.5}});
  check_value(ad::sum(x, 0).value(), ad::sum(x, 0, true).value());  // keepdims is the default
}

BOOST_AUTO_TEST_CASE(sum_and_mean_gradients_every_axis_and_keepdims) {
  std::mt19937 rng(7);
  const Tensor<double> a = fixtures::uniform(3, 4, -1, 1, rng);
  CHECK_GRADIENTS(fd::check_op({a}, [](const V& v) { return ad::sum(v[0]); }));
  CHECK_GRADIENTS(fd::check_op({a}, [](const V& v) { return ad::mean(v[0]); }));
  for (int axis : {0, 1})
    for (bool keepdims : {true, false}) {
      BOOST_TEST_CONTEXT("axis " << axis << ", keepdims " << keepdims) {
        CHECK_GRADIENTS(fd::check_op({a}, [&](const V& v) { return ad::sum(v[0], axis, keepdims); }));
        CHECK_GRADIENTS(fd::check_op({a}, [&](const V& v) { return ad::mean(v[0], axis, keepdims); }));
      }
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(softmax_along_axes)

// The textbook formula, fine for the small logits used here.
Tensor<double> naive_softmax(const Tensor<double>& z, int axis) {
  const Tensor<double> e = fixtures::map(z, [](double v) { return std::exp(v); });
  return axis == 0 ? Tensor<double>(e / xt::view(xt::sum(e, {0}), xt::newaxis(), xt::all()))
                   : Tensor<double>(e / xt::view(xt::sum(e, {1}), xt::all(), xt::newaxis()));
}

BOOST_AUTO_TEST_CASE(softmax_and_log_softmax_values_along_both_axes) {
  std::mt19937 rng(8);
  const Tensor<double> z = fixtures::uniform(3, 5, -2, 2, rng);
  ad::Tape<double> tape;
  auto x = tape.constant(z);
  for (int axis : {0, 1}) {
    BOOST_TEST_CONTEXT("axis " << axis) {
      check_value(ad::softmax(x, axis).value(), naive_softmax(z, axis));
      check_value(ad::log_softmax(x, axis).value(), fixtures::map(naive_softmax(z, axis), [](double v) { return std::log(v); }));
    }
  }
  check_value(ad::softmax(x).value(), naive_softmax(z, 0));  // over classes by default
}

BOOST_AUTO_TEST_CASE(softmax_is_stable_for_huge_logits) {
  ad::Tape<double> tape;
  auto x = tape.constant(Tensor<double>{{1000.0, -1000.0}, {1000.0, 0.0}});
  check_value(ad::softmax(x, 0).value(), Tensor<double>{{0.5, 0.0}, {0.5, 1.0}});
  const Tensor<double> log_p = ad::log_softmax(x, 1).value();
  BOOST_TEST(log_p(0, 0) == 0.0);
  BOOST_TEST(log_p(0, 1) == -2000.0);
  BOOST_TEST(log_p(1, 0) == 0.0);
  BOOST_TEST(log_p(1, 1) == -1000.0);
}

BOOST_AUTO_TEST_CASE(softmax_and_log_softmax_gradients_along_both_axes) {
  std::mt19937 rng(9);
  const Tensor<double> z = fixtures::uniform(3, 5, -2, 2, rng);
  for (int axis : {0, 1}) {
    BOOST_TEST_CONTEXT("axis " << axis) {
      CHECK_GRADIENTS(fd::check_op({z}, [&](const V& v) { return ad::softmax(v[0], axis); }));
      CHECK_GRADIENTS(fd::check_op({z}, [&](const V& v) { return ad::log_softmax(v[0], axis); }));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
