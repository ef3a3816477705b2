// Every layer and loss of nn gradchecked in double with gradcheck/ (every element of every
// block): Dense with each activation and both input layouts, Dense without bias, the Activation
// layer, Dropout (its mask frozen by the checker), BatchNorm in training and in evaluation mode,
// the three losses, the L2 term, and a whole model of the main example's shape. Then the training
// callback that runs the check at a given step, leaving the optimizer's state as it was.
#define BOOST_TEST_MODULE nn gradients
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstring>
#include <map>
#include <sstream>
#include <string>

#include <gradcheck/boost_test.hpp>

#include "helpers.hpp"

using nn::Activation;

namespace {

constexpr std::size_t n_x = 4, m = 6, classes = 3;

// Inputs away from 0 keep relu's kinks out of reach of the perturbations (the checker would
// classify them as kinks anyway, but a clean pass is the stronger statement).
nn::Dataset<double> batch_data(std::uint64_t seed = 1) {
  auto d = helpers::blobs<double>(2, classes, n_x, seed, 0.7);
  return d;
}

std::vector<std::size_t> all_examples(std::size_t count) {
  std::vector<std::size_t> idx(count);
  for (std::size_t i = 0; i < count; ++i) idx[i] = i;
  return idx;
}

// Non-trivial γ, β and running statistics, so that their gradients are not special cases.
void perturb_batch_norm(nn::Sequential<double>& model) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  for (auto* p : model.parameters()) {
    if (p->name.starts_with("gamma")) for (double& x : p->value) x = u(rng);
    if (p->name.starts_with("beta") || p->name.starts_with("b[")) for (double& x : p->value) x = u(rng) - 1;
  }
  for (auto& b : model.buffers())
    for (double& x : *b.value) x = b.name.starts_with("running_var") ? u(rng) : u(rng) - 1;
}

// The training cost of `model` on the whole small batch, checked element by element.
gc::Report check(nn::Sequential<double>& model, nn::Loss loss = nn::Loss::softmax_cross_entropy, double l2 = 0,
                 const nn::Dataset<double>& data = batch_data()) {
  if (!model.built()) model.build(data.features(), 3);
  perturb_batch_norm(model);
  const auto idx = all_examples(data.size());
  return nn::check_gradients(model, loss, data, idx, l2);
}

// Bit for bit: an optimizer's moments before and after something that must not touch them.
bool bit_identical(const std::map<std::string, ad::Tensor<float>>& a, const std::map<std::string, ad::Tensor<float>>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, t] : a) {
    const auto other = b.find(name);
    if (other == b.end() || ad::shape_of(other->second) != ad::shape_of(t) ||
        std::memcmp(t.data(), other->second.data(), t.size() * sizeof(float)) != 0)
      return false;
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_CASE(dense_with_each_activation) {
  for (auto a : {Activation::linear, Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::sigmoid,
                 Activation::softmax}) {
    BOOST_TEST_CONTEXT("Dense(5, " << ad::to_string(a) << ")") {
      nn::Sequential<double> model;
      model.dense(5, a, nn::Init::xavier()).dense(classes, Activation::linear, nn::Init::xavier());
      const auto report = check(model);
      GRADCHECK_CHECK(report);
      BOOST_TEST(report.blocks.size() == 4u);  // W[1], b[1], W[2], b[2]
      // Every element checked: an element that crossed a kink of relu is compared too (against its
      // one-sided differences) and also counted in `kinks`.
      for (const auto& b : report.blocks) BOOST_TEST(b.checked == b.shape[0] * b.shape[1], b.name);
    }
  }
}

BOOST_AUTO_TEST_CASE(dense_in_both_layouts) {
  // check_gradients feeds example-major rows (linear_rows); here the course's (n_x, m) columns.
  nn::Sequential<double> model;
  model.dense(5, Activation::tanh).dense(classes);
  model.build(n_x, 2);
  const auto data = batch_data();
  ad::Tape<double> tape;
  auto X = tape.input("X", xt::eval(xt::transpose(data.x)));
  auto Y = tape.input("Y", xt::eval(xt::transpose(data.y)));
  auto J = nn::cost(nn::Loss::softmax_cross_entropy, model.forward(tape, X, nn::Mode::train), Y, model.weights(), 0.0);
  GRADCHECK_CHECK(gc::check(tape, J, model.parameters()));
}

BOOST_AUTO_TEST_CASE(activation_layers) {
  for (auto a : {Activation::relu, Activation::leaky_relu, Activation::tanh, Activation::sigmoid, Activation::softmax}) {
    BOOST_TEST_CONTEXT("Activation(" << ad::to_string(a) << ")") {
      nn::Sequential<double> model;
      model.dense(5).activation(a, 0.1).dense(classes);
      GRADCHECK_CHECK(check(model));
    }
  }
}

BOOST_AUTO_TEST_CASE(dropout_with_frozen_mask) {
  nn::Sequential<double> model;
  model.dense(8, Activation::tanh).dropout(0.6).dense(classes);
  const auto report = check(model);
  GRADCHECK_CHECK(report);
  BOOST_TEST(report.deterministic);  // the checker froze the mask
}

BOOST_AUTO_TEST_CASE(batch_norm_in_training_mode) {
  // Dense without bias (β takes its place), batch statistics, then an activation.
  for (auto a : {Activation::relu, Activation::tanh}) {
    BOOST_TEST_CONTEXT("BatchNorm then " << ad::to_string(a)) {
      nn::Sequential<double> model;
      model.dense(5).batch_norm().activation(a).dense(classes);
      const auto report = check(model);
      GRADCHECK_CHECK(report);
      BOOST_TEST(report.block("gamma[1]") != nullptr);
      BOOST_TEST(report.block("b[1]") == nullptr);
    }
  }
}

BOOST_AUTO_TEST_CASE(batch_norm_in_evaluation_mode) {
  // Evaluation normalizes with the running statistics: constants to the gradient.
  nn::Sequential<double> model;
  model.dense(5).batch_norm().activation(Activation::tanh).dense(classes);
  model.build(n_x, 4);
  perturb_batch_norm(model);
  const auto data = batch_data();
  ad::Tape<double> tape;
  auto X = tape.input("X", data.x);
  auto Y = tape.input("Y", xt::eval(xt::transpose(data.y)));
  auto out = model.forward(tape, X, nn::Mode::eval, nn::Layout::rows);
  GRADCHECK_CHECK(gc::check(tape, nn::loss(nn::Loss::softmax_cross_entropy, out, Y), model.parameters()));
}

BOOST_AUTO_TEST_CASE(batch_norm_operation_alone) {
  // Z itself as a parameter: the gradient with respect to the normalized input, which the
  // layers above only see through W.
  nn::BatchNormState<double> state;
  state.running_mean = xt::zeros<double>({3, 1});
  state.running_var = xt::ones<double>({3, 1});
  ad::Parameter<double> Z("Z[1]", helpers::random(3, 5, 8, -2, 2)), gamma("gamma[1]", helpers::random(3, 1, 9, 0.5, 2)),
      beta("beta[1]", helpers::random(3, 1, 10));
  const auto weights = helpers::random(3, 5, 11);
  for (bool training : {true, false}) {
    BOOST_TEST_CONTEXT((training ? "training" : "evaluation")) {
      ad::Tape<double> tape;
      auto Y = nn::batch_norm(tape.parameter(Z), tape.parameter(gamma), tape.parameter(beta), state, training);
      auto J = ad::sum(ad::mul(ad::tanh(Y), tape.constant(weights)));
      GRADCHECK_CHECK(gc::check(tape, J, {&Z, &gamma, &beta}));
    }
  }
}

BOOST_AUTO_TEST_CASE(losses) {
  auto data = batch_data();
  {
    nn::Sequential<double> model;
    model.dense(5, Activation::tanh).dense(classes);
    BOOST_TEST_CONTEXT("softmax cross-entropy") { GRADCHECK_CHECK(check(model, nn::Loss::softmax_cross_entropy)); }
  }
  // Binary targets for sigmoid cross-entropy, real ones for mean squared error.
  nn::Dataset<double> binary = data, real = data;
  binary.y = xt::zeros<double>({data.size(), std::size_t(1)});
  real.y = helpers::random(data.size(), 2, 12);
  for (std::size_t i = 0; i < data.size(); ++i) binary.y(i, 0) = i % 2;
  {
    nn::Sequential<double> model;
    model.dense(5, Activation::tanh).dense(1);
    BOOST_TEST_CONTEXT("sigmoid cross-entropy") {
      GRADCHECK_CHECK(check(model, nn::Loss::sigmoid_cross_entropy, 0, binary));
    }
  }
  {
    nn::Sequential<double> model;
    model.dense(5, Activation::sigmoid).dense(2);
    BOOST_TEST_CONTEXT("mean squared error") { GRADCHECK_CHECK(check(model, nn::Loss::mean_squared_error, 0, real)); }
  }
}

BOOST_AUTO_TEST_CASE(l2_term) {
  nn::Sequential<double> model;
  model.dense(5, Activation::tanh).dense(classes);
  const auto report = check(model, nn::Loss::softmax_cross_entropy, 0.7);
  GRADCHECK_CHECK(report);
  // The L2 term alone, on a replayed tape whose batch shrank (m is read at each forward).
  ad::Parameter<double> W("W[1]", helpers::random(3, 4, 13));
  ad::Tape<double> tape;
  auto batch = tape.input("Y", xt::zeros<double>({2, 8}));
  auto term = nn::l2_penalty<double>({tape.parameter(W)}, batch, 0.3);
  tape.input_buffer(batch, {2, 5});
  tape.forward();
  GRADCHECK_CHECK(gc::check(tape, term, {&W}));
}

BOOST_AUTO_TEST_CASE(whole_model_of_the_main_example) {
  // Input dropout, Dense → BatchNorm → relu → dropout twice, logits, L2: every block checked.
  nn::Sequential<double> model;
  model.dropout(0.9)
      .dense(6).batch_norm().activation(Activation::relu).dropout(0.8)
      .dense(5).batch_norm().activation(Activation::relu).dropout(0.8)
      .dense(classes);
  const auto data = helpers::blobs<double>(4, classes, n_x, 2, 0.7);
  const auto report = check(model, nn::Loss::softmax_cross_entropy, 0.1, data);
  GRADCHECK_CHECK(report);
  BOOST_TEST(report.blocks.size() == 8u);  // W, gamma, beta for l = 1, 2; W[3], b[3]
  for (const auto& b : report.blocks) BOOST_TEST(b.checked == b.shape[0] * b.shape[1], b.name);
}

BOOST_AUTO_TEST_CASE(float_model_is_checked_in_double) {
  nn::Sequential<float> model;
  model.dense(5).batch_norm().activation(Activation::tanh).dense(classes);
  model.build(n_x, 1);
  const auto before = model.parameter("W[1]").value;
  const auto data = helpers::blobs<float>(2, classes, n_x);
  const auto idx = all_examples(data.size());
  const auto report = nn::check_gradients(model, nn::Loss::softmax_cross_entropy, data, idx, 0.01);
  GRADCHECK_CHECK(report);
  BOOST_TEST(report.notes.empty());  // no "float graph" note: the copy is double
  BOOST_TEST(model.parameter("W[1]").value == before);
}

BOOST_AUTO_TEST_CASE(callback_checks_at_the_requested_steps) {
  auto data = helpers::blobs<float>(10, classes, n_x);
  nn::Sequential<float> model;
  model.dense(6).batch_norm().activation(Activation::relu).dropout(0.8).dense(classes);
  nn::Adam<float> adam(0.01);
  nn::TrainOptions o;
  o.epochs = 2;
  o.batch_size = 8;
  o.l2 = 0.01;
  o.progress = nn::Progress::none;
  nn::Trainer<float> trainer(model, nn::Loss::softmax_cross_entropy, adam, o);
  auto reports = std::make_shared<std::vector<gc::Report>>();
  std::ostringstream log;
  nn::GradcheckCallbackOptions g;
  g.at_step = 2;
  g.every = 3;
  g.out = &log;
  g.check.mode = gc::Mode::all;
  // The check runs on a copy of the model, and must leave the training as it was: Adam's moments
  // and step count, around each step that ran it, bit for bit.
  auto check = nn::gradcheck_callback<float>(g, reports);
  std::size_t compared = 0;
  trainer.on_step([&](nn::Trainer<float>& t, const nn::StepEvent<float>& e) {
    const auto moments = adam.state();
    const std::size_t steps = adam.steps(), checks = reports->size();
    check(t, e);
    if (reports->size() == checks) return;  // not a step with a check
    ++compared;
    BOOST_TEST(!moments.empty());
    BOOST_TEST(adam.steps() == steps);
    BOOST_TEST(bit_identical(adam.state(), moments), "Adam's moments after the check at step " << e.step);
  });
  trainer.fit(data);  // 30 examples, batches of 8: 4 steps per epoch, 8 in all → steps 2, 5, 8
  BOOST_TEST(reports->size() == 3u);
  BOOST_TEST(compared == 3u);
  for (const auto& r : *reports) GRADCHECK_CHECK(r);
  BOOST_TEST(log.str().find("gradient check after step 5") != std::string::npos, log.str());
  BOOST_TEST(log.str().find("gamma[1]") != std::string::npos);
}
