// The trainer's divergence guard: a run whose cost grows far above its start, or becomes NaN/Inf,
// stops with DivergenceError (a ConfigError) naming the epoch, the step and the learning rate,
// instead of finishing silently with an enormous cost; the rule is configurable and can be
// switched off, and healthy runs are never stopped.
#define BOOST_TEST_MODULE nn divergence
#include <boost/test/unit_test.hpp>

#include <fmt/format.h>

#include "helpers.hpp"
#include "error_text.hpp"

using nn::Activation;
using test_support::contains;

namespace {

// Three blobs with features ×3: at α = 10 plain gradient descent blows the cost up from ~9 to
// ~1e273 and (without the guard) still completes its 20 epochs; at α = 0.3 it learns.
struct Run {
  nn::Dataset<double> data = helpers::blobs<double>(20, 3, 2, 1, 0.5);
  nn::Sequential<double> model;
  nn::GradientDescent<double> gd;
  nn::Trainer<double> trainer;
  static nn::TrainOptions options(nn::TrainOptions o) {
    o.epochs = 20;
    o.batch_size = 10;
    o.progress = nn::Progress::none;
    return o;
  }
  Run(double alpha, nn::TrainOptions o = {})
      : gd(alpha), trainer((model.dense(8, Activation::relu).dense(3), model), nn::Loss::softmax_cross_entropy, gd,
                           options(o)) {
    for (auto& v : data.x) v *= 3;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_cost_far_above_its_start_stops_training_naming_epoch_step_and_rate) {
  Run run(10);
  double first = 0;
  std::size_t steps_seen = 0;
  run.trainer.on_step([&](nn::Trainer<double>&, const nn::StepEvent<double>& e) {
    if (e.step == 1) first = e.cost;
    steps_seen = e.step;
  });
  std::string message;
  try {
    run.trainer.fit(run.data);
    BOOST_FAIL("a diverging run finished without an error");
  } catch (const nn::DivergenceError& e) {
    message = e.what();
  }
  const std::size_t step = steps_seen + 1;  // the refused step calls no callback
  const std::size_t epoch = (step - 1) / 6 + 1;  // 60 examples in batches of 10
  BOOST_TEST(contains(message, fmt::format("epoch {}, step {}", epoch, step)), message);
  BOOST_TEST(contains(message, "learning rate 10"), message);
  BOOST_TEST(contains(message, fmt::format("1000 × {:.4g} (the first step's cost) + 1", first)), message);
  BOOST_TEST(contains(message, "TrainOptions::stop_on_divergence"), message);
  // The refused step changed nothing: the trainer counts only the steps it applied.
  BOOST_TEST(run.trainer.steps() == steps_seen);
}

BOOST_AUTO_TEST_CASE(divergence_error_is_a_config_error) {
  Run run(10);
  BOOST_CHECK_THROW(run.trainer.fit(run.data), nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(switched_off_the_same_run_finishes_with_an_enormous_cost) {
  nn::TrainOptions o;
  o.stop_on_divergence = false;
  Run run(10, o);
  const auto h = run.trainer.fit(run.data);
  BOOST_TEST(h.epochs.size() == 20u);
  BOOST_TEST(h.epochs.back().cost > 1e6);  // what the guard is for
}

BOOST_AUTO_TEST_CASE(a_healthy_run_is_not_stopped) {
  Run run(0.3);
  const auto h = run.trainer.fit(run.data);
  BOOST_TEST(h.epochs.size() == 20u);
  BOOST_TEST(h.epochs.back().cost < 0.1);
}

BOOST_AUTO_TEST_CASE(the_factor_and_floor_are_the_rule) {
  // At α = 1 the cost spikes to ~4e9 times its start within the first epochs, then recovers.
  Run spiking(1);
  BOOST_CHECK_THROW(spiking.trainer.fit(spiking.data), nn::DivergenceError);
  nn::TrainOptions tolerant;
  tolerant.divergence_factor = 1e12;
  Run allowed(1, tolerant);
  BOOST_TEST(allowed.trainer.fit(allowed.data).epochs.size() == 20u);
  nn::TrainOptions strict;
  strict.divergence_factor = 1;
  strict.divergence_floor = 0;
  Run refused(1, strict);
  try {
    refused.trainer.fit(refused.data);
    BOOST_FAIL("expected DivergenceError");
  } catch (const nn::DivergenceError& e) {
    BOOST_TEST(contains(e.what(), "> 1 × "), e.what());
    BOOST_TEST(contains(e.what(), "+ 0 (TrainOptions::divergence_factor, divergence_floor)"), e.what());
  }
}

BOOST_AUTO_TEST_CASE(a_nan_or_inf_cost_is_a_divergence_error_even_with_the_guard_off) {
  nn::TrainOptions o;
  o.stop_on_divergence = false;
  Run run(1e30, o);
  try {
    run.trainer.fit(run.data);
    BOOST_FAIL("expected DivergenceError");
  } catch (const nn::DivergenceError& e) {
    BOOST_TEST(contains(e.what(), "the cost is"), e.what());
    BOOST_TEST(contains(e.what(), "learning rate 1e+30"), e.what());
    BOOST_TEST(contains(e.what(), "(epoch "), e.what());
  }
}

BOOST_AUTO_TEST_CASE(bad_guard_settings_are_refused) {
  auto refused = [](nn::TrainOptions o, const std::string& text) {
    nn::Sequential<double> m;
    nn::GradientDescent<double> gd(0.1);
    const auto message =
        test_support::message_of<nn::ConfigError>([&] { nn::Trainer<double>(m, nn::Loss::softmax_cross_entropy, gd, o); });
    BOOST_TEST(contains(message, text), message);
  };
  nn::TrainOptions o;
  o.divergence_factor = 0.5;
  refused(o, "divergence_factor must be >= 1, got 0.5");
  o.divergence_factor = std::nan("");
  refused(o, "divergence_factor must be >= 1, got nan");
  o = {};
  o.divergence_floor = -1;
  refused(o, "divergence_floor must be >= 0, got -1");
}
