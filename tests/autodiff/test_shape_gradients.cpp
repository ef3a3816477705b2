// Operations that move values: reshape, row and column slices, concatenation along both axes;
// and the two that are special in backward: dropout (checked with its mask frozen) and detach
// (no gradient passes).
#define BOOST_TEST_MODULE autodiff shape operation gradients
#include <boost/test/unit_test.hpp>

#include <xtensor/xview.hpp>

#include "finite_differences.hpp"

namespace tt = boost::test_tools;
using ad::Tensor;
using ad::Var;
using V = std::vector<Var<double>>;

namespace {

void check_value(const Tensor<double>& value, const Tensor<double>& expected) {
  BOOST_TEST(ad::to_string(ad::shape_of(value)) == ad::to_string(ad::shape_of(expected)));
  BOOST_TEST(value == expected, tt::per_element());
}

const Tensor<double> X = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};

Tensor<double> random(std::size_t rows, std::size_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  return fixtures::uniform(rows, cols, -1, 1, rng);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(moving_values)

BOOST_AUTO_TEST_CASE(reshape_keeps_row_major_order) {
  ad::Tape<double> tape;
  auto x = tape.constant(X);
  check_value(ad::reshape(x, 2, 6).value(), Tensor<double>{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}});
  check_value(ad::reshape(x, 12, 1).value(), Tensor<double>(xt::reshape_view(X, {12, 1})));
  CHECK_GRADIENTS(fd::check_op({random(3, 4, 1)}, [](const V& v) { return ad::reshape(v[0], 6, 2); }));
}

BOOST_AUTO_TEST_CASE(slice_rows_and_cols_values) {
  ad::Tape<double> tape;
  auto x = tape.constant(X);
  check_value(ad::slice_rows(x, 1, 3).value(), Tensor<double>{{5, 6, 7, 8}, {9, 10, 11, 12}});
  check_value(ad::slice_rows(x, 0, 1).value(), Tensor<double>{{1, 2, 3, 4}});
  check_value(ad::slice_cols(x, 1, 3).value(), Tensor<double>{{2, 3}, {6, 7}, {10, 11}});
  check_value(ad::slice_cols(x, 3, 4).value(), Tensor<double>{{4}, {8}, {12}});
}

BOOST_AUTO_TEST_CASE(slice_gradients_leave_zeros_outside_the_window) {
  const Tensor<double> a = random(3, 4, 2);
  CHECK_GRADIENTS(fd::check_op({a}, [](const V& v) { return ad::slice_rows(v[0], 1, 3); }));
  CHECK_GRADIENTS(fd::check_op({a}, [](const V& v) { return ad::slice_cols(v[0], 1, 3); }));
  // Two overlapping windows of the same matrix accumulate where they overlap.
  CHECK_GRADIENTS(fd::check_op({a}, [](const V& v) {
    return ad::mul(ad::slice_cols(v[0], 0, 3), ad::slice_cols(v[0], 1, 4));
  }));

  ad::Parameter<double> p("p", a);
  ad::Tape<double> tape;
  tape.backward(ad::sum(ad::slice_rows(tape.parameter(p), 1, 2)));
  check_value(p.grad, Tensor<double>{{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 0, 0}});
}

BOOST_AUTO_TEST_CASE(concat_along_both_axes) {
  ad::Tape<double> tape;
  auto x = tape.constant(X), top = tape.constant(Tensor<double>{{0, 0, 0, 0}});
  auto left = tape.constant(Tensor<double>{{-1}, {-2}, {-3}});
  check_value(ad::concat<double>({top, x}, 0).value(),
              Tensor<double>{{0, 0, 0, 0}, {1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}});
  check_value(ad::concat<double>({left, x, left}, 1).value(),
              Tensor<double>{{-1, 1, 2, 3, 4, -1}, {-2, 5, 6, 7, 8, -2}, {-3, 9, 10, 11, 12, -3}});

  const Tensor<double> a = random(2, 4, 3), b = random(3, 4, 4), c = random(2, 3, 5);
  CHECK_GRADIENTS(fd::check_op({a, b}, [](const V& v) { return ad::concat<double>({v[0], v[1]}, 0); }));
  CHECK_GRADIENTS(fd::check_op({a, c}, [](const V& v) { return ad::concat<double>({v[0], v[1]}, 1); }));
  // The same part twice: its gradient is the sum of both slots.
  CHECK_GRADIENTS(fd::check_op({a, c}, [](const V& v) { return ad::concat<double>({v[1], v[0], v[1]}, 1); }));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(special_backwards)

BOOST_AUTO_TEST_CASE(dropout_with_a_frozen_mask_matches_finite_differences) {
  ad::Parameter<double> a("a", random(6, 8, 6));
  ad::Tape<double> tape;
  std::mt19937 rng(7);
  auto y = ad::dropout(tape.parameter(a), 0.6);
  // The mask: each element dropped (0) or kept and scaled by 1/keep_prob; some of both here.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < a.value.size(); ++i) {
    const double ratio = y.value().data()[i] / a.value.data()[i];
    BOOST_TEST((ratio == 0.0 || std::abs(ratio - 1 / 0.6) < 1e-12));
    kept += ratio != 0.0;
  }
  BOOST_TEST(kept > 0u);
  BOOST_TEST(kept < a.value.size());

  auto cost = fixtures::weighted_sum(y, rng);
  tape.set_frozen(true);  // every replay of the check reuses the mask drawn above
  const Tensor<double> value = y.value();
  CHECK_GRADIENTS(fd::check(tape, cost, {&a}));
  BOOST_TEST(y.value() == value, tt::per_element());
}

BOOST_AUTO_TEST_CASE(dropout_gradient_is_the_mask) {
  ad::Parameter<double> a("a", xt::ones<double>({4, 5}));
  ad::Tape<double> tape;
  auto y = ad::dropout(tape.parameter(a), 0.5);
  tape.backward(ad::sum(y));
  BOOST_TEST(a.grad == y.value(), tt::per_element());  // y = 1 ⊙ mask
}

BOOST_AUTO_TEST_CASE(dropout_with_keep_prob_one_is_the_identity) {
  ad::Tape<double> tape;
  check_value(ad::dropout(tape.constant(X), 1.0).value(), X);
}

BOOST_AUTO_TEST_CASE(detach_passes_the_value_but_no_gradient) {
  const Tensor<double> va = random(3, 4, 8), vb = random(3, 4, 9);
  ad::Parameter<double> a("a", va), b("b", vb);
  ad::Tape<double> tape;
  auto x = tape.parameter(a), y = tape.parameter(b);
  auto d = ad::detach(x);
  check_value(d.value(), va);
  // J = Σ detach(a) ⊙ b + Σ a: only the second term reaches a.
  tape.backward(ad::add(ad::sum(ad::mul(d, y)), ad::sum(x)));
  check_value(a.grad, xt::ones<double>({3, 4}));
  check_value(b.grad, va);
  BOOST_TEST(!tape.needs_grad(d.index()));

  // Through detach alone, a is not reached at all.
  tape.backward(ad::sum(ad::mul(d, y)));
  BOOST_TEST(!tape.reached(a));
  check_value(a.grad, xt::zeros<double>({3, 4}));
}

BOOST_AUTO_TEST_SUITE_END()
