// The training loop on small synthetic problems: it learns (softmax, binary and regression
// losses), keeps the last partial mini-batch, records a history (CSV), stops early and restores
// the best weights, calls callbacks, and refuses impossible set-ups clearly.
#define BOOST_TEST_MODULE nn trainer
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "helpers.hpp"
#include "error_text.hpp"

namespace tt = boost::test_tools;
using nn::Activation;

namespace {

nn::TrainOptions quiet(std::size_t epochs, std::size_t batch) {
  nn::TrainOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.progress = nn::Progress::none;
  return o;
}

template <class F>
std::string data_error_of(F f) {
  return test_support::message_of<nn::DataError>(f);
}

using test_support::contains;

}  // namespace

BOOST_AUTO_TEST_CASE(learns_blobs_with_the_full_toolbox) {
  auto data = helpers::blobs<float>(50, 4, 5, 3, 0.6);
  auto parts = nn::split(data, 0.2, 0.0, 1);
  nn::Normalizer<float> norm;
  norm.fit(parts.train);
  norm.apply(parts.train);
  norm.apply(parts.dev);
  nn::Sequential<float> m;
  m.dense(16).batch_norm().activation(Activation::relu).dropout(0.9).dense(4);
  nn::Adam<float> adam(0.01);
  auto o = quiet(30, 32);
  o.l2 = 1e-3;
  nn::Trainer<float> trainer(m, nn::Loss::softmax_cross_entropy, adam, o);
  const auto h = trainer.fit(parts.train, &parts.dev);
  BOOST_TEST(h.epochs.size() == 30u);
  BOOST_TEST(h.epochs.back().cost < h.epochs.front().cost);
  BOOST_TEST(h.epochs.back().dev_accuracy > 0.95);
  // 160 training examples in batches of 32: 5 steps per epoch.
  BOOST_TEST(trainer.steps() == 150u);
  const auto ev = trainer.evaluate(parts.dev);
  BOOST_TEST(ev.accuracy == h.epochs.back().dev_accuracy);
  BOOST_TEST(ev.predicted.size() == parts.dev.size());
}

BOOST_AUTO_TEST_CASE(last_partial_batch_is_trained) {
  // 10 examples, batch 4: steps of 4, 4 and 2, and the epoch's cost averages all 10 examples.
  auto data = helpers::blobs<double>(5, 2, 2);
  nn::Sequential<double> m;
  m.dense(3, Activation::tanh).dense(2);
  nn::GradientDescent<double> gd(0.1);
  nn::Trainer<double> trainer(m, nn::Loss::softmax_cross_entropy, gd, quiet(1, 4));
  std::vector<std::size_t> sizes;
  std::size_t covered = 0;
  trainer.on_step([&](nn::Trainer<double>&, const nn::StepEvent<double>& e) {
    sizes.push_back(e.indices.size());
    covered += e.indices.size();
    BOOST_TEST(e.step == sizes.size());
    BOOST_TEST(e.batch == sizes.size() - 1);
    BOOST_TEST(e.epoch == 1u);
  });
  trainer.fit(data);
  BOOST_TEST(sizes == (std::vector<std::size_t>{4, 4, 2}), tt::per_element());
  BOOST_TEST(covered == 10u);
}

BOOST_AUTO_TEST_CASE(binary_and_regression_losses) {
  // XOR-like quadrants with sigmoid cross-entropy.
  nn::Dataset<double> xor_data;
  auto x = helpers::random(200, 2, 4);
  xor_data.x = x;
  xor_data.y = xt::zeros<double>({200, 1});
  for (std::size_t i = 0; i < 200; ++i) xor_data.y(i, 0) = x(i, 0) * x(i, 1) > 0 ? 1 : 0;
  nn::Sequential<double> m;
  m.dense(16, Activation::tanh, nn::Init::xavier()).dense(1, Activation::linear, nn::Init::xavier());
  nn::Adam<double> adam(0.02);
  nn::Trainer<double> t(m, nn::Loss::sigmoid_cross_entropy, adam, quiet(150, 50));
  auto h = t.fit(xor_data);
  BOOST_TEST(h.epochs.back().train_accuracy > 0.9);

  // y = 3 x0 − 2 x1 + 1 with mean squared error: a linear model fits it.
  nn::Dataset<double> lin;
  lin.x = helpers::random(64, 2, 5);
  lin.y = ad::Tensor<double>::from_shape({64, 1});
  for (std::size_t i = 0; i < 64; ++i) lin.y(i, 0) = 3 * lin.x(i, 0) - 2 * lin.x(i, 1) + 1;
  nn::Sequential<double> r;
  r.dense(1);
  nn::Momentum<double> mom(0.1, 0.9);
  nn::Trainer<double> tr(r, nn::Loss::mean_squared_error, mom, quiet(200, 16));
  auto hr = tr.fit(lin);
  BOOST_TEST(hr.epochs.back().cost < 1e-6);
  BOOST_TEST(std::isnan(hr.epochs.back().train_accuracy));
  BOOST_TEST(r.parameter("W[1]").value(0, 0) == 3.0, tt::tolerance(1e-3));
  BOOST_TEST(r.parameter("b[1]").value(0, 0) == 1.0, tt::tolerance(1e-3));
}

BOOST_AUTO_TEST_CASE(early_stopping_restores_the_best_epoch) {
  // Noisy labels and a big model with a high learning rate: the dev cost soon rises.
  auto data = helpers::blobs<double>(20, 2, 2, 7, 1.5);
  auto parts = nn::split(data, 0.5, 0.0, 2);
  nn::Sequential<double> m;
  m.dense(64, Activation::relu).dense(64, Activation::relu).dense(2);
  nn::Adam<double> adam(0.05);
  auto o = quiet(200, 20);
  o.patience = 3;
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, adam, o);
  std::vector<std::vector<ad::Tensor<double>>> weights;  // the parameters after each epoch
  t.on_epoch([&](nn::Trainer<double>& tr, const nn::EpochRecord&) {
    weights.emplace_back();
    for (auto* p : tr.model().parameters()) weights.back().push_back(p->value);
    return true;
  });
  const auto h = t.fit(parts.train, &parts.dev);
  BOOST_TEST(h.stopped_early);
  BOOST_TEST(h.epochs.size() < 200u);
  BOOST_TEST(h.epochs.size() == h.best_epoch + 3);
  double best = 1e9;
  for (const auto& e : h.epochs) best = std::min(best, e.dev_cost);
  BOOST_TEST(h.epochs[h.best_epoch - 1].dev_cost == best);
  const auto params = m.parameters();
  for (std::size_t k = 0; k < params.size(); ++k) BOOST_TEST(params[k]->value == weights[h.best_epoch - 1][k]);
  BOOST_TEST(t.evaluate(parts.dev).cost == best, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(early_stopping_says_which_weights_it_keeps) {
  // The set-up of early_stopping_restores_the_best_epoch, once without and once with restoring.
  auto data = helpers::blobs<double>(20, 2, 2, 7, 1.5);
  auto parts = nn::split(data, 0.5, 0.0, 2);
  for (const bool restore : {false, true}) {
    BOOST_TEST_CONTEXT("restore_best " << restore) {
      nn::Sequential<double> m;
      m.dense(64, Activation::relu).dense(64, Activation::relu).dense(2);
      nn::Adam<double> adam(0.05);
      std::ostringstream log;
      auto o = quiet(200, 20);
      o.patience = 3;
      o.restore_best = restore;
      o.progress = nn::Progress::lines;
      o.out = &log;
      nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, adam, o);
      std::vector<ad::Tensor<double>> last;
      t.on_epoch([&](nn::Trainer<double>& tr, const nn::EpochRecord&) {
        last.clear();
        for (auto* p : tr.model().parameters()) last.push_back(p->value);
        return true;
      });
      const auto h = t.fit(parts.train, &parts.dev);
      BOOST_TEST_REQUIRE(h.stopped_early);
      BOOST_TEST(h.restored_best == restore);
      const auto kept = restore ? h.best_epoch : h.epochs.size();
      BOOST_TEST(contains(log.str(), fmt::format("epoch {}", kept)), log.str());
      BOOST_TEST(contains(log.str(), restore ? "restoring" : "restore_best is off"), log.str());
      if (!restore) {
        const auto params = m.parameters();
        for (std::size_t k = 0; k < params.size(); ++k) BOOST_TEST(params[k]->value == last[k]);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(epoch_callback_stops_and_history_csv) {
  auto data = helpers::blobs<float>(10, 2, 2);
  nn::Sequential<float> m;
  m.dense(4, Activation::relu).dense(2);
  nn::GradientDescent<float> gd(0.1, nn::Schedule::inverse_time(1.0));
  std::ostringstream log;
  auto o = quiet(10, 8);
  o.progress = nn::Progress::lines;
  o.out = &log;
  nn::Trainer<float> t(m, nn::Loss::softmax_cross_entropy, gd, o);
  t.on_epoch([](nn::Trainer<float>&, const nn::EpochRecord& r) { return r.epoch < 3; });
  const auto h = t.fit(data);
  BOOST_TEST(h.epochs.size() == 3u);
  BOOST_TEST(h.epochs[2].learning_rate == 0.1 / 4, tt::tolerance(1e-12));  // decayed per epoch: epoch_num 3
  BOOST_TEST(log.str().find("epoch   2/10  cost") != std::string::npos, log.str());
  BOOST_TEST(log.str().find("train_batch_acc ") != std::string::npos, log.str());  // not a full pass
  const std::string csv = h.csv();
  BOOST_TEST(csv.substr(0, csv.find('\n')) ==
             "epoch,learning_rate,cost,train_batch_accuracy,dev_cost,dev_accuracy,seconds,examples_per_second");
  BOOST_TEST(std::count(csv.begin(), csv.end(), '\n') == 4);
  helpers::ScratchDir dir("nn-history");
  h.write_csv(dir.file("h.csv"));
  std::ifstream in(dir.file("h.csv"));
  std::string first;
  std::getline(in, first);
  BOOST_TEST(first.substr(0, 5) == "epoch");
  BOOST_CHECK_THROW(h.write_csv(dir.file("no/such/h.csv")), nn::DataError);
  // A second fit continues the epoch count (and the schedule).
  const auto h2 = t.fit(data);
  BOOST_TEST(h2.epochs.front().epoch == 4u);
}

BOOST_AUTO_TEST_CASE(impossible_setups_are_refused) {
  auto data = helpers::blobs<double>(5, 3, 2);
  nn::Sequential<double> soft;
  soft.dense(3).activation(Activation::softmax);
  nn::GradientDescent<double> gd(0.1);
  nn::Trainer<double> t1(soft, nn::Loss::softmax_cross_entropy, gd, quiet(1, 4));
  try {
    t1.fit(data);
    BOOST_FAIL("expected ConfigError");
  } catch (const nn::ConfigError& e) {
    BOOST_TEST(std::string(e.what()).find("ends with softmax but softmax_cross_entropy takes logits") !=
                   std::string::npos,
               e.what());
  }
  nn::Sequential<double> wrong;
  wrong.dense(2);
  nn::Trainer<double> t2(wrong, nn::Loss::softmax_cross_entropy, gd, quiet(1, 4));
  try {
    t2.fit(data);
    BOOST_FAIL("expected DataError");
  } catch (const nn::DataError& e) {
    BOOST_TEST(std::string(e.what()).find("outputs 2 values per example but the targets have 3") != std::string::npos,
               e.what());
  }
  // A learning rate that makes the cost diverge is reported, not trained on silently.
  nn::Sequential<double> m;
  m.dense(8, Activation::relu).dense(3);
  nn::GradientDescent<double> huge(1e30);
  nn::Trainer<double> t3(m, nn::Loss::softmax_cross_entropy, huge, quiet(5, 4));
  BOOST_CHECK_THROW(t3.fit(data), nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(predictor_probabilities) {
  auto data = helpers::blobs<double>(30, 3, 2);
  nn::Sequential<double> m;
  m.dense(8, Activation::relu).dense(3);
  nn::Adam<double> adam(0.02);
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, adam, quiet(40, 16));
  t.fit(data);
  nn::Predictor<double> p(m, nn::Loss::softmax_cross_entropy, 7);  // batches of 7: the last is partial
  const auto probs = p.probabilities(data.x);
  BOOST_TEST((ad::shape_of(probs) == ad::Shape{3, 90}));
  for (std::size_t j = 0; j < 90; ++j) BOOST_TEST(xt::sum(xt::view(probs, xt::all(), j))() == 1.0, tt::tolerance(1e-12));
  const auto cls = p.classes(data.x);
  BOOST_TEST(nn::accuracy(cls, data.labels()) > 0.9);
  BOOST_TEST(cls == nn::argmax(probs), tt::per_element());
}

BOOST_AUTO_TEST_CASE(step_and_gradient_check_refuse_bad_data_and_indices) {
  auto data = helpers::blobs<double>(5, 2, 3);  // 10 examples, 3 features, 2 classes
  nn::Sequential<double> m;
  m.dense(4, Activation::tanh).dense(2);
  nn::GradientDescent<double> gd(0.1);
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, gd, quiet(1, 4));
  const std::vector<std::size_t> good{0, 9, 3}, far{0, 50000000, 3};
  // x of 10 rows and y of 2: the y rows of examples 2..9 do not exist.
  auto short_y = data;
  short_y.y = xt::zeros<double>({2, 2});
  auto e = data_error_of([&] { t.step(short_y, good); });
  BOOST_TEST(contains(e, "Trainer::step: x has 10 examples (rows) but y has 2"), e);
  e = data_error_of([&] { t.step(data, far); });
  BOOST_TEST(contains(e, "Trainer::step: index 50000000 (position 1 of 3) is outside a data set of 10 examples"), e);
  t.step(data, good);  // builds the model for 3 features
  auto wide = data;
  wide.x = xt::zeros<double>({10, 5});
  e = data_error_of([&] { t.step(wide, good); });
  BOOST_TEST(contains(e, "Trainer::step: the examples have 5 features but the model takes 3"), e);
  e = data_error_of([&] { t.fit(wide); });
  BOOST_TEST(contains(e, "fit: training set: the examples have 5 features but the model takes 3"), e);
  e = data_error_of([&] { nn::check_gradients(m, nn::Loss::softmax_cross_entropy, data, far); });
  BOOST_TEST(contains(e, "check_gradients: index 50000000 (position 1 of 3) is outside a data set of 10"), e);
  e = data_error_of([&] { nn::check_gradients(m, nn::Loss::softmax_cross_entropy, short_y, good); });
  BOOST_TEST(contains(e, "check_gradients: x has 10 examples (rows) but y has 2"), e);
  BOOST_TEST(std::isfinite(t.step(data, good)));  // the refusals left the trainer usable
}

BOOST_AUTO_TEST_CASE(progress_bar_goes_to_the_chosen_stream) {
  auto data = helpers::blobs<float>(20, 2, 2);
  nn::Sequential<float> m;
  m.dense(4, Activation::relu).dense(2);
  nn::GradientDescent<float> gd(0.1);
  std::ostringstream screen;
  auto o = quiet(2, 8);
  o.progress = nn::Progress::bar;
  o.out = &screen;
  nn::Trainer<float> t(m, nn::Loss::softmax_cross_entropy, gd, o);
  const auto h = t.fit(data);
  const std::string s = screen.str();
  // The last redraw of epoch 1's bar (it always draws the final batch): 40 examples in 5 batches.
  const auto begin = s.rfind("\rEpoch 1/2 [==============================] 5/5  cost ");
  BOOST_TEST_REQUIRE(begin != std::string::npos, s);
  const std::string bar = s.substr(begin, s.find("\x1b[K", begin) - begin);
  BOOST_TEST(contains(bar, fmt::format("cost {:.4f}", h.epochs[0].cost)), bar);
  BOOST_TEST(contains(bar, "k ex/s"), bar);
  BOOST_TEST(contains(s, "\r\x1b[Kepoch   2/2  cost"), s);  // the bar is replaced by the epoch's line
}

BOOST_AUTO_TEST_CASE(evaluate_train_is_a_full_pass_after_the_epoch) {
  // Dropout and batch norm make the running accuracy of the trained batches differ from the
  // model's accuracy after the epoch; evaluate_train reports the latter.
  auto data = helpers::blobs<double>(30, 3, 2, 3, 1.0);
  nn::Sequential<double> m;
  m.dense(8).batch_norm().activation(Activation::relu).dropout(0.5).dense(3);
  nn::Adam<double> adam(0.01);
  std::ostringstream log;
  auto o = quiet(3, 16);
  o.evaluate_train = true;
  o.progress = nn::Progress::lines;
  o.out = &log;
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, adam, o);
  std::vector<double> full_pass;
  t.on_epoch([&](nn::Trainer<double>& tr, const nn::EpochRecord&) {
    nn::Predictor<double> p(tr.model(), nn::Loss::softmax_cross_entropy, 7);
    full_pass.push_back(nn::accuracy(p.classes(data.x), data.labels()));
    return true;
  });
  const auto h = t.fit(data);
  BOOST_TEST_REQUIRE(full_pass.size() == 3u);
  for (std::size_t k = 0; k < 3; ++k) BOOST_TEST(h.epochs[k].train_accuracy == full_pass[k]);
  // Named as what it is: a full-pass train accuracy.
  BOOST_TEST(h.train_accuracy_full_pass);
  BOOST_TEST(contains(h.csv(), "cost,train_accuracy,dev_cost"), h.csv());
  BOOST_TEST(contains(log.str(), "  train_acc "), log.str());
  BOOST_TEST(!contains(log.str(), "train_batch_acc"), log.str());
}

BOOST_AUTO_TEST_CASE(an_output_activation_fused_into_dense_before_a_logits_loss_is_refused) {
  // Dense(3, softmax) then softmax cross-entropy would apply softmax twice.
  auto data = helpers::blobs<double>(5, 3, 2);
  nn::Sequential<double> soft;
  soft.dense(8, Activation::relu).dense(3, Activation::softmax);
  nn::GradientDescent<double> gd(0.1);
  nn::Trainer<double> t(soft, nn::Loss::softmax_cross_entropy, gd, quiet(1, 4));
  const auto message = test_support::message_of<nn::ConfigError>([&] { t.fit(data); });
  BOOST_TEST(contains(message, "ends with softmax"), message);
  BOOST_TEST(contains(message, "W[2]"), message);
  BOOST_TEST(t.steps() == 0u);
}

BOOST_AUTO_TEST_CASE(targets_that_do_not_fit_the_loss_are_refused_before_training) {
  auto data = helpers::blobs<double>(5, 3, 2);
  data.y(4, 0) = 1;  // example 4 now belongs to two classes
  nn::Sequential<double> m;
  m.dense(3);
  nn::GradientDescent<double> gd(0.1);
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, gd, quiet(1, 4));
  auto message = data_error_of([&] { t.fit(data); });
  BOOST_TEST(contains(message, "fit: training set"), message);
  BOOST_TEST(contains(message, "example 4"), message);
  BOOST_TEST(t.steps() == 0u);
  auto good = helpers::blobs<double>(5, 3, 2);
  message = data_error_of([&] { t.fit(good, &data); });
  BOOST_TEST(contains(message, "fit: dev set"), message);
  m.build(2);
  message = data_error_of([&] { t.evaluate(data); });
  BOOST_TEST(contains(message, "example 4"), message);
}

BOOST_AUTO_TEST_CASE(evaluating_an_unbuilt_model_is_refused) {
  // It would build the model with random weights and report their accuracy as the model's.
  auto data = helpers::blobs<double>(5, 3, 2);
  nn::Sequential<double> m;
  m.dense(3);
  nn::Predictor<double> p(m, nn::Loss::softmax_cross_entropy);
  const auto message = test_support::message_of<nn::ConfigError>([&] { p.evaluate(data); });
  BOOST_TEST(contains(message, "not built"), message);
  BOOST_TEST(!m.built());
}

BOOST_AUTO_TEST_CASE(batch_norm_refuses_a_training_batch_of_one_example_up_front) {
  // Its mini-batch variance would be 0: the output is β whatever the input, and dZ is 0.
  auto data = helpers::blobs<double>(3, 3, 2);  // 9 examples in batches of 4: the last has 1
  nn::Sequential<double> m;
  m.dense(4).batch_norm().activation(Activation::relu).dense(3);
  nn::Adam<double> adam(0.01);
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, adam, quiet(2, 4));
  const auto message = data_error_of([&] { t.fit(data); });
  BOOST_TEST(contains(message, "BatchNorm"), message);
  BOOST_TEST(contains(message, "9 examples"), message);
  BOOST_TEST(contains(message, "batch size 4"), message);
  BOOST_TEST(t.steps() == 0u);
  nn::Trainer<double> fits(m, nn::Loss::softmax_cross_entropy, adam, quiet(2, 3));  // 3 full batches
  BOOST_TEST(fits.fit(data).epochs.size() == 2u);
  nn::Sequential<double> no_bn;
  no_bn.dense(3);
  nn::Adam<double> adam2(0.01);
  nn::Trainer<double> plain(no_bn, nn::Loss::softmax_cross_entropy, adam2, quiet(1, 4));  // no batch norm: fine
  BOOST_TEST(plain.fit(data).epochs.size() == 1u);
}
