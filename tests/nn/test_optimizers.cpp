// Optimizer updates compared with steps computed by hand, their state keyed by parameter name,
// learning-rate schedules, and no allocation in a steady-state step.
#define BOOST_TEST_MODULE nn optimizers
#include <boost/test/unit_test.hpp>

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "allocation_counter.hpp"
#include "helpers.hpp"


namespace tt = boost::test_tools;

namespace {

// Two steps with gradients g1 then g2 on a fresh parameter; returns its values after each step.
std::pair<ad::Tensor<double>, ad::Tensor<double>> two_steps(nn::Optimizer<double>& opt, const ad::Tensor<double>& w0,
                                                            const ad::Tensor<double>& g1, const ad::Tensor<double>& g2) {
  ad::Parameter<double> p("W[1]", w0);
  std::vector<ad::Parameter<double>*> ps{&p};
  p.grad = g1;
  opt.step(ps);
  ad::Tensor<double> after1 = p.value;
  p.grad = g2;
  opt.step(ps);
  return {after1, p.value};
}

const ad::Tensor<double> w0{{0.5, -1.0}, {2.0, 0.0}};
const ad::Tensor<double> g1{{0.1, -0.2}, {0.3, 0.0}};
const ad::Tensor<double> g2{{-0.4, 0.5}, {0.1, 1.0}};

}  // namespace

BOOST_AUTO_TEST_CASE(gradient_descent) {
  nn::GradientDescent<double> gd(0.1);
  auto [w1, w2] = two_steps(gd, w0, g1, g2);
  BOOST_TEST(w1 == w0 - 0.1 * g1, tt::tolerance(1e-15) << tt::per_element());
  BOOST_TEST(w2 == w0 - 0.1 * g1 - 0.1 * g2, tt::tolerance(1e-15) << tt::per_element());
}

BOOST_AUTO_TEST_CASE(momentum) {
  nn::Momentum<double> opt(0.1, 0.9);
  auto [w1, w2] = two_steps(opt, w0, g1, g2);
  const ad::Tensor<double> v1 = 0.1 * g1;
  const ad::Tensor<double> v2 = 0.9 * v1 + 0.1 * g2;
  BOOST_TEST(w1 == w0 - 0.1 * v1, tt::tolerance(1e-15) << tt::per_element());
  BOOST_TEST(w2 == w0 - 0.1 * v1 - 0.1 * v2, tt::tolerance(1e-15) << tt::per_element());
  BOOST_TEST(opt.state().at("v/W[1]") == v2, tt::tolerance(1e-15) << tt::per_element());
}

BOOST_AUTO_TEST_CASE(rmsprop) {
  nn::RMSProp<double> opt(0.01, 0.99, 1e-8);
  auto [w1, w2] = two_steps(opt, w0, g1, g2);
  for (std::size_t i = 0; i < w0.size(); ++i) {
    const double s1 = 0.01 * g1.data()[i] * g1.data()[i];
    const double e1 = w0.data()[i] - 0.01 * g1.data()[i] / (std::sqrt(s1) + 1e-8);
    const double s2 = 0.99 * s1 + 0.01 * g2.data()[i] * g2.data()[i];
    const double e2 = e1 - 0.01 * g2.data()[i] / (std::sqrt(s2) + 1e-8);
    BOOST_TEST(w1.data()[i] == e1, tt::tolerance(1e-12));
    BOOST_TEST(w2.data()[i] == e2, tt::tolerance(1e-12));
  }
}

BOOST_AUTO_TEST_CASE(adam_with_bias_correction) {
  nn::Adam<double> opt(0.01, 0.9, 0.999, 1e-8);
  auto [w1, w2] = two_steps(opt, w0, g1, g2);
  for (std::size_t i = 0; i < w0.size(); ++i) {
    const double a = g1.data()[i], b = g2.data()[i];
    double v = 0.1 * a, s = 0.001 * a * a;
    const double e1 = w0.data()[i] - 0.01 * (v / (1 - 0.9)) / (std::sqrt(s / (1 - 0.999)) + 1e-8);
    v = 0.9 * v + 0.1 * b;
    s = 0.999 * s + 0.001 * b * b;
    const double e2 = e1 - 0.01 * (v / (1 - 0.81)) / (std::sqrt(s / (1 - 0.999 * 0.999)) + 1e-8);
    BOOST_TEST(w1.data()[i] == e1, tt::tolerance(1e-12));
    BOOST_TEST(w2.data()[i] == e2, tt::tolerance(1e-12));
  }
  BOOST_TEST(opt.steps() == 2u);
  BOOST_TEST(opt.state().size() == 2u);
  BOOST_TEST(opt.state().count("v/W[1]") == 1u);
  BOOST_TEST(opt.state().count("s/W[1]") == 1u);
}

BOOST_AUTO_TEST_CASE(state_follows_the_name_not_the_address) {
  // A model rebuilt (new Parameter objects at new addresses, same names) continues with its moments.
  nn::Adam<double> a(0.01), b(0.01);
  auto p1 = std::make_unique<ad::Parameter<double>>("W[1]", w0);
  ad::Parameter<double> q("W[1]", w0);
  std::vector<ad::Parameter<double>*> pa{p1.get()}, pb{&q};
  p1->grad = g1;
  q.grad = g1;
  a.step(pa);
  b.step(pb);
  auto p2 = std::make_unique<ad::Parameter<double>>("W[1]", p1->value);  // the "rebuilt" parameter
  p1.reset();
  p2->grad = g2;
  q.grad = g2;
  std::vector<ad::Parameter<double>*> pa2{p2.get()};
  a.step(pa2);
  b.step(pb);
  BOOST_TEST(p2->value == q.value, tt::per_element());
  // A name whose shape changed is an error, not silent garbage.
  ad::Parameter<double> wrong("W[1]", xt::zeros<double>({3, 3}));
  std::vector<ad::Parameter<double>*> pw{&wrong};
  BOOST_CHECK_THROW(a.step(pw), nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(frozen_parameters_are_not_updated) {
  nn::Momentum<double> opt(0.1);
  ad::Parameter<double> p("W[1]", w0), f("W[2]", w0);
  f.trainable = false;
  p.grad = g1;
  f.grad = g1;
  std::vector<ad::Parameter<double>*> ps{&p, &f};
  opt.step(ps);
  BOOST_TEST(f.value == w0);
  BOOST_TEST(!(p.value == w0));
}

BOOST_AUTO_TEST_CASE(schedules) {
  using S = nn::Schedule;
  BOOST_TEST(S::constant().at(0.1, 7) == 0.1);
  BOOST_TEST(S::inverse_time(1.0).at(0.2, 0) == 0.2, tt::tolerance(1e-15));
  BOOST_TEST(S::inverse_time(1.0).at(0.2, 3) == 0.2 / 4, tt::tolerance(1e-15));
  BOOST_TEST(S::inverse_time(0.5, 2).at(0.2, 5) == 0.2 / (1 + 0.5 * 2), tt::tolerance(1e-15));
  BOOST_TEST(S::exponential(0.95).at(0.1, 3) == 0.1 * 0.95 * 0.95 * 0.95, tt::tolerance(1e-15));
  BOOST_TEST(S::step(10, 0.5).at(0.1, 9) == 0.1, tt::tolerance(1e-15));
  BOOST_TEST(S::step(10, 0.5).at(0.1, 25) == 0.025, tt::tolerance(1e-15));
  nn::GradientDescent<double> gd(0.3, S::inverse_time(1.0));
  gd.set_epoch(2);
  BOOST_TEST(gd.learning_rate() == 0.1, tt::tolerance(1e-15));
  const auto j = S::step(4, 0.3).to_json();
  BOOST_TEST(S::from_json(j).at(1, 9) == S::step(4, 0.3).at(1, 9));
}

BOOST_AUTO_TEST_CASE(schedules_change_exactly_at_their_boundaries) {
  // Epochs count from 0: step(10, ½) keeps α0 through epoch 9 and halves at 10, 20, ...
  using S = nn::Schedule;
  const double a = 0.1;
  const std::pair<std::size_t, double> step_cases[] = {{0, a}, {9, a}, {10, a / 2}, {19, a / 2}, {20, a / 4}};
  for (auto [epoch, rate] : step_cases) BOOST_TEST(S::step(10, 0.5).at(a, epoch) == rate, tt::tolerance(1e-15));
  const std::pair<std::size_t, double> inverse_cases[] = {{0, a}, {1, a}, {2, a / 1.5}, {3, a / 1.5}, {4, a / 2}};
  for (auto [epoch, rate] : inverse_cases)
    BOOST_TEST(S::inverse_time(0.5, 2).at(a, epoch) == rate, tt::tolerance(1e-15));
  BOOST_TEST(S::exponential(0.9).at(a, 0) == a);
  BOOST_TEST(S::exponential(0.9).at(a, 1) == 0.09, tt::tolerance(1e-15));
  BOOST_TEST(S::exponential(0.9).at(a, 10) == a * std::pow(0.9, 10), tt::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(out_of_range_hyperparameters_are_refused) {
  using S = nn::Schedule;
  auto refused = [](auto&& make, const std::string& words) {
    try {
      make();
    } catch (const nn::ConfigError& e) {
      BOOST_TEST(std::string(e.what()).find(words) != std::string::npos, e.what());
      return;
    }
    BOOST_ERROR("accepted: expected an error with '" << words << "'");
  };
  refused([] { nn::Adam<float>(1e-3, 0.9, 0.999, -1e-8); }, "adam: epsilon must be > 0");
  refused([] { nn::Adam<float>(1e-3, 0.9, 1.0); }, "adam: beta2 must be in [0, 1)");
  refused([] { nn::RMSProp<float>(1e-3, 0.9, 0.0); }, "rmsprop: epsilon");
  refused([] { nn::Momentum<float>(1e-3, -0.1); }, "momentum: beta");
  refused([] { nn::GradientDescent<float>(std::nan("")); }, "learning rate must be > 0");
  refused([] { nn::GradientDescent<float>(0.1, S::step(0, 0.5)); }, "schedule step: interval");
  refused([] { nn::GradientDescent<float>(0.1, S::exponential(0)); }, "schedule exponential: base must be in (0, 1]");
  refused([] { nn::GradientDescent<float>(0.1, S::exponential(1.5)); }, "base must be in (0, 1]");
  refused([] { nn::GradientDescent<float>(0.1, S::inverse_time(-1)); }, "decay rate must be >= 0");
  // A configuration (from a checkpoint's manifest) is checked like the constructor's arguments,
  // and a refused one leaves the optimizer as it was.
  nn::Adam<float> adam(1e-3);
  auto bad = adam.config();
  bad["epsilon"] = -1.0;
  refused([&] { adam.configure(bad); }, "adam: epsilon");
  BOOST_TEST(adam.config()["epsilon"].get<double>() == 1e-8);
  bad = adam.config();
  bad["learning_rate"] = 0.5;
  bad["beta1"] = 1.0;
  refused([&] { adam.configure(bad); }, "adam: beta1");
  BOOST_TEST(adam.learning_rate() == 1e-3);
  bad = adam.config();
  bad["schedule"] = S::step(0, 0.5).to_json();
  refused([&] { adam.configure(bad); }, "interval");
}

BOOST_AUTO_TEST_CASE(configuration_round_trip) {
  nn::Adam<float> adam(0.003, 0.8, 0.99, 1e-7, nn::Schedule::exponential(0.9));
  auto again = nn::make_optimizer<float>(adam.config());
  BOOST_TEST(again->name() == "adam");
  BOOST_TEST(again->config().dump() == adam.config().dump());
  BOOST_CHECK_THROW(nn::make_optimizer<float>(nlohmann::json{{"name", "lbfgs"}}), nn::ConfigError);
  BOOST_CHECK_THROW(nn::Adam<float>(-1.0), nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(steady_state_steps_do_not_allocate) {
  auto data = helpers::blobs<float>(16, 3, 4);
  nn::Sequential<float> m;
  m.dense(8).batch_norm().activation(nn::Activation::relu).dropout(0.8).dense(3);
  nn::Adam<float> adam(0.01);
  nn::TrainOptions o;
  o.l2 = 0.01;
  o.progress = nn::Progress::none;
  nn::Trainer<float> trainer(m, nn::Loss::softmax_cross_entropy, adam, o);
  const std::vector<std::size_t> batch{3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
  trainer.step(data, batch);  // records the graph, creates the moments
  trainer.step(data, batch);
  std::vector<const float*> before;
  for (auto* p : m.parameters()) before.push_back(p->value.data());
  for (const auto& [name, t] : adam.state()) before.push_back(t.data());
  const std::size_t start = allocation_counter::operator_new_calls();
  for (int i = 0; i < 20; ++i) trainer.step(data, batch);
  BOOST_TEST(allocation_counter::operator_new_calls() - start == 0u, "steady-state training steps called operator new " << allocation_counter::operator_new_calls() - start << " times");
  std::vector<const float*> after;
  for (auto* p : m.parameters()) after.push_back(p->value.data());
  for (const auto& [name, t] : adam.state()) after.push_back(t.data());
  BOOST_TEST(before == after, tt::per_element());
}

namespace {
bool bit_identical(const ad::Tensor<float>& a, const ad::Tensor<float>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
}  // namespace

// Updates of a large parameter are split over OpenBLAS's threads (ad::parallel_for): the split must
// not change a single bit of the parameters or of the optimizer's state.
BOOST_AUTO_TEST_CASE(updates_do_not_depend_on_the_thread_count) {
  auto run = [](const char* name, int threads) {
    openblas_set_num_threads(threads);
    std::unique_ptr<nn::Optimizer<float>> opt;
    const std::string n = name;
    if (n == "gradient_descent") opt = std::make_unique<nn::GradientDescent<float>>(0.01);
    if (n == "momentum") opt = std::make_unique<nn::Momentum<float>>(0.01, 0.9);
    if (n == "rmsprop") opt = std::make_unique<nn::RMSProp<float>>(0.01, 0.999, 1e-8);
    if (n == "adam") opt = std::make_unique<nn::Adam<float>>(0.01);
    ad::Parameter<float> W("W[1]", helpers::random<float>(300, 400, 1)), b("b[1]", helpers::random<float>(300, 1, 2));
    std::vector<ad::Parameter<float>*> ps{&W, &b};
    for (int step = 0; step < 3; ++step) {
      W.grad = helpers::random<float>(300, 400, 10 + step);
      b.grad = helpers::random<float>(300, 1, 20 + step);
      opt->step(ps);
    }
    openblas_set_num_threads(1);
    return std::make_tuple(W.value, b.value, opt->state());
  };
  for (const char* name : {"gradient_descent", "momentum", "rmsprop", "adam"}) {
    BOOST_TEST_CONTEXT(name) {
      const auto [W1, b1, state1] = run(name, 1);
      const auto [W2, b2, state2] = run(name, 2);
      BOOST_TEST(bit_identical(W1, W2));
      BOOST_TEST(bit_identical(b1, b2));
      BOOST_TEST(state1.size() == state2.size());
      for (const auto& [slot, t] : state1) BOOST_TEST(bit_identical(t, state2.at(slot)), slot);
    }
  }
}
