// dlcourse's spec reader: defaults filled in, a checkpoint's own layer specs read as they are,
// and every error naming the file, the field and what was expected.
#define BOOST_TEST_MODULE dlcourse spec
#include <boost/test/unit_test.hpp>

#include <nn/errors.hpp>
#include <nn/sequential.hpp>

#include "error_text.hpp"
#include "spec.hpp"

using nlohmann::json;
using test_support::contains;

namespace {
std::string error_of(const char* text) {
  return test_support::message_of<nn::ConfigError>([&] { dlcourse::parse_spec(json::parse(text), "m.json"); });
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_short_spec_gets_the_defaults) {
  const auto s = dlcourse::parse_spec(
      json::parse(R"({"layers": [{"type": "dense", "units": 8}, {"type": "batch_norm"},
                                 {"type": "activation", "activation": "relu"}, {"type": "dropout", "keep_prob": 0.8},
                                 {"type": "dense", "units": 3}]})"),
      "m.json");
  BOOST_TEST(s.epochs == 10u);
  BOOST_TEST(s.batch_size == 64u);
  BOOST_TEST(s.optimizer["name"] == "adam");
  BOOST_TEST(s.optimizer["learning_rate"].get<double>() == 0.001);
  BOOST_TEST(s.optimizer["schedule"]["kind"] == "constant");
  BOOST_TEST(s.model["layers"][0]["init"]["kind"] == "he");
  BOOST_TEST(s.model["layers"][0]["bias"] == false);  // batch norm's β replaces it
  BOOST_TEST(s.model["layers"][4]["bias"] == true);
  // What the library builds from it.
  auto model = nn::Sequential<float>::from_spec(s.model);
  model.build(4);
  BOOST_TEST(model.output_size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_checkpoints_own_spec_is_read_back) {
  nn::Sequential<float> model;
  model.dense(5, nn::Activation::tanh, nn::Init::xavier()).dropout(0.7).dense(2);
  model.build(3, 4);
  json j = model.spec();
  j["optimizer"] = {{"name", "momentum"}, {"learning_rate", 0.1}, {"beta", 0.95}};
  j["schedule"] = {{"kind", "exponential"}, {"rate", 0.9}};
  const auto s = dlcourse::parse_spec(j, "ckpt");
  BOOST_TEST(s.model["layers"] == model.spec()["layers"]);
  BOOST_TEST(s.optimizer["beta"].get<double>() == 0.95);
  BOOST_TEST(s.optimizer["schedule"]["rate"].get<double>() == 0.9);
  BOOST_TEST(s.seed == 4u);
}

BOOST_AUTO_TEST_CASE(errors_name_the_field_and_what_was_expected) {
  const std::string no_layers = error_of(R"({"epochs": 3})");
  BOOST_TEST(contains(no_layers, "m.json: field 'layers': expected a value (the field is required)"), no_layers);
  const std::string keep = error_of(R"({"layers": [{"type": "dense", "units": 4}, {"type": "dropout", "keep_prob": 1.5}]})");
  BOOST_TEST(contains(keep, "field 'layers[1].keep_prob': expected a number in (0, 1], got 1.5"), keep);
  const std::string units = error_of(R"({"layers": [{"type": "dense", "units": "many"}]})");
  BOOST_TEST(contains(units, "field 'layers[0].units': expected an integer >= 1, got \"many\""), units);
  const std::string typo = error_of(R"({"layers": [{"type": "dense", "units": 4}], "epoks": 3})");
  BOOST_TEST(contains(typo, "unknown field 'epoks'"), typo);
  const std::string act = error_of(R"({"layers": [{"type": "dense", "units": 4, "activation": "relux"}]})");
  BOOST_TEST(contains(act, "field 'layers[0].activation': expected one of linear, relu"), act);
  const std::string opt = error_of(R"({"layers": [{"type": "dense", "units": 4}], "optimizer": {"name": "sgd"}})");
  BOOST_TEST(contains(opt, "field 'optimizer.name': expected one of gradient_descent, momentum, rmsprop, adam"), opt);
  const std::string beta = error_of(R"({"layers": [{"type": "dense", "units": 4}], "optimizer": {"beta1": 1}})");
  BOOST_TEST(contains(beta, "field 'optimizer.beta1': expected a number in [0, 1)"), beta);
  const std::string sched = error_of(R"({"layers": [{"type": "dense", "units": 4}], "schedule": {"kind": "exponential", "rate": 2}})");
  BOOST_TEST(contains(sched, "field 'schedule'"), sched);
  const std::string epochs = error_of(R"({"layers": [{"type": "dense", "units": 4}], "epochs": 0})");
  BOOST_TEST(contains(epochs, "field 'epochs': expected an integer >= 1, got 0"), epochs);
  const std::string type = error_of(R"({"layers": [{"type": "conv", "units": 4}]})");
  BOOST_TEST(contains(type, "field 'layers[0].type': expected one of dense, activation, dropout, batch_norm"), type);
}

BOOST_AUTO_TEST_CASE(hyperparameters_go_where_they_belong) {
  const auto s = dlcourse::parse_spec(
      json::parse(R"({"layers": [{"type": "dense", "units": 8}, {"type": "dropout", "keep_prob": 0.8},
                                 {"type": "dense", "units": 8}, {"type": "dense", "units": 3}]})"),
      "m.json");
  const auto t = dlcourse::with_hyperparameters(
      s, {{"learning_rate", 0.02}, {"beta1", 0.95}, {"l2", 1e-3}, {"keep_prob", 0.6}, {"hidden_units", 32}});
  BOOST_TEST(t.optimizer["learning_rate"].get<double>() == 0.02);
  BOOST_TEST(t.optimizer["beta1"].get<double>() == 0.95);
  BOOST_TEST(t.l2 == 1e-3);
  BOOST_TEST(t.model["layers"][1]["keep_prob"].get<double>() == 0.6);
  BOOST_TEST(t.model["layers"][0]["units"] == 32);
  BOOST_TEST(t.model["layers"][2]["units"] == 32);
  BOOST_TEST(t.model["layers"][3]["units"] == 3);  // the output layer keeps its classes
  const auto e = test_support::message_of<nn::ConfigError>([&] { dlcourse::with_hyperparameters(s, {{"gamma", 1}}); });
  BOOST_TEST(contains(e, "'gamma' is not one the spec can take"), e);
}
