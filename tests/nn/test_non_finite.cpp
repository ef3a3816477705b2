// NaN and ±Inf: refused where data enters (fit, evaluate, predict, normalization) naming the
// example and the feature, and never turned into a parameter update: a step whose cost or
// gradient is not finite is refused before the optimizer touches anything, naming the parameter
// block and the operation that produced it.
#define BOOST_TEST_MODULE nn non - finite
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

#include "helpers.hpp"
#include "error_text.hpp"

using nn::Activation;
using test_support::contains;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

nn::TrainOptions quiet(std::size_t epochs, std::size_t batch) {
  nn::TrainOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.progress = nn::Progress::none;
  o.shuffle = false;
  return o;
}

template <class F>
std::string data_error_of(F f) {
  return test_support::message_of<nn::DataError>(f);
}

template <class F>
std::string config_error_of(F f) {
  return test_support::message_of<nn::ConfigError>(f);
}

// Every parameter's value, to show that a refusal changed none of them.
template <class T>
std::vector<ad::Tensor<T>> values_of(const nn::Sequential<T>& m) {
  std::vector<ad::Tensor<T>> out;
  for (auto* p : m.parameters()) out.push_back(p->value);
  return out;
}

template <class T>
bool unchanged(const nn::Sequential<T>& m, const std::vector<ad::Tensor<T>>& before) {
  const auto now = values_of(m);
  if (now.size() != before.size()) return false;
  for (std::size_t k = 0; k < now.size(); ++k)
    if (!(now[k] == before[k])) return false;
  return true;
}

}  // namespace

// ReLU maps NaN to 0 forward, so the cost stayed near ln 3 while backward wrote NaN into W[1]:
// fit used to return normally with a model that predicts at chance.
BOOST_AUTO_TEST_CASE(fit_refuses_non_finite_features_before_training) {
  auto data = helpers::blobs<float>(10, 3, 4);
  data.x(7, 2) = float(kNaN);
  nn::Sequential<float> m;
  m.dense(8, Activation::relu).dense(3);
  m.build(4);
  const auto before = values_of(m);
  nn::Adam<float> adam(0.01);
  nn::Trainer<float> t(m, nn::Loss::softmax_cross_entropy, adam, quiet(2, 8));
  auto e = data_error_of([&] { t.fit(data); });
  BOOST_TEST(contains(e, "fit: training set: example 7 has feature 2 = nan"), e);
  BOOST_TEST(unchanged(m, before));
  BOOST_TEST(t.steps() == 0u);
  // The dev set too, and infinities as well as NaN (tanh used to throw after the bad update).
  auto clean = helpers::blobs<float>(10, 3, 4);
  auto dev = helpers::blobs<float>(4, 3, 4, 2);
  dev.x(5, 0) = -float(kInf);
  e = data_error_of([&] { t.fit(clean, &dev); });
  BOOST_TEST(contains(e, "fit: dev set: example 5 has feature 0 = -inf"), e);
  BOOST_TEST(unchanged(m, before));
  t.fit(clean, nullptr);  // still usable
  BOOST_TEST(t.steps() > 0u);
}

BOOST_AUTO_TEST_CASE(evaluate_and_predict_refuse_non_finite_features) {
  auto data = helpers::blobs<double>(10, 3, 4);
  nn::Sequential<double> m;
  m.dense(8, Activation::tanh).dense(3);
  nn::GradientDescent<double> gd(0.1);
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, gd, quiet(1, 8));
  t.fit(data);
  auto bad = data;
  bad.x(4, 3) = kNaN;
  // It used to classify the NaN example and report a finite cost.
  auto e = data_error_of([&] { t.evaluate(bad); });
  BOOST_TEST(contains(e, "evaluate: example 4 has feature 3 = nan"), e);
  nn::Predictor<double> p(m, nn::Loss::softmax_cross_entropy);
  bad.x(4, 3) = kInf;
  e = data_error_of([&] { p.probabilities(bad.x); });
  BOOST_TEST(contains(e, "predict: example 4 has feature 3 = inf"), e);
  e = data_error_of([&] { p.classes(bad.x); });
  BOOST_TEST(contains(e, "predict: example 4 has feature 3 = inf"), e);
  BOOST_TEST(t.evaluate(data).accuracy > 0.0);  // clean data still evaluates
}

BOOST_AUTO_TEST_CASE(normalizer_refuses_non_finite_features) {
  nn::Dataset<double> train;
  train.x = ad::Tensor<double>{{1, 2}, {3, kNaN}, {5, 6}};
  train.y = xt::zeros<double>({3, 1});
  nn::Normalizer<double> norm;
  // It used to return a NaN mean for feature 1.
  auto e = data_error_of([&] { norm.fit(train); });
  BOOST_TEST(contains(e, "Normalizer::fit: example 1 has feature 1 = nan"), e);
  BOOST_TEST(!norm.fitted());
  train.x(1, 1) = 4;
  norm.fit(train);
  ad::Tensor<double> x{{1, 2}, {kInf, 3}};
  const ad::Tensor<double> copy = x;
  e = data_error_of([&] { norm.apply(x); });
  BOOST_TEST(contains(e, "Normalizer::apply: example 1 has feature 0 = inf"), e);
  BOOST_TEST(x == copy);  // refused before anything was changed
}

// A step called directly (no fit check) on a batch holding NaN: the gradient of W[1] is NaN while
// the cost is finite. The update is refused; the message names the block, the operation and the
// example.
BOOST_AUTO_TEST_CASE(a_step_with_a_non_finite_gradient_is_not_applied) {
  auto data = helpers::blobs<float>(4, 3, 4);
  data.x(2, 1) = float(kNaN);
  nn::Sequential<float> m;
  m.dense(8).activation(Activation::relu).dense(3);  // relu as its own operation maps NaN to 0
  m.build(4);
  const auto before = values_of(m);
  nn::Adam<float> adam(0.01);
  nn::Trainer<float> t(m, nn::Loss::softmax_cross_entropy, adam, quiet(1, 4));
  const std::vector<std::size_t> batch{0, 1, 2, 3};
  const auto e = data_error_of([&] { t.step(data, batch); });
  BOOST_TEST(contains(e, "Trainer::step 1: the gradient of W[1] is not finite"), e);
  BOOST_TEST(contains(e, "example 2 of the data set has feature 1 = nan"), e);
  BOOST_TEST(contains(e, "the update was not applied"), e);
  BOOST_TEST(contains(e, "anomaly: input X holds NaN or Inf before any operation"), e);
  BOOST_TEST(contains(e, "anomaly: backward of linear_rows"), e);  // the operation that wrote it into dW[1]
  BOOST_TEST(contains(e, "in the gradient of its input 0 (W[1] (8, 4))"), e);
  BOOST_TEST(unchanged(m, before));
  BOOST_TEST(adam.steps() == 0u);  // no Adam moment moved either
  const auto& state = adam.state();
  BOOST_TEST((!state.count("v/W[1]") || state.at("v/W[1]") == xt::zeros<float>({8, 4})));
  BOOST_TEST(!t.tape().anomaly_detection());  // the replay's mode is switched off again
  const std::vector<std::size_t> clean{0, 1, 3};
  BOOST_TEST(std::isfinite(t.step(data, clean)));
  BOOST_TEST(adam.steps() == 1u);
}

// Targets of 1e20 square to 1e40, past float's range: the cost is infinite. The step used to
// apply its update anyway (fit then blamed the learning rate); now nothing moves and the
// operation is named.
BOOST_AUTO_TEST_CASE(a_step_with_a_non_finite_cost_is_not_applied_and_names_the_operation) {
  nn::Dataset<float> data;
  data.x = helpers::random<float>(4, 2, 3);
  data.y = xt::zeros<float>({4, 1});
  data.y(1, 0) = 1e20f;
  nn::Sequential<float> m;
  m.dense(3, Activation::tanh).dense(1);
  m.build(2);
  const auto before = values_of(m);
  nn::GradientDescent<float> gd(0.1);
  nn::Trainer<float> t(m, nn::Loss::mean_squared_error, gd, quiet(1, 4));
  const std::vector<std::size_t> batch{0, 1, 2, 3};
  const auto e = config_error_of([&] { t.step(data, batch); });
  BOOST_TEST(contains(e, "Trainer::step 1: the cost is inf"), e);
  BOOST_TEST(contains(e, "anomaly: forward of square"), e);
  BOOST_TEST(contains(e, "the update was not applied"), e);
  BOOST_TEST(unchanged(m, before));
  // fit stops the same way, naming the epoch.
  const auto f = config_error_of([&] { t.fit(data); });
  BOOST_TEST(contains(f, "epoch 1"), f);
  BOOST_TEST(contains(f, "the cost is inf"), f);
  BOOST_TEST(unchanged(m, before));
}

// A parameter that already holds NaN (e.g. set by hand) is named as the origin.
BOOST_AUTO_TEST_CASE(a_non_finite_parameter_is_named) {
  auto data = helpers::blobs<double>(4, 2, 3);
  nn::Sequential<double> m;
  m.dense(4, Activation::tanh).dense(2);
  m.build(3);
  m.parameter("W[2]").value(1, 3) = kNaN;
  nn::Momentum<double> mom(0.1);
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, mom, quiet(1, 8));
  const std::vector<std::size_t> batch{0, 1, 2};
  const auto e = config_error_of([&] { t.step(data, batch); });
  BOOST_TEST(contains(e, "anomaly: parameter W[2] holds NaN or Inf before any operation"), e);
  BOOST_TEST(mom.steps() == 0u);
}

// The optimizer itself refuses, before changing a value or a moment, and names the block and the
// first bad element (for optimizers used without a Trainer).
BOOST_AUTO_TEST_CASE(optimizers_refuse_non_finite_gradients_before_any_update) {
  ad::Parameter<float> w("W[1]", xt::ones<float>({3, 3})), b("b[1]", xt::ones<float>({3, 1}));
  std::vector<ad::Parameter<float>*> params{&w, &b};
  for (auto* p : params) p->grad.fill(0.5f);
  nn::Adam<float> adam(0.1);
  adam.step(params);
  const ad::Tensor<float> w1 = w.value, b1 = b.value, v1 = adam.state().at("v/b[1]");
  b.grad(2, 0) = float(kInf);
  auto e = config_error_of([&] { adam.step(params); });
  BOOST_TEST(contains(e, "adam: the gradient of b[1] is not finite (element 2 of 3 is inf)"), e);
  BOOST_TEST(w.value == w1);
  BOOST_TEST(b.value == b1);
  BOOST_TEST(adam.state().at("v/b[1]") == v1);
  BOOST_TEST(adam.steps() == 1u);
  // The exception is also a NonFiniteGradient carrying the block and the element.
  b.grad(2, 0) = 0.5f;
  w.grad(1, 2) = float(kNaN);
  try {
    adam.step(params);
    BOOST_FAIL("a NaN gradient was applied");
  } catch (const nn::NonFiniteGradient& g) {
    BOOST_TEST(g.parameter == "W[1]");
    BOOST_TEST(g.element == 5u);
  }
  // Every optimizer, in double too.
  ad::Parameter<double> d("W[1]", xt::ones<double>({2, 2}));
  d.grad.fill(kNaN);
  std::vector<ad::Parameter<double>*> dp{&d};
  nn::GradientDescent<double> gd(0.1);
  nn::Momentum<double> mom(0.1);
  nn::RMSProp<double> rms(0.1);
  for (nn::Optimizer<double>* o : std::vector<nn::Optimizer<double>*>{&gd, &mom, &rms}) {
    e = config_error_of([&] { o->step(dp); });
    BOOST_TEST(contains(e, o->name() + ": the gradient of W[1] is not finite (element 0 of 4 is nan)"), e);
    BOOST_TEST(d.value == xt::ones<double>({2, 2}));
  }
}

// Batch norm's training forward moves its running statistics before the gradient is known: a
// refused step puts them back, so evaluation is not poisoned either.
BOOST_AUTO_TEST_CASE(a_refused_step_leaves_batch_norm_statistics_alone) {
  auto data = helpers::blobs<float>(4, 3, 4);
  nn::Sequential<float> m;
  m.dense(8).batch_norm().activation(Activation::relu).dense(3);
  nn::Adam<float> adam(0.01);
  nn::Trainer<float> t(m, nn::Loss::softmax_cross_entropy, adam, quiet(1, 4));
  const std::vector<std::size_t> batch{0, 1, 2, 3};
  t.step(data, batch);  // moves the statistics once, from clean data
  std::vector<ad::Tensor<float>> stats;
  for (auto& b : m.buffers()) stats.push_back(*b.value);
  BOOST_TEST(!stats.empty());
  const auto before = values_of(m);
  data.x(1, 3) = float(kInf);
  const auto e = data_error_of([&] { t.step(data, batch); });
  BOOST_TEST(contains(e, "example 1 of the data set has feature 3 = inf"), e);
  std::size_t k = 0;
  for (auto& b : m.buffers()) BOOST_TEST((*b.value == stats[k++]), b.name);
  BOOST_TEST(unchanged(m, before));
}
