// Random search: hyperparameters sampled on their appropriate scales, seeded, best trial first.
#define BOOST_TEST_MODULE nn search
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "helpers.hpp"

namespace tt = boost::test_tools;

BOOST_AUTO_TEST_CASE(scales) {
  std::mt19937_64 rng(1);
  // Learning rate in [1e-4, 1]: each of the four decades gets a quarter of the draws.
  nn::SearchDimension lr{"learning_rate", 1e-4, 1, nn::Scale::log};
  std::vector<int> decade(4, 0);
  for (int i = 0; i < 20000; ++i) {
    const double x = nn::sample(lr, rng);
    BOOST_REQUIRE(x >= 1e-4);
    BOOST_REQUIRE(x <= 1.0);
    ++decade[std::min(3, int(std::floor(std::log10(x) + 4)))];
  }
  for (int d : decade) BOOST_TEST(d / 20000.0 == 0.25, tt::tolerance(0.05));
  // β in [0.9, 0.999]: half of the draws above 0.99.
  nn::SearchDimension beta{"beta", 0.9, 0.999, nn::Scale::one_minus_log};
  int above = 0;
  for (int i = 0; i < 20000; ++i) above += nn::sample(beta, rng) > 0.99;
  BOOST_TEST(above / 20000.0 == 0.5, tt::tolerance(0.05));
  nn::SearchDimension units{"units", 10, 20, nn::Scale::linear, true};
  const double u = nn::sample(units, rng);
  BOOST_TEST(u == std::round(u));
  BOOST_CHECK_THROW(nn::sample(nn::SearchDimension{"x", 0, 1, nn::Scale::log}, rng), nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(integers_are_drawn_evenly_and_inside_the_range) {
  // Rounding a uniform draw on [1, 3] would give 1 and 3 a quarter each and 2 half.
  std::mt19937_64 rng(2);
  nn::SearchDimension layers{"layers", 1, 3, nn::Scale::linear, true};
  std::vector<int> count(4, 0);
  for (int i = 0; i < 30000; ++i) {
    const double x = nn::sample(layers, rng);
    BOOST_REQUIRE(x == std::round(x));
    BOOST_REQUIRE(x >= 1);
    BOOST_REQUIRE(x <= 3);
    ++count[std::size_t(x)];
  }
  for (int k = 1; k <= 3; ++k) BOOST_TEST(count[std::size_t(k)] / 30000.0 == 1.0 / 3, tt::tolerance(0.05));
  nn::SearchDimension half{"units", 0.5, 2.5, nn::Scale::linear, true};  // 1 or 2, never 0 or 3
  nn::SearchDimension units{"units", 16, 1024, nn::Scale::log, true};
  for (int i = 0; i < 2000; ++i) {
    const double x = nn::sample(half, rng);
    BOOST_REQUIRE((x == 1 || x == 2));
    const double u = nn::sample(units, rng);
    BOOST_REQUIRE(u == std::round(u));
    BOOST_REQUIRE(u >= 16);
    BOOST_REQUIRE(u <= 1024);
  }
  BOOST_CHECK_THROW(nn::sample(nn::SearchDimension{"units", 1.2, 1.8, nn::Scale::linear, true}, rng), nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(a_space_with_a_repeated_name_or_an_infinite_bound_is_refused_before_any_trial) {
  int calls = 0;
  auto objective = [&](const nn::Hyperparameters&) { return double(++calls); };
  const std::vector<nn::SearchDimension> repeated{{"lr", 1e-4, 1e-1, nn::Scale::log}, {"lr", 0, 1}};
  BOOST_CHECK_THROW(nn::random_search(repeated, 5, 1, objective), nn::ConfigError);
  const std::vector<nn::SearchDimension> infinite{{"lambda", 0, std::numeric_limits<double>::infinity()}};
  BOOST_CHECK_THROW(nn::random_search(infinite, 5, 1, objective), nn::ConfigError);
  BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(search_ranks_trials) {
  const std::vector<nn::SearchDimension> space{{"a", -1, 1}, {"lr", 1e-3, 1, nn::Scale::log}};
  auto objective = [](const nn::Hyperparameters& h) {
    if (h.at("lr") > 0.5) throw nn::ConfigError("diverged");
    return (h.at("a") - 0.3) * (h.at("a") - 0.3);
  };
  const auto trials = nn::random_search(space, 40, 7, objective);
  BOOST_TEST(trials.size() == 40u);
  for (std::size_t k = 1; k < trials.size(); ++k) BOOST_TEST(trials[k - 1].score <= trials[k].score);
  BOOST_TEST(std::abs(trials.front().values.at("a") - 0.3) < 0.1);
  BOOST_TEST(nn::random_search(space, 40, 7, objective).front().values == trials.front().values);
}

BOOST_AUTO_TEST_CASE(search_tunes_a_real_model) {
  // The learning rate of a small model, scored by its dev cost after a few epochs.
  auto data = helpers::blobs<double>(20, 3, 2, 4, 0.8);
  auto parts = nn::split(data, 0.3, 0.0, 1);
  auto objective = [&](const nn::Hyperparameters& h) {
    nn::Sequential<double> m;
    m.dense(8, nn::Activation::relu).dense(3);
    nn::GradientDescent<double> gd(h.at("learning_rate"));
    nn::TrainOptions o;
    o.epochs = 10;
    o.batch_size = 16;
    o.progress = nn::Progress::none;
    nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, gd, o);
    t.fit(parts.train);
    return t.evaluate(parts.dev).cost;
  };
  const auto trials = nn::random_search({{"learning_rate", 1e-4, 1.0, nn::Scale::log}}, 8, 3, objective);
  BOOST_TEST(trials.front().values.at("learning_rate") > 1e-2);  // tiny rates learn nothing in 10 epochs
}
