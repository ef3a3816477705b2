// Batch norm's forward semantics: mini-batch statistics in training, the exponentially weighted
// running statistics updated only by unfrozen training forwards, and used in evaluation.
// (Its gradients are checked in test_gradients.)
#define BOOST_TEST_MODULE nn batch norm
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "helpers.hpp"
#include "error_text.hpp"

namespace tt = boost::test_tools;

namespace {

struct Fixture {
  nn::BatchNorm<double> layer{0.9, 1e-5};
  Fixture() { layer.build(3, 2, 0); }
  ad::Var<double> apply(ad::Tape<double>& tape, const ad::Tensor<double>& Z, nn::Mode mode) {
    nn::Layout layout = nn::Layout::columns;
    return layer.apply(tape, tape.input("Z", Z), mode, layout);
  }
};

// Per-row mean and biased variance.
std::pair<ad::Tensor<double>, ad::Tensor<double>> row_stats(const ad::Tensor<double>& Z) {
  const std::size_t R = Z.shape()[0], C = Z.shape()[1];
  ad::Tensor<double> mu = xt::zeros<double>({R, std::size_t(1)}), var = mu;
  for (std::size_t i = 0; i < R; ++i) {
    for (std::size_t j = 0; j < C; ++j) mu(i, 0) += Z(i, j) / double(C);
    for (std::size_t j = 0; j < C; ++j) var(i, 0) += (Z(i, j) - mu(i, 0)) * (Z(i, j) - mu(i, 0)) / double(C);
  }
  return {mu, var};
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(training_normalizes_with_batch_statistics, Fixture) {
  BOOST_TEST(layer.gamma().name == "gamma[2]");
  layer.gamma().value = ad::Tensor<double>{{1.0}, {2.0}, {0.5}};
  layer.beta().value = ad::Tensor<double>{{0.0}, {-1.0}, {3.0}};
  const auto Z = helpers::random(3, 8, 4, -3, 5);
  ad::Tape<double> tape;
  auto Y = apply(tape, Z, nn::Mode::train);
  const auto [mu, var] = row_stats(Z);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 8; ++j) {
      const double expected =
          layer.gamma().value(i, 0) * (Z(i, j) - mu(i, 0)) / std::sqrt(var(i, 0) + 1e-5) + layer.beta().value(i, 0);
      BOOST_TEST(Y.value()(i, j) == expected, tt::tolerance(1e-12));
    }
}

BOOST_FIXTURE_TEST_CASE(running_statistics_move_only_when_not_frozen, Fixture) {
  const auto Z = helpers::random(3, 8, 5, -2, 4);
  const auto [mu, var] = row_stats(Z);
  ad::Tape<double> tape;
  tape.set_frozen(true);  // recording runs a forward: frozen, it changes nothing
  apply(tape, Z, nn::Mode::train);
  BOOST_TEST(layer.state().running_mean == xt::zeros<double>({3, 1}));
  BOOST_TEST(layer.state().running_var == xt::ones<double>({3, 1}));
  tape.set_frozen(false);
  tape.forward();
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(layer.state().running_mean(i, 0) == 0.1 * mu(i, 0), tt::tolerance(1e-12));
    // Bessel's correction for the running variance: var · m/(m − 1).
    BOOST_TEST(layer.state().running_var(i, 0) == 0.9 + 0.1 * var(i, 0) * 8.0 / 7.0, tt::tolerance(1e-12));
  }
  const auto saved_mean = layer.state().running_mean;
  tape.set_frozen(true);
  tape.forward();
  tape.forward();
  BOOST_TEST(layer.state().running_mean == saved_mean);
}

BOOST_FIXTURE_TEST_CASE(evaluation_uses_running_statistics, Fixture) {
  layer.state().running_mean = ad::Tensor<double>{{1.0}, {-2.0}, {0.5}};
  layer.state().running_var = ad::Tensor<double>{{4.0}, {0.25}, {1.0}};
  layer.gamma().value = ad::Tensor<double>{{1.5}, {1.0}, {2.0}};
  const auto Z = helpers::random(3, 5, 6, -3, 3);
  ad::Tape<double> tape;
  auto Y = apply(tape, Z, nn::Mode::eval);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 5; ++j) {
      const double expected = layer.gamma().value(i, 0) * (Z(i, j) - layer.state().running_mean(i, 0)) /
                              std::sqrt(layer.state().running_var(i, 0) + 1e-5);
      BOOST_TEST(Y.value()(i, j) == expected, tt::tolerance(1e-12));
    }
  // Evaluation is per example: one example gives the same output alone as within a batch.
  ad::Tape<double> single;
  auto y0 = apply(single, xt::eval(xt::view(Z, xt::all(), xt::range(2, 3))), nn::Mode::eval);
  for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(y0.value()(i, 0) == Y.value()(i, 2), tt::tolerance(1e-14));
  // ... and running statistics are not touched by evaluation.
  BOOST_TEST(layer.state().running_mean(1, 0) == -2.0);
}

BOOST_AUTO_TEST_CASE(trainer_records_without_touching_statistics) {
  // The trainer's recording forward runs on placeholder zeros; only the real step may update.
  auto data = helpers::blobs<double>(8, 2, 3);
  nn::Sequential<double> m;
  m.dense(4).batch_norm().activation(nn::Activation::relu).dense(2);
  nn::GradientDescent<double> gd(0.1);
  nn::TrainOptions o;
  o.progress = nn::Progress::none;
  nn::Trainer<double> trainer(m, nn::Loss::softmax_cross_entropy, gd, o);
  const std::vector<std::size_t> batch{0, 1, 2, 3, 4, 5};
  // Z[1] of the batch, with W[1] as it is before the step's update.
  m.build(3);
  const ad::Tensor<double> W = m.parameter("W[1]").value;
  trainer.step(data, batch);
  auto& bn = dynamic_cast<nn::BatchNorm<double>&>(m.layer(1));
  for (std::size_t i = 0; i < 4; ++i) {
    double mu = 0;
    for (auto e : batch)
      for (std::size_t k = 0; k < 3; ++k) mu += W(i, k) * data.x(e, k) / double(batch.size());
    BOOST_TEST(bn.state().running_mean(i, 0) == 0.1 * mu, tt::tolerance(1e-12));
  }
}

BOOST_AUTO_TEST_CASE(shape_errors_name_the_operands) {
  nn::BatchNormState<double> s;
  s.running_mean = xt::zeros<double>({3, 1});
  s.running_var = xt::ones<double>({3, 1});
  ad::Tape<double> tape;
  auto Z = tape.input("Z[2]", helpers::random(3, 4, 1));
  ad::Parameter<double> g("gamma[2]", xt::ones<double>({4, 1})), b("beta[2]", xt::zeros<double>({3, 1}));
  try {
    nn::batch_norm(Z, tape.parameter(g), tape.parameter(b), s, true);
    BOOST_FAIL("expected ShapeError");
  } catch (const ad::ShapeError& e) {
    BOOST_TEST(std::string(e.what()).find("Z[2] is (3, 4) but gamma[2] is (4, 1)") != std::string::npos, e.what());
  }
}

BOOST_FIXTURE_TEST_CASE(training_on_a_single_example_is_refused, Fixture) {
  // One column has variance 0: every output would be β and dZ would be 0, silently.
  ad::Tape<double> tape;
  const auto message = test_support::message_of<ad::Error>([&] { apply(tape, helpers::random(3, 1, 6), nn::Mode::train); });
  BOOST_TEST(test_support::contains(message, "gamma[2]"), message);
  BOOST_TEST(test_support::contains(message, "at least 2 examples"), message);
  BOOST_TEST(layer.state().running_mean == xt::zeros<double>({3, 1}));  // refused before any change
  BOOST_TEST(layer.state().running_var == xt::ones<double>({3, 1}));
  ad::Tape<double> eval;
  auto Y = apply(eval, helpers::random(3, 1, 6), nn::Mode::eval);  // evaluation uses running statistics: fine
  BOOST_TEST((ad::shape_of(Y.value()) == ad::Shape{3, 1}));
}
