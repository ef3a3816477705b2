// Initializers: the variances of He, Xavier and Glorot measured on large draws (normal and
// uniform), the scale multiplier, reproducibility, and why zeros fail: symmetric units stay
// symmetric under gradient descent.
#define BOOST_TEST_MODULE nn init
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "helpers.hpp"

namespace tt = boost::test_tools;

namespace {

struct Moments {
  double mean, variance, max_abs;
};

Moments moments(const ad::Tensor<double>& w) {
  double s = 0, sq = 0, mx = 0;
  for (double x : w) {
    s += x;
    mx = std::max(mx, std::abs(x));
  }
  const double mean = s / double(w.size());
  for (double x : w) sq += (x - mean) * (x - mean);
  return {mean, sq / double(w.size()), mx};
}

Moments draw(const nn::Init& init, std::size_t fan_out, std::size_t fan_in, std::uint64_t seed = 7) {
  ad::Tensor<double> w = xt::zeros<double>({fan_out, fan_in});
  auto rng = nn::rng_for(seed, "W[1]");
  nn::initialize(w, init, rng);
  return moments(w);
}

}  // namespace

BOOST_AUTO_TEST_CASE(variances_on_large_draws) {
  // 400 × 500 = 200000 draws: the sample variance is within ~0.3% (normal) of the true one; 2% is safe.
  const std::size_t out = 400, in = 500;
  struct Case {
    nn::Init init;
    double variance;
  } cases[] = {
      {nn::Init::he(), 2.0 / in},
      {nn::Init::he(nn::Distribution::uniform), 2.0 / in},
      {nn::Init::xavier(), 1.0 / in},
      {nn::Init::xavier(nn::Distribution::uniform), 1.0 / in},
      {nn::Init::glorot(), 2.0 / (in + out)},
      {nn::Init::glorot(nn::Distribution::uniform), 2.0 / (in + out)},
      {nn::Init::small_random(), 1e-4},
      {nn::Init::he(nn::Distribution::normal, 0.5), 0.25 * 2.0 / in},  // the scale multiplies σ
  };
  for (const auto& c : cases) {
    const auto m = draw(c.init, out, in);
    BOOST_TEST_CONTEXT(nn::to_string(c.init.kind) << " " << nn::to_string(c.init.distribution) << " x" << c.init.scale) {
      BOOST_TEST(m.variance == c.variance, tt::tolerance(0.02));
      BOOST_TEST(std::abs(m.mean) < 4 * std::sqrt(c.variance / double(out * in)));
      if (c.init.distribution == nn::Distribution::uniform)  // U(−a, a) with a = √3 σ
        BOOST_TEST(m.max_abs <= std::sqrt(3 * c.variance) * (1 + 1e-12));
    }
  }
}

BOOST_AUTO_TEST_CASE(seeded_and_reproducible) {
  ad::Tensor<double> a = xt::zeros<double>({30, 20}), b = a, c = a;
  auto r1 = nn::rng_for(3, "W[2]"), r2 = nn::rng_for(3, "W[2]"), r3 = nn::rng_for(4, "W[2]");
  nn::initialize(a, nn::Init::he(), r1);
  nn::initialize(b, nn::Init::he(), r2);
  nn::initialize(c, nn::Init::he(), r3);
  BOOST_TEST(a == b);
  BOOST_TEST(!(a == c));
  // Models built with the same seed are identical; each parameter has its own stream.
  nn::Sequential<double> m1, m2;
  m1.dense(8, nn::Activation::relu).dense(3);
  m2.dense(8, nn::Activation::relu).dense(3);
  m1.build(5, 11);
  m2.build(5, 11);
  BOOST_TEST(m1.parameter("W[1]").value == m2.parameter("W[1]").value);
  BOOST_TEST(m1.parameter("W[2]").value == m2.parameter("W[2]").value);
}

BOOST_AUTO_TEST_CASE(zeros_keep_units_symmetric) {
  // Two layers, sigmoid hidden units. From zeros every hidden unit computes the same function and
  // receives the same gradient, so after training all rows of W[1] are still equal: 8 units are
  // worth one. He initialization breaks the symmetry.
  auto data = helpers::blobs<double>(20, 2, 3);
  for (auto init : {nn::Init::zeros(), nn::Init::he()}) {
    nn::Sequential<double> model;
    model.dense(8, nn::Activation::sigmoid, init).dense(2, nn::Activation::linear, init);
    model.build(3, 1);
    nn::GradientDescent<double> gd(0.5);
    nn::TrainOptions o;
    o.epochs = 20;
    o.batch_size = 40;
    o.progress = nn::Progress::none;
    nn::Trainer<double> trainer(model, nn::Loss::softmax_cross_entropy, gd, o);
    trainer.fit(data);
    const auto& W1 = model.parameter("W[1]").value;
    double spread = 0;  // largest difference between a unit's weights and unit 0's
    for (std::size_t i = 1; i < W1.shape()[0]; ++i)
      for (std::size_t j = 0; j < W1.shape()[1]; ++j) spread = std::max(spread, std::abs(W1(i, j) - W1(0, j)));
    if (init.kind == nn::InitKind::zeros) {
      BOOST_TEST(spread == 0.0);
      BOOST_TEST(xt::amax(xt::abs(W1))() > 0.0);  // they did learn, all the same thing
    } else {
      BOOST_TEST(spread > 0.1);
    }
  }
}

BOOST_AUTO_TEST_CASE(names_round_trip) {
  for (auto k : {nn::InitKind::zeros, nn::InitKind::small_random, nn::InitKind::he, nn::InitKind::xavier,
                 nn::InitKind::glorot})
    BOOST_TEST(int(nn::init_kind_from_string(nn::to_string(k))) == int(k));
  BOOST_CHECK_THROW(nn::init_kind_from_string("lecun"), nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(glorot_uniform_reaches_its_limit_and_the_scale_applies_to_every_distribution) {
  // Glorot uniform is U(−a, a) with a = √(6 / (n_in + n_out)); ×2 doubles a for every kind.
  const std::size_t out = 400, in = 500;
  const double limit = std::sqrt(6.0 / double(in + out));
  const auto plain = draw(nn::Init::glorot(nn::Distribution::uniform), out, in);
  BOOST_TEST(plain.max_abs <= limit);
  BOOST_TEST(plain.max_abs > 0.999 * limit);  // 200000 draws come close to the edge
  const auto doubled = draw(nn::Init::glorot(nn::Distribution::uniform, 2.0), out, in);
  BOOST_TEST(doubled.max_abs == 2 * plain.max_abs, tt::tolerance(1e-12));
  BOOST_TEST(doubled.variance == 4 * plain.variance, tt::tolerance(1e-12));
  const auto small = draw(nn::Init::small_random(3.0, nn::Distribution::uniform), out, in);
  BOOST_TEST(small.variance == 9e-4, tt::tolerance(0.02));
}

BOOST_AUTO_TEST_CASE(a_scale_that_is_not_a_positive_number_is_refused) {
  for (double scale : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    BOOST_TEST_CONTEXT("scale " << scale) {
      BOOST_CHECK_THROW(nn::Dense<double>(4, nn::Activation::relu, nn::Init::he(nn::Distribution::normal, scale)),
                        nn::ConfigError);
      ad::Tensor<double> w = xt::zeros<double>({2, 2});
      auto rng = nn::rng_for(0, "W[1]");
      BOOST_CHECK_THROW(nn::initialize(w, nn::Init::xavier(nn::Distribution::uniform, scale), rng), nn::ConfigError);
    }
  }
}
