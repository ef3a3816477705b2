// The Sequential model: the course's parameter names, Dense without bias before BatchNorm, input
// size inference, clear errors, the architecture as JSON, float/double conversion, and both input
// layouts giving the same output.
#define BOOST_TEST_MODULE nn sequential
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "helpers.hpp"

namespace tt = boost::test_tools;
using nn::Activation;

namespace {

nn::Sequential<double> bn_model() {
  nn::Sequential<double> m;
  m.dense(6).batch_norm().activation(Activation::relu).dropout(0.9).dense(4, Activation::tanh).dense(3);
  return m;
}

std::vector<std::string> names(const std::vector<ad::Parameter<double>*>& ps) {
  std::vector<std::string> out;
  for (auto* p : ps) out.push_back(p->name);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(course_names_and_no_bias_before_batch_norm) {
  auto m = bn_model();
  BOOST_TEST(!m.built());
  m.build(5);
  const std::vector<std::string> expected{"W[1]", "gamma[1]", "beta[1]", "W[2]", "b[2]", "W[3]", "b[3]"};
  BOOST_TEST(names(m.parameters()) == expected, tt::per_element());
  BOOST_TEST(names(m.weights()) == (std::vector<std::string>{"W[1]", "W[2]", "W[3]"}), tt::per_element());
  BOOST_TEST((ad::shape_of(m.parameter("W[1]").value) == ad::Shape{6, 5}));
  BOOST_TEST((ad::shape_of(m.parameter("gamma[1]").value) == ad::Shape{6, 1}));
  BOOST_TEST((ad::shape_of(m.parameter("b[3]").value) == ad::Shape{3, 1}));
  BOOST_TEST(m.buffers().size() == 2u);
  BOOST_TEST(m.buffers()[0].name == "running_mean[1]");
  BOOST_TEST(m.output_size() == 3u);
  BOOST_TEST(m.parameter_count() == 6 * 5 + 6 + 6 + 4 * 6 + 4 + 3 * 4 + 3);
  BOOST_TEST(m.summary().find("gamma[1] (6, 1)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(activation_before_batch_norm_is_refused) {
  nn::Sequential<double> m;
  m.dense(4, Activation::relu).batch_norm().dense(2);
  try {
    m.build(3);
    BOOST_FAIL("expected ConfigError");
  } catch (const nn::ConfigError& e) {
    BOOST_TEST(std::string(e.what()).find("Dense layer 1 has activation relu") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(input_size_inferred_on_first_forward) {
  auto m = bn_model();
  ad::Tape<double> tape;
  auto X = tape.input("X", helpers::random(7, 10, 1));
  auto out = m.forward(tape, X, nn::Mode::train);
  BOOST_TEST(m.built());
  BOOST_TEST(m.input_size() == 7u);
  BOOST_TEST((out.shape() == ad::Shape{3, 10}));
}

BOOST_AUTO_TEST_CASE(wrong_feature_count_names_shapes) {
  auto m = bn_model();
  m.build(5);
  ad::Tape<double> tape;
  auto X = tape.input("X", helpers::random(4, 10, 1));
  try {
    m.forward(tape, X, nn::Mode::eval);
    BOOST_FAIL("expected ShapeError");
  } catch (const ad::ShapeError& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("takes 5 features but X is (4, 10)") != std::string::npos, what);
  }
  nn::Sequential<double> declared;
  declared.dense(3, Activation::linear, nn::Init::he(), 8);
  BOOST_CHECK_THROW(declared.build(5), nn::ConfigError);
  BOOST_CHECK_THROW(m.parameter("W[9]"), nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(rows_and_columns_layouts_agree) {
  // The first Dense layer reads an example-major batch through a BLAS transpose flag: the same
  // numbers as the course's (n_x, m) input, with and without a bias (BatchNorm after it).
  for (bool with_bn : {false, true}) {
    nn::Sequential<double> m;
    if (with_bn) m.dense(6).batch_norm().activation(Activation::relu).dense(3);
    else m.dense(6, Activation::relu).dense(3);
    m.build(4, 2);
    const auto Xc = helpers::random(4, 9, 3);
    const ad::Tensor<double> Xr = xt::transpose(Xc);
    ad::Tape<double> t1, t2;
    auto a = m.forward(t1, t1.input("X", Xc), nn::Mode::eval, nn::Layout::columns);
    auto b = m.forward(t2, t2.input("X", Xr), nn::Mode::eval, nn::Layout::rows);
    BOOST_TEST(a.value() == b.value(), tt::tolerance(1e-12) << tt::per_element());
  }
}

BOOST_AUTO_TEST_CASE(spec_round_trip_and_conversion) {
  auto m = bn_model();
  m.build(5, 42);
  auto again = nn::Sequential<double>::from_spec(m.spec());
  BOOST_TEST(again.spec() == m.spec());
  // Same seed in the spec: the same initial values.
  BOOST_TEST(again.parameter("W[2]").value == m.parameter("W[2]").value);
  m.layer(1);  // the BatchNorm
  auto& bn = dynamic_cast<nn::BatchNorm<double>&>(m.layer(1));
  bn.state().running_mean.fill(0.25);
  auto f = nn::convert<float>(m);
  BOOST_TEST(f.parameter("W[1]").value == xt::cast<float>(m.parameter("W[1]").value));
  BOOST_TEST(f.buffers()[0].value->operator()(3, 0) == 0.25f);
  BOOST_CHECK_THROW(nn::Sequential<double>::from_spec(nlohmann::json{{"layers", {{{"type", "conv"}}}}}),
                    nn::ConfigError);
}

BOOST_AUTO_TEST_CASE(dropout_is_identity_in_evaluation) {
  nn::Sequential<double> m;
  m.dense(5, Activation::relu).dropout(0.5).dense(2);
  m.build(3);
  const auto X = helpers::random(3, 6, 9);
  ad::Tape<double> t1, t2;
  auto eval = m.forward(t1, t1.input("X", X), nn::Mode::eval);
  nn::Sequential<double> plain;
  plain.dense(5, Activation::relu).dense(2);
  plain.build(3);
  for (auto* p : plain.parameters()) p->value = m.parameter(p->name).value;
  auto ref = plain.forward(t2, t2.input("X", X), nn::Mode::eval);
  BOOST_TEST(eval.value() == ref.value(), tt::per_element());
}

BOOST_AUTO_TEST_CASE(batch_norm_must_directly_follow_its_own_dense_layer) {
  // Elsewhere a BatchNorm would take another layer's number (gamma[0] when first) or share one
  // with a second BatchNorm, and the clash would surface only at the first forward.
  auto refusal = [](nn::Sequential<double>& m) -> std::string {
    try {
      m.build(3);
    } catch (const nn::ConfigError& e) {
      return e.what();
    }
    return "(built)";
  };
  auto contains = [](const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; };
  nn::Sequential<double> first, twice, after_activation, after_dropout;
  first.batch_norm().dense(3);
  twice.dense(4).batch_norm().batch_norm().dense(2);
  after_activation.dense(4).activation(Activation::relu).batch_norm().dense(2);
  after_dropout.dense(4).dropout(0.9).batch_norm().dense(2);
  auto e = refusal(first);
  BOOST_TEST(contains(e, "layer 0, BatchNorm(momentum=0.9, epsilon=1e-05), is the first layer"), e);
  BOOST_TEST(contains(e, "each BatchNorm must directly follow its own Dense layer"), e);
  e = refusal(twice);
  BOOST_TEST(contains(e, "layer 2, BatchNorm(momentum=0.9, epsilon=1e-05), follows layer 1, BatchNorm("), e);
  e = refusal(after_activation);
  BOOST_TEST(contains(e, "layer 2, BatchNorm(momentum=0.9, epsilon=1e-05), follows layer 1, Activation(relu)"), e);
  e = refusal(after_dropout);
  BOOST_TEST(contains(e, "follows layer 1, Dropout(keep_prob=0.9), not a Dense layer"), e);
  for (auto* m : {&first, &twice, &after_activation, &after_dropout}) BOOST_TEST(!m->built());
  // Refused before anything changed: the Dense layer still has its bias.
  BOOST_TEST(dynamic_cast<nn::Dense<double>&>(twice.layer(0)).has_bias());
}
