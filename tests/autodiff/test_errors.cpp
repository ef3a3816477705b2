// Misuse is an exception, never a crash: shape mismatches throw ad::ShapeError whose message names
// the operation, the operands' names and shapes and the user's line; misuse of tapes throws
// ad::TapeError. A rejected operation leaves the tape as it was.
#define BOOST_TEST_MODULE autodiff errors
#include <boost/test/unit_test.hpp>

#include <fmt/format.h>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>

#include "fixtures.hpp"

using ad::Activation;
using ad::Tensor;
using ad::Var;

namespace {

Tensor<double> zeros(std::size_t rows, std::size_t cols) { return xt::zeros<double>({rows, cols}); }

// Runs f, which must throw E, and returns the message. The tape must be left unchanged.
template <class E, class F>
std::string message_of(ad::Tape<double>& tape, F f) {
  const std::size_t size = tape.size();
  try {
    f();
  } catch (const E& e) {
    BOOST_TEST(tape.size() == size, "a rejected operation left a node on the tape");
    return e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception type: " << e.what());
    return "";
  }
  BOOST_ERROR("no exception thrown");
  return "";
}

// Every piece appears in the message.
void check_mentions(const std::string& message, std::initializer_list<std::string> pieces) {
  for (const auto& piece : pieces) BOOST_TEST(message.find(piece) != std::string::npos, "'" << piece << "' missing from: " << message);
}

// The creation site as messages print it ("dir/file.cpp:line").
std::string here(int line) { return fmt::format("autodiff/test_errors.cpp:{}", line); }

}  // namespace

BOOST_AUTO_TEST_SUITE(shape_mismatches)

BOOST_AUTO_TEST_CASE(add_names_both_operands_their_shapes_and_the_line) {
  ad::Tape<double> tape;
  auto A = tape.constant(zeros(2, 3)).named("A"), B = tape.constant(zeros(3, 2)).named("B");
  const int line = __LINE__ + 1;
  const std::string message = message_of<ad::ShapeError>(tape, [&] { ad::add(A, B); });
  check_mentions(message, {"add", "A is (2, 3)", "B is (3, 2)", "do not broadcast", here(line)});
}

BOOST_AUTO_TEST_CASE(operators_record_the_users_line_too) {
  ad::Tape<double> tape;
  auto A = tape.constant(zeros(2, 3)).named("A"), B = tape.constant(zeros(4, 3)).named("B");
  const int line = __LINE__ + 1;
  const std::string message = message_of<ad::ShapeError>(tape, [&] { return A * B; });
  check_mentions(message, {"mul", "A is (2, 3)", "B is (4, 3)", here(line)});
}

BOOST_AUTO_TEST_CASE(unnamed_nodes_are_described_by_operation_and_index) {
  ad::Tape<double> tape;
  auto x = tape.constant(zeros(2, 3));
  auto e = ad::exp(x);  // node 1
  auto c = tape.constant(zeros(3, 3));  // node 2
  const std::string message = message_of<ad::ShapeError>(tape, [&] { ad::sub(e, c); });
  check_mentions(message, {"sub", "exp#1 is (2, 3)", "constant#2 is (3, 3)"});
}

BOOST_AUTO_TEST_CASE(matmul_names_parameters_by_their_course_names) {
  ad::Parameter<double> W("W[2]", zeros(3, 4));
  ad::Tape<double> tape;
  auto A = tape.input("A[1]", zeros(5, 2));
  auto w = tape.parameter(W);
  const int line = __LINE__ + 1;
  const std::string message = message_of<ad::ShapeError>(tape, [&] { ad::matmul(w, A); });
  check_mentions(message, {"matmul", "W[2] is (3, 4)", "A[1] is (5, 2)", "inner dimensions 4 and 5", here(line)});
  // With a transpose flag the message says which operand was transposed.
  check_mentions(message_of<ad::ShapeError>(tape, [&] { ad::matmul(w, A, true, false); }),
                 {"W[2] is (3, 4) (transposed)", "A[1] is (5, 2)"});
}

BOOST_AUTO_TEST_CASE(linear_checks_the_product_and_the_bias) {
  ad::Parameter<double> W("W[1]", zeros(4, 3)), b("b[1]", zeros(4, 1)), wrong_b("b[9]", zeros(1, 4));
  ad::Tape<double> tape;
  auto X = tape.input("X", zeros(2, 5));
  auto good_X = tape.input("X_ok", zeros(3, 5));
  auto w = tape.parameter(W), bias = tape.parameter(b), wrong_bias = tape.parameter(wrong_b);
  const int line = __LINE__ + 1;
  std::string message = message_of<ad::ShapeError>(tape, [&] { ad::linear(w, X, bias); });
  check_mentions(message, {"linear", "W[1] is (4, 3)", "X is (2, 5)", here(line)});
  message = message_of<ad::ShapeError>(tape, [&] { ad::linear(w, good_X, wrong_bias, Activation::relu); });
  check_mentions(message, {"linear", "b[9] is (1, 4)", "W[1] is (4, 3)", "(4, 1)"});
  message = message_of<ad::ShapeError>(tape, [&] { ad::linear_rows(w, good_X, bias); });
  check_mentions(message, {"linear_rows", "W[1] is (4, 3)", "X_ok is (3, 5)"});
}

BOOST_AUTO_TEST_CASE(concat_names_the_mismatching_part) {
  ad::Tape<double> tape;
  auto a = tape.constant(zeros(2, 3), "a"), b = tape.constant(zeros(2, 4), "b");
  const int line = __LINE__ + 1;
  const std::string message = message_of<ad::ShapeError>(tape, [&] { ad::concat<double>({a, b}, 0); });
  check_mentions(message, {"concat", "a is (2, 3)", "b is (2, 4)", "column counts", here(line)});
  auto c = tape.constant(zeros(3, 3), "c");
  check_mentions(message_of<ad::ShapeError>(tape, [&] { ad::concat<double>({a, c}, 1); }),
                 {"concat", "a is (2, 3)", "c is (3, 3)", "row counts"});
}

BOOST_AUTO_TEST_CASE(reshape_and_slices_name_the_operand) {
  ad::Tape<double> tape;
  auto a = tape.constant(zeros(3, 4), "A");
  const int line = __LINE__ + 1;
  std::string message = message_of<ad::ShapeError>(tape, [&] { ad::reshape(a, 5, 2); });
  check_mentions(message, {"reshape", "A is (3, 4)", "12 elements", "(5, 2)", here(line)});
  check_mentions(message_of<ad::ShapeError>(tape, [&] { ad::slice_rows(a, 2, 5); }), {"slice_rows", "[2, 5)", "A is (3, 4)"});
  check_mentions(message_of<ad::ShapeError>(tape, [&] { ad::slice_cols(a, 2, 2); }), {"slice_cols", "[2, 2)", "A is (3, 4)"});
}

BOOST_AUTO_TEST_CASE(slices_past_either_edge_or_reversed_name_the_range_and_the_operand) {
  ad::Tape<double> tape;
  auto a = tape.constant(zeros(3, 4), "A");
  const int line = __LINE__ + 1;
  check_mentions(message_of<ad::ShapeError>(tape, [&] { ad::slice_cols(a, 3, 6); }),
                 {"slice_cols", "[3, 6)", "4 columns", "A is (3, 4)", here(line)});
  check_mentions(message_of<ad::ShapeError>(tape, [&] { ad::slice_cols(a, 7, 9); }), {"slice_cols", "[7, 9)", "A is (3, 4)"});
  check_mentions(message_of<ad::ShapeError>(tape, [&] { ad::slice_rows(a, 2, 1); }), {"slice_rows", "[2, 1)", "3 rows"});
  check_mentions(message_of<ad::ShapeError>(tape, [&] { ad::slice_rows(a, 3, 4); }), {"slice_rows", "[3, 4)", "A is (3, 4)"});
}

BOOST_AUTO_TEST_CASE(matmul_with_a_transposed_right_operand_names_it) {
  ad::Tape<double> tape;
  auto A = tape.constant(zeros(2, 3), "A"), B = tape.constant(zeros(3, 4), "B");
  check_mentions(message_of<ad::ShapeError>(tape, [&] { ad::matmul(A, B, false, true); }),
                 {"matmul", "A is (2, 3)", "B is (3, 4) (transposed)", "inner dimensions 3 and 4"});
}

BOOST_AUTO_TEST_CASE(losses_want_logits_and_labels_of_the_same_shape) {
  ad::Tape<double> tape;
  auto Z = tape.constant(zeros(10, 32), "Z[3]"), Y = tape.input("Y", zeros(1, 32));
  const int line = __LINE__ + 1;
  const std::string message = message_of<ad::ShapeError>(tape, [&] { ad::softmax_cross_entropy(Z, Y); });
  check_mentions(message, {"softmax_cross_entropy", "Z[3] is (10, 32)", "Y is (1, 32)", here(line)});
  check_mentions(message_of<ad::ShapeError>(tape, [&] { ad::sigmoid_cross_entropy(Z, Y); }),
                 {"sigmoid_cross_entropy", "Z[3] is (10, 32)", "Y is (1, 32)"});
}

// Bad scalar arguments are ConfigError (not ShapeError: nothing is wrong with a shape), with the line.
BOOST_AUTO_TEST_CASE(invalid_arguments_are_config_errors_with_the_line) {
  ad::Tape<double> tape;
  auto a = tape.constant(zeros(3, 4), "A");
  const int line = __LINE__ + 1;
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::clip(a, 1.0, -1.0); }), {"clip", here(line)});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::dropout(a, 0.0); }), {"dropout", "keep_prob"});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::dropout(a, 1.5); }), {"dropout", "keep_prob"});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::sum(a, 2); }), {"sum", "axis"});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::mean(a, -1); }), {"mean", "axis"});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::softmax(a, 2); }), {"softmax", "axis"});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::log_softmax(a, -1); }), {"log_softmax", "axis"});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::concat<double>({}, 0); }), {"concat", "no operands"});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::concat<double>({a, a}, 3); }), {"concat", "axis"});
  auto x = tape.constant(zeros(4, 2)), b = tape.constant(zeros(3, 1));
  const int slope_line = __LINE__ + 1;
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::linear(a, x, b, Activation::leaky_relu, -1.0); }),
                 {"linear", "slope", here(slope_line)});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::leaky_relu(a, -0.5); }), {"leaky_relu", "slope"});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::linear(a, x, b, Activation::softmax); }),
                 {"linear", "softmax"});
  check_mentions(message_of<ad::ConfigError>(tape, [&] { ad::clip(a, std::nan(""), 1.0); }), {"clip"});
}

BOOST_AUTO_TEST_CASE(config_errors_are_not_shape_errors_but_are_ad_errors) {
  ad::Tape<double> tape;
  auto a = tape.constant(zeros(3, 4), "A");
  const std::size_t before = tape.size();
  try {
    ad::dropout(a, 2.0);
    BOOST_FAIL("expected ConfigError");
  } catch (const ad::ShapeError&) {
    BOOST_FAIL("a bad keep_prob is not a ShapeError");
  } catch (const ad::ConfigError&) {
  }
  BOOST_CHECK_THROW(ad::clip(a, 2.0, 1.0), ad::Error);
  BOOST_TEST(tape.size() == before);  // nothing was recorded
}

// Attributes are read back as the type they were recorded with; another type is refused.
struct RecordedAttrs {
  double scale;
};
struct OtherAttrs {
  int axis;
};
template <class A>
struct ReadsAttrs {
  static void forward(ad::Tape<double>& t, ad::Node<double>& n) {
    (void)n.attrs<A>();
    n.value = t.value(n.parents[0]);
  }
  static void backward(ad::Tape<double>&, ad::Node<double>&) {}
  static constexpr ad::OpDef<double> def{"reads_attrs", forward, backward};
};

BOOST_AUTO_TEST_CASE(attributes_read_as_another_type_are_refused) {
  ad::Tape<double> tape;
  auto a = tape.constant(zeros(2, 2), "A");
  BOOST_CHECK_NO_THROW(tape.record(ReadsAttrs<RecordedAttrs>::def, {a.index()}, std::source_location::current(),
                                   RecordedAttrs{2.0}));
  check_mentions(message_of<ad::TapeError>(tape, [&] {
                   tape.record(ReadsAttrs<OtherAttrs>::def, {a.index()}, std::source_location::current(),
                               RecordedAttrs{2.0});
                 }),
                 {"reads_attrs", "attributes"});
  BOOST_CHECK_THROW(tape.record(ReadsAttrs<OtherAttrs>::def, {a.index()}, std::source_location::current()),
                    ad::TapeError);  // recorded without attributes
}

BOOST_AUTO_TEST_CASE(every_engine_exception_is_an_ad_error_and_a_runtime_error) {
  ad::Tape<double> tape;
  auto a = tape.constant(zeros(2, 3));
  BOOST_CHECK_THROW(ad::add(a, tape.constant(zeros(3, 2))), ad::Error);
  BOOST_CHECK_THROW(ad::add(a, tape.constant(zeros(3, 2))), std::runtime_error);
  BOOST_CHECK_THROW(tape.backward(a), ad::Error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(replayed_shape_changes)

BOOST_AUTO_TEST_CASE(feeding_a_shape_that_breaks_a_later_operation_throws_on_forward) {
  ad::Parameter<double> W("W[1]", zeros(4, 3));
  ad::Tape<double> tape;
  auto X = tape.input("X", zeros(3, 5));
  const int line = __LINE__ + 1;
  auto Z = ad::matmul(tape.parameter(W), X).named("Z[1]");
  auto J = ad::sum(Z);
  tape.feed(X, zeros(2, 5));  // accepted: only the operations know what fits
  const std::string message = message_of<ad::ShapeError>(tape, [&] { tape.forward(); });
  check_mentions(message, {"matmul", "W[1] is (4, 3)", "X is (2, 5)", here(line)});

  // Feeding a fitting shape again makes the tape usable again.
  tape.feed(X, xt::ones<double>({3, 7}));
  tape.forward();
  tape.backward(J);
  BOOST_TEST(ad::to_string(Z.shape()) == "(4, 7)");
}

// A forward that stopped at a shape error leaves the later nodes sized for the old shapes; a
// backward over them would hand BLAS buffers of the wrong size. It is refused until a forward succeeds.
BOOST_AUTO_TEST_CASE(backward_after_a_forward_that_failed_on_shapes_is_refused) {
  std::mt19937 rng(3);
  ad::Parameter<double> W("W[1]", fixtures::uniform(4, 3, -1, 1, rng));
  ad::Tape<double> tape;
  auto X = tape.input("X", fixtures::uniform(3, 5, -1, 1, rng));
  // exp accepts any shape, so the product after it is where the replay stops.
  auto Z = ad::matmul(tape.parameter(W), ad::exp(X)).named("Z[1]");
  auto J = ad::sum(ad::square(Z));
  tape.feed(X, zeros(4, 5));  // a wider product: dW would be (4, 4) in W's (4, 3) buffer
  message_of<ad::ShapeError>(tape, [&] { tape.forward(); });
  check_mentions(message_of<ad::TapeError>(tape, [&] { tape.backward(J); }), {"backward", "matmul", "Z[1]", "forward"});

  // Once a forward succeeds, backward runs again and is right.
  const Tensor<double> x = fixtures::uniform(3, 5, -1, 1, rng);
  tape.feed(X, x);
  tape.forward();
  tape.backward(J);
  const Tensor<double> expected = 2.0 * xt::linalg::dot(Z.value(), xt::transpose(xt::exp(x)));
  BOOST_TEST(xt::allclose(W.grad, expected));
}

BOOST_AUTO_TEST_CASE(backward_after_feeding_a_new_shape_without_forward_is_refused) {
  ad::Parameter<double> W("W[1]", zeros(4, 3));
  ad::Tape<double> tape;
  auto X = tape.input("X", zeros(3, 5));
  auto J = ad::sum(ad::matmul(tape.parameter(W), X));
  tape.feed(X, zeros(3, 7));
  check_mentions(message_of<ad::TapeError>(tape, [&] { tape.backward(J); }), {"backward", "X", "(3, 7)", "forward()"});
  tape.forward();
  tape.backward(J);
  BOOST_TEST(ad::to_string(ad::shape_of(W.grad)) == "(4, 3)");
  // The same shape again only changes values: backward without forward stays allowed.
  tape.feed(X, xt::ones<double>({3, 7}));
  BOOST_CHECK_NO_THROW(tape.backward(J));
}

BOOST_AUTO_TEST_CASE(a_parameter_resized_behind_the_tapes_back_is_caught_on_forward) {
  ad::Parameter<double> W("W[1]", zeros(4, 3)), b("b[1]", zeros(4, 1));
  ad::Tape<double> tape;
  auto X = tape.input("X", zeros(3, 5));
  ad::linear(tape.parameter(W), X, tape.parameter(b));
  b.value = zeros(5, 1);
  check_mentions(message_of<ad::ShapeError>(tape, [&] { tape.forward(); }), {"linear", "b[1] is (5, 1)", "W[1] is (4, 3)"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tape_misuse)

BOOST_AUTO_TEST_CASE(backward_from_a_non_scalar_without_a_seed) {
  ad::Parameter<double> W("W[1]", zeros(2, 3));
  ad::Tape<double> tape;
  auto Z = ad::exp(tape.parameter(W)).named("Z[1]");
  const std::string message = message_of<ad::TapeError>(tape, [&] { tape.backward(Z); });
  check_mentions(message, {"backward", "Z[1] is (2, 3)", "seed"});
}

BOOST_AUTO_TEST_CASE(backward_with_a_seed_of_the_wrong_shape) {
  ad::Parameter<double> W("W[1]", zeros(2, 3));
  ad::Tape<double> tape;
  auto Z = ad::exp(tape.parameter(W)).named("Z[1]");
  check_mentions(message_of<ad::ShapeError>(tape, [&] { tape.backward(Z, zeros(3, 2)); }),
                 {"backward", "seed is (3, 2)", "Z[1] is (2, 3)"});
}

BOOST_AUTO_TEST_CASE(operands_from_two_tapes) {
  ad::Tape<double> first, second;
  auto a = first.constant(zeros(2, 2)), b = second.constant(zeros(2, 2));
  check_mentions(message_of<ad::TapeError>(first, [&] { ad::add(a, b); }), {"add", "different tapes"});
  check_mentions(message_of<ad::TapeError>(second, [&] { ad::matmul(b, a); }), {"matmul", "different tapes"});
  check_mentions(message_of<ad::TapeError>(first, [&] { ad::concat<double>({a, b}, 0); }), {"concat", "different tapes"});
  check_mentions(message_of<ad::TapeError>(first, [&] { first.backward(b); }), {"backward"});
  check_mentions(message_of<ad::TapeError>(first, [&] { first.feed(b, zeros(2, 2)); }), {"feed"});
}

BOOST_AUTO_TEST_CASE(a_var_used_after_its_tape_was_released) {
  Var<double> dead;
  {
    ad::Tape<double> gone;
    dead = ad::exp(gone.constant(zeros(2, 2)));
  }
  ad::Tape<double> live;  // quite possibly at the released tape's address
  auto a = live.constant(zeros(2, 2));
  const auto message = message_of<ad::TapeError>(live, [&] { (void)dead.value(); });
  check_mentions(message, {"released"});
  BOOST_CHECK_THROW(ad::exp(dead), ad::TapeError);
  BOOST_CHECK_THROW(ad::add(dead, a), ad::TapeError);
  BOOST_CHECK_THROW(ad::add(a, dead), ad::TapeError);
  BOOST_CHECK_THROW(dead.named("late"), ad::TapeError);
  BOOST_CHECK_THROW(live.backward(dead), ad::TapeError);
  BOOST_TEST(live.size() == 1u);
}

// Not only "released": the operation the user called is named, as for every other error.
BOOST_AUTO_TEST_CASE(a_released_tapes_var_is_reported_by_the_operation_that_uses_it) {
  Var<double> dead;
  {
    ad::Tape<double> gone;
    dead = ad::exp(gone.constant(zeros(2, 2)));
  }
  ad::Tape<double> live;
  auto a = live.constant(zeros(2, 2), "A");
  check_mentions(message_of<ad::TapeError>(live, [&] { ad::exp(dead); }), {"exp", "released"});
  check_mentions(message_of<ad::TapeError>(live, [&] { ad::matmul(dead, a); }), {"matmul", "released"});
  check_mentions(message_of<ad::TapeError>(live, [&] { ad::add(a, dead); }), {"add", "released"});
  check_mentions(message_of<ad::TapeError>(live, [&] { ad::concat<double>({dead, a}, 0); }), {"concat", "released"});
  check_mentions(message_of<ad::TapeError>(live, [&] { ad::sum(dead, 0); }), {"sum", "released"});
}

// The operand from the other tape is named with its shape and line, so the user can find it.
BOOST_AUTO_TEST_CASE(an_operand_from_another_tape_is_named_with_its_shape_and_line) {
  ad::Tape<double> first, second;
  auto a = first.constant(zeros(2, 2), "A");
  const int line = __LINE__ + 1;
  auto b = second.constant(zeros(3, 2), "B");
  check_mentions(message_of<ad::TapeError>(first, [&] { ad::add(a, b); }), {"add", "B is (3, 2)", "another tape", here(line)});
  check_mentions(message_of<ad::TapeError>(second, [&] { ad::matmul(b, a); }), {"matmul", "A is (2, 2)", "another tape"});
  check_mentions(message_of<ad::TapeError>(first, [&] { first.backward(b); }), {"backward", "B is (3, 2)"});
}

BOOST_AUTO_TEST_CASE(an_empty_var) {
  ad::Tape<double> tape;
  Var<double> empty;
  BOOST_TEST(!empty.valid());
  BOOST_CHECK_THROW((void)empty.value(), ad::TapeError);
  auto a = tape.constant(zeros(1, 1));
  check_mentions(message_of<ad::TapeError>(tape, [&] { ad::add(a, empty); }), {"add", "empty"});
}

BOOST_AUTO_TEST_CASE(feeding_something_that_is_not_an_input) {
  ad::Parameter<double> W("W[1]", zeros(2, 2));
  ad::Tape<double> tape;
  auto c = tape.constant(zeros(2, 2), "C");
  check_mentions(message_of<ad::TapeError>(tape, [&] { tape.feed(c, zeros(2, 2)); }), {"feed", "C", "not an input"});
  auto w = tape.parameter(W);
  check_mentions(message_of<ad::TapeError>(tape, [&] { tape.feed(w, zeros(2, 2)); }),
                 {"feed", "W[1]", "not an input"});
}

BOOST_AUTO_TEST_CASE(two_different_parameters_with_the_same_name) {
  ad::Parameter<double> first("W[1]", zeros(2, 2)), second("W[1]", zeros(2, 2));
  ad::Tape<double> tape;
  tape.parameter(first);
  const int line = __LINE__ + 1;
  check_mentions(message_of<ad::TapeError>(tape, [&] { tape.parameter(second); }), {"W[1]", here(line)});
}

BOOST_AUTO_TEST_SUITE_END()
