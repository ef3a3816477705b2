// Loss values against hand computation, the L2 term (its value, its gradient, and its m read at
// each replay), one-hot labels and predictions. (Gradients are checked in test_gradients.)
#define BOOST_TEST_MODULE nn losses
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "helpers.hpp"
#include "error_text.hpp"

namespace tt = boost::test_tools;

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_value) {
  const ad::Tensor<double> Z{{1.0, -2.0}, {0.5, 0.0}, {-1.0, 3.0}};
  const std::int32_t labels[] = {0, 2};
  ad::Tape<double> tape;
  auto J = nn::loss(nn::Loss::softmax_cross_entropy, tape.input("Z", Z),
                    tape.input("Y", nn::one_hot_columns<double>(labels, 3)));
  double expected = 0;
  for (std::size_t j = 0; j < 2; ++j) {
    double total = 0;
    for (std::size_t i = 0; i < 3; ++i) total += std::exp(Z(i, j));
    expected -= std::log(std::exp(Z(std::size_t(labels[j]), j)) / total) / 2;
  }
  BOOST_TEST(J.value()(0, 0) == expected, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(sigmoid_cross_entropy_and_mse_values) {
  const ad::Tensor<double> Z{{0.3, -1.2, 2.0}}, Y{{1.0, 0.0, 0.0}};
  ad::Tape<double> tape;
  auto z = tape.input("Z", Z), y = tape.input("Y", Y);
  auto bce = nn::loss(nn::Loss::sigmoid_cross_entropy, z, y);
  auto mse = nn::loss(nn::Loss::mean_squared_error, z, y);
  double e_bce = 0, e_mse = 0;
  for (std::size_t j = 0; j < 3; ++j) {
    const double a = 1 / (1 + std::exp(-Z(0, j)));
    e_bce -= (Y(0, j) * std::log(a) + (1 - Y(0, j)) * std::log(1 - a)) / 3;
    e_mse += (Z(0, j) - Y(0, j)) * (Z(0, j) - Y(0, j)) / 3;
  }
  BOOST_TEST(bce.value()(0, 0) == e_bce, tt::tolerance(1e-12));
  BOOST_TEST(mse.value()(0, 0) == e_mse, tt::tolerance(1e-12));
  // MSE sums over outputs and averages over examples.
  ad::Tape<double> t2;
  const ad::Tensor<double> Z2{{1.0, 2.0}, {0.0, -1.0}}, Y2{{0.0, 0.0}, {0.0, 0.0}};
  auto m2 = nn::loss(nn::Loss::mean_squared_error, t2.input("Z", Z2), t2.input("Y", Y2));
  BOOST_TEST(m2.value()(0, 0) == (1.0 + 4.0 + 0.0 + 1.0) / 2, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(l2_term_value_gradient_and_replay) {
  ad::Parameter<double> W1("W[1]", helpers::random(3, 2, 1)), W2("W[2]", helpers::random(2, 3, 2));
  ad::Tape<double> tape;
  auto Y = tape.input("Y", xt::zeros<double>({2, 4}));
  const double lambda = 0.7;
  auto term = nn::l2_penalty<double>({tape.parameter(W1), tape.parameter(W2)}, Y, lambda);
  const double norms = xt::sum(W1.value * W1.value)() + xt::sum(W2.value * W2.value)();
  BOOST_TEST(term.value()(0, 0) == lambda / (2 * 4) * norms, tt::tolerance(1e-12));
  tape.backward(term);
  BOOST_TEST(W1.grad == (lambda / 4) * W1.value, tt::tolerance(1e-12) << tt::per_element());
  BOOST_TEST(W2.grad == (lambda / 4) * W2.value, tt::tolerance(1e-12) << tt::per_element());
  // The last, partial mini-batch of a replayed tape: m = 3 now.
  tape.input_buffer(Y, {2, 3}).fill(0);
  tape.forward();
  BOOST_TEST(term.value()(0, 0) == lambda / (2 * 3) * norms, tt::tolerance(1e-12));
  BOOST_CHECK_THROW(nn::l2_penalty<double>({tape.parameter(W1)}, Y, -1.0), nn::ConfigError);
  BOOST_CHECK_THROW(nn::l2_penalty<double>({tape.parameter(W1)}, Y, std::nan("")), nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(cost_adds_l2_only_when_on) {
  nn::Sequential<double> m;
  m.dense(4, nn::Activation::tanh).dense(3);
  m.build(2, 5);
  const auto X = helpers::random(2, 6, 3);
  const std::int32_t labels[] = {0, 1, 2, 0, 1, 2};
  ad::Tape<double> tape;
  auto out = m.forward(tape, tape.input("X", X), nn::Mode::train);
  auto Y = tape.input("Y", nn::one_hot_columns<double>(labels, 3));
  auto plain = nn::cost(nn::Loss::softmax_cross_entropy, out, Y, m.weights(), 0.0);
  auto reg = nn::cost(nn::Loss::softmax_cross_entropy, out, Y, m.weights(), 0.3);
  double norms = 0;
  for (auto* w : m.weights()) norms += xt::sum(w->value * w->value)();
  BOOST_TEST(reg.value()(0, 0) - plain.value()(0, 0) == 0.3 / (2 * 6) * norms, tt::tolerance(1e-10));
}

BOOST_AUTO_TEST_CASE(one_hot_and_predictions) {
  const std::int32_t labels[] = {2, 0, 1};
  const auto Y = nn::one_hot_columns<float>(labels, 3);
  BOOST_TEST((ad::shape_of(Y) == ad::Shape{3, 3}));
  BOOST_TEST(Y(2, 0) == 1.0f);
  BOOST_TEST(Y(0, 1) == 1.0f);
  BOOST_TEST(xt::sum(Y)() == 3.0f);
  const std::int32_t bad[] = {3};
  BOOST_CHECK_THROW(nn::one_hot_columns<float>(bad, 3), nn::DataError);
  ad::Tape<double> tape;
  auto p = nn::predictions(nn::Loss::softmax_cross_entropy, tape.input("Z", helpers::random(4, 5, 2, -3, 3)));
  for (std::size_t j = 0; j < 5; ++j) BOOST_TEST(xt::sum(xt::view(p.value(), xt::all(), j))() == 1.0, tt::tolerance(1e-12));
  BOOST_TEST(nn::to_string(nn::loss_from_string("mean_squared_error")) == "mean_squared_error");
}

BOOST_AUTO_TEST_CASE(mean_squared_error_refuses_outputs_and_targets_of_different_shapes) {
  // ad::sub broadcasts: (1, 4) − (4, 1) would silently be a (4, 4) error matrix.
  using test_support::contains;
  ad::Tape<double> tape;
  auto out = tape.input("A[2]", helpers::random(1, 4, 1)), Y = tape.input("Y", helpers::random(4, 1, 2));
  const auto message = test_support::message_of<ad::ShapeError>(
      [&] { nn::loss(nn::Loss::mean_squared_error, out, Y); });
  BOOST_TEST(contains(message, "mean_squared_error"), message);
  BOOST_TEST(contains(message, "(1, 4)"), message);
  BOOST_TEST(contains(message, "(4, 1)"), message);
  auto rows = tape.input("B", helpers::random(3, 4, 3)), one = tape.input("Y1", helpers::random(1, 4, 4));
  BOOST_CHECK_THROW(nn::cost(nn::Loss::mean_squared_error, rows, one, {}, 0.0), ad::ShapeError);
}

BOOST_AUTO_TEST_CASE(one_hot_with_no_classes_says_so) {
  const std::int32_t labels[] = {0};
  const auto message = test_support::message_of<nn::DataError>([&] { nn::one_hot_columns<float>(labels, 0); });
  BOOST_TEST(test_support::contains(message, "0 classes"), message);
}

BOOST_AUTO_TEST_CASE(targets_that_do_not_fit_the_loss_are_refused) {
  // The fused gradient ŷ − y is the cost's gradient only when each column of Y sums to 1.
  using test_support::contains;
  nn::Dataset<double> d;
  d.x = xt::zeros<double>({3, 2});
  d.y = ad::Tensor<double>{{1, 0, 0}, {0, 1, 1}, {0, 0, 1}};  // example 1 has two classes
  auto message = test_support::message_of<nn::DataError>(
      [&] { nn::check_targets(nn::Loss::softmax_cross_entropy, d, "fit: training set"); });
  BOOST_TEST(contains(message, "fit: training set"), message);
  BOOST_TEST(contains(message, "example 1"), message);
  BOOST_TEST(contains(message, "softmax_cross_entropy"), message);
  d.y = ad::Tensor<double>{{0.2, 0.8, 0}, {0, 1, 0}, {0, 0, 1}};  // soft labels are fine
  nn::check_targets(nn::Loss::softmax_cross_entropy, d, "data");
  d.y = ad::Tensor<double>{{-0.5, 1.5, 0}, {0, 1, 0}, {0, 0, 1}};  // sums to 1, not a distribution
  BOOST_CHECK_THROW(nn::check_targets(nn::Loss::softmax_cross_entropy, d, "data"), nn::DataError);
  d.y = ad::Tensor<double>{{1}, {0}, {2}};  // a class index, not a binary label
  message = test_support::message_of<nn::DataError>(
      [&] { nn::check_targets(nn::Loss::sigmoid_cross_entropy, d, "data"); });
  BOOST_TEST(contains(message, "example 2"), message);
  BOOST_TEST(contains(message, "[0, 1]"), message);
  nn::check_targets(nn::Loss::mean_squared_error, d, "data");  // any finite target
  d.y(1, 0) = std::nan("");
  BOOST_CHECK_THROW(nn::check_targets(nn::Loss::mean_squared_error, d, "data"), nn::DataError);
}
