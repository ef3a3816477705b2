// nn::record_graph, the one recorder of a model's graph used by Trainer, Predictor and
// check_gradients: its inputs' shapes, its cost in each mode, its refusal naming the caller, and
// the trainer recording it when fit sets up (before any step).
#define BOOST_TEST_MODULE nn graph
#include <boost/test/unit_test.hpp>

#include "helpers.hpp"
#include "error_text.hpp"

using nn::Activation;
using test_support::contains;

BOOST_AUTO_TEST_CASE(records_inputs_output_cost_and_each_layer) {
  nn::Sequential<double> m;
  m.dense(4, Activation::relu).dropout(0.5).dense(3);
  const auto g = nn::record_graph(m, nn::GraphSpec{.batch = 5, .features = 2, .outputs = 3, .l2 = 0.1});
  BOOST_TEST((ad::shape_of(g.X.value()) == ad::Shape{5, 2}));  // one example per row
  BOOST_TEST((ad::shape_of(g.Y.value()) == ad::Shape{3, 5}));
  BOOST_TEST((ad::shape_of(g.output.value()) == ad::Shape{3, 5}));
  BOOST_TEST(g.layer_outputs.size() == 3u);
  BOOST_TEST(g.fits(2, 3));
  BOOST_TEST(!g.fits(2, 4));
  BOOST_TEST(g.J.name() == "J");
  BOOST_TEST(!g.probabilities.valid());
}

BOOST_AUTO_TEST_CASE(evaluation_graphs_carry_probabilities) {
  nn::Sequential<double> m;
  m.dense(3);
  const auto g = nn::record_graph(
      m, nn::GraphSpec{.mode = nn::Mode::eval, .batch = 2, .features = 2, .outputs = 3, .gradients = false,
                       .probabilities = true, .who = "evaluate"});
  BOOST_REQUIRE(g.probabilities.valid());
  for (std::size_t j = 0; j < 2; ++j) {
    double total = 0;
    for (std::size_t c = 0; c < 3; ++c) total += g.probabilities.value()(c, j);
    BOOST_TEST(total == 1.0, boost::test_tools::tolerance(1e-12));
  }
}

BOOST_AUTO_TEST_CASE(an_output_size_that_does_not_fit_names_the_caller) {
  nn::Sequential<double> m;
  m.dense(2);
  for (const char* who : {"Trainer", "evaluate", "check_gradients"}) {
    const auto message = test_support::message_of<nn::DataError>(
        [&] { nn::record_graph(m, nn::GraphSpec{.batch = 1, .features = 2, .outputs = 3, .who = who}); });
    BOOST_TEST(contains(message, std::string(who) + ": the model outputs 2 values per example but the targets have 3"),
               message);
  }
  // check_gradients goes through it.
  auto data = helpers::blobs<double>(2, 3, 2);
  m.build(2);
  const std::vector<std::size_t> batch{0, 1};
  const auto message = test_support::message_of<nn::DataError>(
      [&] { nn::check_gradients(m, nn::Loss::softmax_cross_entropy, data, batch); });
  BOOST_TEST(contains(message, "check_gradients: the model outputs 2 values"), message);
}

BOOST_AUTO_TEST_CASE(the_trainer_records_when_fit_sets_up) {
  auto data = helpers::blobs<double>(4, 2, 2);
  nn::Sequential<double> m;
  m.dense(2);
  nn::GradientDescent<double> gd(0.1);
  nn::TrainOptions o;
  o.epochs = 0;
  o.progress = nn::Progress::none;
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, gd, o);
  BOOST_CHECK_THROW(t.tape(), nn::ConfigError);
  t.fit(data);  // no epoch: only the set-up
  BOOST_TEST(t.steps() == 0u);
  BOOST_TEST(t.tape().size() > 0u);
  BOOST_TEST(t.graph().fits(2, 2));
}
