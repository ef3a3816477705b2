// Anomaly mode: the first operation whose output (forward) or whose gradient for an input
// (backward) holds NaN or Inf is named in an ad::AnomalyError, with its node name, its inputs'
// names and shapes and the user's line. Forward outputs are checked, not only gradients.
#define BOOST_TEST_MODULE autodiff anomaly mode
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "fixtures.hpp"

using ad::Tensor;
using ad::Var;

namespace {

template <class F>
std::string anomaly_message(F f) {
  try {
    f();
  } catch (const ad::AnomalyError& e) {
    return e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception type: " << e.what());
    return "";
  }
  BOOST_ERROR("no AnomalyError thrown");
  return "";
}

void check_mentions(const std::string& message, std::initializer_list<std::string> pieces) {
  for (const auto& piece : pieces)
    BOOST_TEST(message.find(piece) != std::string::npos, "'" << piece << "' missing from: " << message);
}

std::string here(int line) { return fmt::format("autodiff/test_anomaly.cpp:{}", line); }

}  // namespace

BOOST_AUTO_TEST_SUITE(forward_anomalies)

BOOST_AUTO_TEST_CASE(log_of_a_negative_value_is_caught_when_the_node_is_recorded) {
  ad::Tape<double> tape;
  tape.set_anomaly_detection(true);
  auto x = tape.input("X", Tensor<double>{{1.0, -2.0}});
  const int line = __LINE__ + 1;
  const std::string message = anomaly_message([&] { ad::log(x); });
  check_mentions(message, {"forward of log", "log#1", "inputs: X (1, 2)", here(line)});
  BOOST_TEST(tape.size() == 1u);
}

BOOST_AUTO_TEST_CASE(log_of_zero_on_replay_names_the_node) {
  ad::Tape<double> tape;
  tape.set_anomaly_detection(true);
  auto x = tape.input("X", Tensor<double>{{1.0, 2.0}});
  const int line = __LINE__ + 1;
  auto L = ad::log(x).named("log_likelihood");
  ad::sum(ad::exp(L));
  tape.feed(x, Tensor<double>{{1.0, 0.0}});
  // log is the first operation that fails; the exp and sum after it are not blamed.
  check_mentions(anomaly_message([&] { tape.forward(); }), {"forward of log", "log_likelihood", here(line)});
}

BOOST_AUTO_TEST_CASE(overflow_and_division_by_zero_in_forward) {
  ad::Tape<double> tape;
  tape.set_anomaly_detection(true);
  auto x = tape.input("X", Tensor<double>{{1000.0}}), zero = tape.constant(Tensor<double>{{0.0}}, "zero");
  check_mentions(anomaly_message([&] { ad::exp(x); }), {"forward of exp", "X (1, 1)"});
  check_mentions(anomaly_message([&] { ad::div(x, zero); }), {"forward of div", "X (1, 1)", "zero (1, 1)"});
  check_mentions(anomaly_message([&] { x / zero; }), {"forward of div"});
}

BOOST_AUTO_TEST_CASE(a_parameter_or_input_holding_nan_is_named_before_any_operation) {
  ad::Parameter<double> W("W[1]", Tensor<double>{{1.0, 2.0}});
  ad::Tape<double> tape;
  tape.set_anomaly_detection(true);
  auto x = tape.input("X", Tensor<double>{{1.0}, {1.0}});
  ad::matmul(tape.parameter(W), x);
  W.value(0, 1) = std::numeric_limits<double>::quiet_NaN();
  check_mentions(anomaly_message([&] { tape.forward(); }), {"parameter W[1]", "before any operation"});
  W.value(0, 1) = 2.0;
  tape.feed(x, Tensor<double>{{1.0}, {std::numeric_limits<double>::infinity()}});
  check_mentions(anomaly_message([&] { tape.forward(); }), {"input X", "before any operation"});
}

BOOST_AUTO_TEST_CASE(without_anomaly_mode_nan_passes_silently) {
  ad::Tape<double> tape;
  BOOST_TEST(!tape.anomaly_detection());
  auto y = ad::log(tape.input("X", Tensor<double>{{-1.0}}));
  BOOST_TEST(std::isnan(y.value()(0, 0)));
  tape.set_anomaly_detection(true);
  BOOST_TEST(tape.anomaly_detection());
  BOOST_CHECK_THROW(tape.forward(), ad::AnomalyError);
}

BOOST_AUTO_TEST_CASE(pow_of_a_negative_base_with_a_fractional_exponent) {
  ad::Parameter<double> v("v", Tensor<double>{{4.0, 2.0}});
  ad::Tape<double> tape;
  tape.set_anomaly_detection(true);
  auto x = tape.parameter(v);
  ad::pow(x, 0.5).named("root");
  v.value(0, 1) = -2.0;
  const int line = __LINE__ + 1;
  check_mentions(anomaly_message([&] { ad::pow(x, 1.5); }), {"forward of pow", "inputs: v (1, 2)", here(line)});
  // An integer exponent is defined for a negative base and passes.
  BOOST_TEST(ad::pow(x, 3.0).value()(0, 1) == -8.0);
  // On replay the first pow, recorded while v was positive, is blamed by its name.
  check_mentions(anomaly_message([&] { tape.forward(); }), {"forward of pow", "root", "v (1, 2)"});
}

BOOST_AUTO_TEST_CASE(float_tapes_check_too) {
  ad::Tape<float> tape;
  tape.set_anomaly_detection(true);
  auto x = tape.input("X", Tensor<float>{{-1.0f}});
  check_mentions(anomaly_message([&] { ad::sqrt(x); }), {"forward of sqrt", "X (1, 1)"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(backward_anomalies)

BOOST_AUTO_TEST_CASE(sqrt_at_zero_is_finite_forward_and_infinite_backward) {
  ad::Parameter<double> v("v", Tensor<double>{{4.0, 0.0}});
  ad::Tape<double> tape;
  tape.set_anomaly_detection(true);
  const int line = __LINE__ + 1;
  auto r = ad::sqrt(tape.parameter(v)).named("root");
  BOOST_TEST(r.value()(0, 1) == 0.0);  // the forward is fine
  auto J = ad::sum(ad::mul_scalar(r, 2.0));
  // sqrt, not the mul or sum after it (whose gradients are finite), is blamed.
  check_mentions(anomaly_message([&] { tape.backward(J); }),
                 {"backward of sqrt", "root", "gradient of its input 0", "v (1, 2)", here(line)});
}

BOOST_AUTO_TEST_CASE(pow_with_a_fractional_exponent_at_zero) {
  ad::Parameter<double> v("v", Tensor<double>{{0.0}});
  ad::Tape<double> tape;
  tape.set_anomaly_detection(true);
  auto J = ad::sum(ad::pow(tape.parameter(v), 0.5));
  check_mentions(anomaly_message([&] { tape.backward(J); }), {"backward of pow", "v (1, 1)"});
}

BOOST_AUTO_TEST_CASE(a_seed_holding_nan) {
  ad::Parameter<double> v("v", Tensor<double>{{1.0, 2.0}});
  ad::Tape<double> tape;
  tape.set_anomaly_detection(true);
  auto y = ad::exp(tape.parameter(v));
  y.named("Y");
  check_mentions(anomaly_message([&] { tape.backward(y, Tensor<double>{{1.0, std::nan("")}}); }), {"seed", "Y"});
}

BOOST_AUTO_TEST_CASE(without_anomaly_mode_the_infinite_gradient_is_returned) {
  ad::Parameter<double> v("v", Tensor<double>{{0.0}});
  ad::Tape<double> tape;
  tape.backward(ad::sum(ad::sqrt(tape.parameter(v))));
  BOOST_TEST(std::isinf(v.grad(0, 0)));
}

BOOST_AUTO_TEST_SUITE_END()
