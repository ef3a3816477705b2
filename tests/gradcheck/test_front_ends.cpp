// The ways into the checker besides a recorded tape, and what the report offers a program: the
// closure form (a graph rebuilt at every evaluation), the Jacobian of a single operation, the check
// at initialization and again after some training, the engine-contract checks (on the graph being
// checked, with operations planted here that break the gradient-sink contract), the Boost.Test
// macros (on a failing report too, their log captured), and the JSON report. Each is shown to pass on a correct graph and to fail, in the right
// block, on a planted bug (planted.hpp).
#define BOOST_TEST_MODULE gradcheck front ends
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gradcheck/boost_test.hpp>
#include <gradcheck/gradcheck.hpp>

#include "expect_only.hpp"
#include "planted.hpp"
#include "error_text.hpp"

using planted::Bug;

namespace {

using test_support::contains;

bool any_contains(const std::vector<std::string>& texts, const std::string& part) {
  for (const auto& t : texts)
    if (contains(t, part)) return true;
  return false;
}

bool bit_identical(const ad::Tensor<double>& a, const ad::Tensor<double>& b) {
  return ad::shape_of(a) == ad::shape_of(b) && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// Small inputs for a single operation's Jacobian: W (3, 2), A (2, 4), b (3, 1).
struct LinearInputs {
  ad::Parameter<double> W{"W", planted::Mlp<double>::random(3, 2, 21, 0.8)};
  ad::Parameter<double> A{"A", planted::Mlp<double>::random(2, 4, 22, 1.0)};
  ad::Parameter<double> b{"b", planted::Mlp<double>::random(3, 1, 23, 0.3)};
  std::vector<ad::Parameter<double>*> all() { return {&W, &A, &b}; }
};

gc::Report planted_jacobian(Bug bug) {
  LinearInputs in;
  return gc::check_jacobian(
      [bug](ad::Tape<double>&, const std::vector<ad::Var<double>>& x) {
        return planted::planted_linear(x[0], x[1], x[2], true, bug);
      },
      in.all());
}

// y = 3x with a backward that breaks the engine's GradSink contract by writing past the sink into
// x's gradient tensor (planted.hpp's operations keep it): `assigns` writes 3·dy over x's gradient
// even when another reader of x wrote first in this sweep; otherwise it adds 3·dy to whatever x's
// gradient held, even at the sweep's first write, so it keeps what the previous backward left.
template <bool assigns>
struct BrokenTriple {
  static void forward(ad::Tape<double>& t, ad::Node<double>& n) { n.value = 3.0 * t.value(n.parents[0]); }
  static void backward(ad::Tape<double>& t, ad::Node<double>& n) {
    t.sink(n.parents[0]);  // marks x reached (and sizes its gradient), then bypassed
    ad::Node<double>& x = t.node(n.parents[0]);
    ad::Tensor<double>& g = x.kind == ad::NodeKind::parameter ? x.param->grad : x.grad;
    if (assigns) g = 3.0 * n.grad;
    else g += 3.0 * n.grad;
  }
  static constexpr ad::OpDef<double> def{assigns ? "assigning_triple" : "accumulating_triple", forward, backward};
};

template <bool assigns>
ad::Var<double> broken_triple(ad::Var<double> x) {
  ad::Tape<double>& tape = x.tape();
  return ad::Var<double>(&tape, tape.record(BrokenTriple<assigns>::def, {x.index()}, std::source_location::current()));
}

// The contract is the point in these checks, not the comparison: sampled, no sweep, no slope.
gc::Options contract_only() {
  gc::Options o;
  o.mode = gc::Mode::sampled;
  o.sweep_eps = false;
  o.taylor = false;
  return o;
}

// The test log of every format, sent to a string while alive, then back to where it went.
class CapturedLog {
 public:
  CapturedLog() {
    using namespace boost::unit_test;
    for (auto format : {OF_CLF, OF_XML, OF_JUNIT})
      if (std::ostream* stream = unit_test_log.get_stream(format)) {
        previous_.emplace_back(format, stream);
        unit_test_log.set_stream(format, text_);
      }
  }
  ~CapturedLog() {
    for (auto [format, stream] : previous_) boost::unit_test::unit_test_log.set_stream(format, *stream);
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::vector<std::pair<boost::unit_test::output_format, std::ostream*>> previous_;
};

}  // namespace

// --- the closure form ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(closure_form_passes_a_correct_graph) {
  // `build` records the whole MLP on a fresh tape at every evaluation (no replay).
  planted::Mlp<double> mlp;
  std::size_t builds = 0;
  const auto report = gc::check(
      [&](ad::Tape<double>& tape) {
        ++builds;
        return mlp.cost(tape);
      },
      mlp.parameters());
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.passed());
  BOOST_TEST(report.deterministic);
  BOOST_TEST(report.relative_error < 1e-7);
  BOOST_REQUIRE_EQUAL(report.blocks.size(), 6u);
  for (const auto& b : report.blocks) {
    BOOST_TEST(b.verdict == gc::Verdict::pass, b.name);
    BOOST_TEST(b.checked == b.shape[0] * b.shape[1], b.name);
  }
  // Rebuilt for every evaluation: two per element of the 1893 parameters, at least.
  BOOST_TEST(builds >= 2 * 1893u);
  BOOST_TEST(report.evaluations >= 2 * 1893u);
}

BOOST_AUTO_TEST_CASE(closure_form_finds_a_planted_bug_in_its_block) {
  planted::Mlp<double> mlp;
  const auto plan = planted::plant(3, Bug::db_sign);
  expect_only(gc::check([&](ad::Tape<double>& tape) { return mlp.cost(tape, plan); }, mlp.parameters()), "b[3]",
              "sign flip");
  const auto factor = planted::plant(2, Bug::db_times_m);
  expect_only(gc::check([&](ad::Tape<double>& tape) { return mlp.cost(tape, factor); }, mlp.parameters()), "b[2]",
              "missing 1/m");
}

BOOST_AUTO_TEST_CASE(closure_form_with_dropout_is_deterministic) {
  // Every evaluation's tape starts from the same random state, so dropout draws the same mask
  // each time: the closure form can check a network with dropout too.
  planted::Mlp<double> mlp;
  auto build = [&](ad::Tape<double>& tape) {
    auto A = ad::tanh(ad::linear(tape.parameter(mlp.W1), tape.constant(mlp.X), tape.parameter(mlp.b1)));
    A = ad::dropout(A, 0.7);
    auto Z = ad::linear(tape.parameter(mlp.W2), A, tape.parameter(mlp.b2));
    return ad::sum(ad::square(Z));
  };
  const auto report = gc::check(build, {&mlp.W1, &mlp.b1, &mlp.W2, &mlp.b2});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.deterministic);
  BOOST_TEST(report.passed());
}

BOOST_AUTO_TEST_CASE(closure_form_leaves_gradients_as_found) {
  planted::Mlp<double> mlp;
  for (auto* p : mlp.parameters()) p->grad.fill(42.0);  // stale gradients the user still holds
  gc::check([&](ad::Tape<double>& tape) { return mlp.cost(tape); }, mlp.parameters());
  for (auto* p : mlp.parameters())
    BOOST_TEST(bit_identical(p->grad, xt::eval(42.0 + xt::zeros<double>(p->value.shape()))), p->name);
}

// --- the Jacobian of one operation ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(jacobian_of_softmax_passes) {
  // A vector-valued operation: every output element's gradient against every input element.
  for (int axis : {0, 1}) {
    BOOST_TEST_CONTEXT("softmax along axis " << axis) {
      ad::Parameter<double> Z("Z", planted::Mlp<double>::random(4, 3, 31, 2.0));
      const auto report = gc::check_jacobian(
          [axis](ad::Tape<double>&, const std::vector<ad::Var<double>>& x) { return ad::softmax(x[0], axis); }, {&Z});
      BOOST_TEST_MESSAGE(report.table());
      BOOST_TEST(report.passed());
      BOOST_REQUIRE_EQUAL(report.blocks.size(), 1u);
      const auto& b = report.blocks[0];
      BOOST_TEST(b.name == "Z");
      BOOST_TEST(b.verdict == gc::Verdict::pass);
      BOOST_TEST(b.relative_error < 1e-7);
      // The Jacobian block: 12 outputs × 12 input elements, all compared.
      BOOST_TEST(b.shape[0] == 12u);
      BOOST_TEST(b.shape[1] == 12u);
      BOOST_TEST(b.checked == 144u);
      BOOST_TEST(report.evaluations == 24u);  // two forwards per input element
      BOOST_TEST(report.jacobian_outputs == 12u);
      BOOST_TEST(contains(report.table(), "Jacobian check of an operation with 12 outputs"), report.table());
      // Softmax mixes elements along the axis only: many Jacobian entries are zero, not all.
      BOOST_TEST(b.analytic_norm > 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(jacobian_of_a_correct_planted_linear_passes) {
  const auto report = planted_jacobian(Bug::none);
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.passed());
  BOOST_REQUIRE_EQUAL(report.blocks.size(), 3u);
  for (const auto& b : report.blocks) BOOST_TEST(b.verdict == gc::Verdict::pass, b.name);
  // One block per input: outputs (3·4 = 12) × that input's elements.
  BOOST_TEST(report.block("W")->shape == (ad::Shape{12, 6}));
  BOOST_TEST(report.block("A")->shape == (ad::Shape{12, 8}));
  BOOST_TEST(report.block("b")->shape == (ad::Shape{12, 3}));
}

BOOST_AUTO_TEST_CASE(jacobian_finds_the_wrong_input) {
  expect_only(planted_jacobian(Bug::db_sign), "b", "sign flip");
  expect_only(planted_jacobian(Bug::dW_times_m), "W", "4× numeric");  // m = 4 columns
  expect_only(planted_jacobian(Bug::dW_wrong), "W", "no simple pattern");
}

BOOST_AUTO_TEST_CASE(jacobian_leaves_the_inputs_as_found) {
  LinearInputs in;
  const auto W = in.W.value, A = in.A.value;
  in.W.grad.fill(-7.0);
  planted_jacobian(Bug::none);  // on its own inputs; and on these:
  gc::check_jacobian(
      [](ad::Tape<double>&, const std::vector<ad::Var<double>>& x) {
        return planted::planted_linear(x[0], x[1], x[2], false, Bug::none);
      },
      in.all());
  BOOST_TEST(bit_identical(in.W.value, W));
  BOOST_TEST(bit_identical(in.A.value, A));
  BOOST_TEST(bit_identical(in.W.grad, xt::eval(-7.0 + xt::zeros<double>({3, 2}))));
}

BOOST_AUTO_TEST_CASE(jacobian_leaves_the_inputs_as_found_when_the_operation_throws) {
  // sqrt at exactly 0 is fine as given; the step to −h makes a NaN, which anomaly mode turns into
  // an exception in the middle of the check, with Z perturbed.
  ad::Parameter<double> Z("Z", ad::Tensor<double>{{0.5, 0.0}, {1.5, 2.0}});
  const auto before = Z.value;
  Z.grad = ad::Tensor<double>{{-1.0, -2.0}, {-3.0, -4.0}};
  const auto grad_before = Z.grad;
  auto sqrt_with_anomaly_mode = [](ad::Tape<double>& tape, const std::vector<ad::Var<double>>& x) {
    tape.set_anomaly_detection(true);
    return ad::sqrt(x[0]);
  };
  BOOST_CHECK_THROW(gc::check_jacobian(sqrt_with_anomaly_mode, {&Z}), std::exception);
  BOOST_TEST(bit_identical(Z.value, before));
  BOOST_TEST(bit_identical(Z.grad, grad_before));
}

// W (3, 2), A (2, 4) whose first column is 0, b (3, 1) with b(0) = 0: Z(0, 0) = 0 sits exactly on
// the kink of the relu that follows, whatever W is.
struct LinearAtAKink {
  ad::Parameter<double> W{"W", planted::Mlp<double>::random(3, 2, 21, 0.8)};
  ad::Parameter<double> A{"A", ad::Tensor<double>{{0.0, 0.7, -0.4, 1.1}, {0.0, -0.9, 0.3, 0.6}}};
  ad::Parameter<double> b{"b", ad::Tensor<double>{{0.0}, {0.1}, {-0.2}}};
  std::vector<ad::Parameter<double>*> all() { return {&W, &A, &b}; }
};

gc::Report relu_of_planted_linear_jacobian(Bug bug) {
  LinearAtAKink in;
  return gc::check_jacobian(
      [bug](ad::Tape<double>&, const std::vector<ad::Var<double>>& x) {
        return ad::relu(planted::planted_linear(x[0], x[1], x[2], false, bug));
      },
      in.all());
}

BOOST_AUTO_TEST_CASE(jacobian_reports_a_kink_not_a_bug) {
  // Steps of A(:, 0) and b(0) move Z(0, 0) across relu's kink: the one Jacobian entry each such
  // step moves, ∂relu(Z(0,0))/∂θ_i, lies between its one-sided differences (a kink); every other
  // entry agrees with its centered difference.
  const auto report = relu_of_planted_linear_jacobian(Bug::none);
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.passed());
  BOOST_TEST(report.block("W")->verdict == gc::Verdict::pass);
  BOOST_TEST(report.block("W")->kinks == 0u);
  BOOST_TEST(report.block("b")->verdict == gc::Verdict::kink);
  BOOST_TEST(report.block("b")->kinks == 1u);
  BOOST_TEST(report.block("b")->checked == 12u * 3u);  // the kink's entry compared too
  BOOST_TEST(contains(report.block("b")->diagnosis, "kink"), report.block("b")->diagnosis);
  BOOST_TEST(report.block("A")->verdict == gc::Verdict::kink);
  BOOST_TEST(report.block("A")->kinks == 2u);  // A(0, 0) and A(1, 0), each moving ∂Z(0,0)
}

BOOST_AUTO_TEST_CASE(jacobian_still_fails_a_bug_beside_a_kink) {
  const auto report = relu_of_planted_linear_jacobian(Bug::dW_sign);
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.passed());
  BOOST_TEST(report.relative_error > 1e-3);  // the course's single number, over the three blocks
  BOOST_TEST(report.block("W")->verdict == gc::Verdict::fail);
  BOOST_TEST(contains(report.block("W")->diagnosis, "sign flip"), report.block("W")->diagnosis);
  BOOST_TEST(report.block("b")->verdict == gc::Verdict::kink);
  BOOST_TEST(report.block("A")->verdict == gc::Verdict::kink);
}

// --- at initialization and after training --------------------------------------------------------

BOOST_AUTO_TEST_CASE(check_during_training_reports_twice_and_both_pass) {
  // Plain gradient descent on the replayed tape, written here: forward, backward, θ -= α·dθ.
  constexpr std::size_t steps = 25;
  auto descend = [](ad::Tape<double>& tape, ad::Var<double> J, planted::Mlp<double>& mlp) {
    tape.forward();
    tape.backward(J);
    for (auto* p : mlp.parameters()) p->value -= 0.5 * p->grad;  // learning rate 0.5
  };

  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  auto J = mlp.cost(tape);
  std::size_t steps_taken = 0;
  const auto reports = gc::check_during_training(
      tape, J, mlp.parameters(),
      [&] {
        ++steps_taken;
        descend(tape, J, mlp);
      },
      steps);
  BOOST_REQUIRE_EQUAL(reports.size(), 2u);
  BOOST_TEST(steps_taken == steps);
  for (const auto& r : reports) {
    BOOST_TEST_MESSAGE(r.table());
    GRADCHECK_CHECK(r);
    BOOST_TEST(r.relative_error < 1e-7);
    BOOST_TEST(r.blocks.size() == 6u);
  }
  // The second report is of the trained model: its cost went down.
  BOOST_TEST(reports[1].cost < reports[0].cost - 0.1, reports[0].cost << " -> " << reports[1].cost);

  // The checks did not disturb training: the same steps without any check reach bit-identical θ.
  planted::Mlp<double> reference;
  ad::Tape<double> reference_tape;
  auto reference_J = reference.cost(reference_tape);
  for (std::size_t s = 0; s < steps; ++s) descend(reference_tape, reference_J, reference);
  for (std::size_t k = 0; k < 6; ++k)
    BOOST_TEST(bit_identical(mlp.parameters()[k]->value, reference.parameters()[k]->value), mlp.parameters()[k]->name);
}

// --- the engine contract -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(engine_contract_holds_for_a_correct_model) {
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  const auto report = gc::check(tape, mlp.cost(tape), mlp.parameters());
  BOOST_TEST(report.contract_failures.empty());
  BOOST_TEST(!contains(report.table(), "engine contract"));
}

BOOST_AUTO_TEST_CASE(engine_contract_catches_a_backward_not_linear_in_its_seed) {
  // dW[2] = dZ·Aᵀ + 1: a zero seed gives ones, a seed of 2 does not double the gradient. (Sampled,
  // without sweep or Taylor slope: the contract is the point here, not the comparison.)
  gc::Options o;
  o.mode = gc::Mode::sampled;
  o.sweep_eps = false;
  o.taylor = false;
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  const auto report = gc::check(tape, mlp.cost(tape, planted::plant(2, Bug::seed_plus_one)), mlp.parameters(), o);
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.passed());
  BOOST_TEST(!report.contract_failures.empty());
  BOOST_TEST(any_contains(report.contract_failures, "not linear in its seed for W[2]"));
  BOOST_TEST(any_contains(report.contract_failures, "zero seed gave a non-zero gradient in W[2]"));
  // Only W[2]'s backward is broken: no other block is named.
  for (const char* other : {"W[1]", "b[1]", "b[2]", "W[3]", "b[3]"})
    BOOST_TEST(!any_contains(report.contract_failures, other), other);
  BOOST_TEST(contains(report.table(), "engine contract broken"));
  BOOST_TEST(report.to_json().at("contract_failures").size() == report.contract_failures.size());

  // The contract checks can be turned off; the gradient comparison still fails W[2].
  o.contract_checks = false;
  ad::Tape<double> again;
  const auto unchecked = gc::check(again, mlp.cost(again, planted::plant(2, Bug::seed_plus_one)), mlp.parameters(), o);
  BOOST_TEST(unchecked.contract_failures.empty());
  BOOST_TEST(unchecked.block("W[2]")->verdict == gc::Verdict::fail);
}

BOOST_AUTO_TEST_CASE(unreached_parameters_keep_their_stale_gradients_out_of_the_check) {
  // The engine zeroes the gradient of a parameter its backward does not reach. A new Parameter's
  // gradient is zero already, which would hide an engine that did not: here each unused block
  // holds a stale gradient first. U is on the tape but unused, V feeds a dead branch, and E is not
  // on this tape at all (its gradient belongs to some other computation: zero to this check).
  ad::Parameter<double> W("W", ad::Tensor<double>{{0.5, -1.0}, {0.25, 0.75}});
  ad::Parameter<double> U("U", ad::Tensor<double>{{1.0, 2.0, 3.0}});
  ad::Parameter<double> V("V", ad::Tensor<double>{{-0.5}, {0.5}});
  ad::Parameter<double> E("E", ad::Tensor<double>{{4.0}});
  const std::vector<ad::Parameter<double>*> unused{&U, &V, &E};
  for (auto* p : unused) p->grad.fill(7.0);
  ad::Tape<double> tape;
  auto w = tape.parameter(W);
  tape.parameter(U);
  (void)ad::sum(ad::exp(tape.parameter(V)));
  const auto report = gc::check(tape, ad::sum(ad::tanh(w) * w), {&W, &U, &V, &E});
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.passed());
  BOOST_TEST(report.contract_failures.empty());
  for (auto* p : unused) {
    BOOST_TEST_CONTEXT(p->name) {
      BOOST_TEST(report.block(p->name)->verdict == gc::Verdict::unused);
      BOOST_TEST(report.block(p->name)->analytic_norm == 0);
    }
  }
  // Left as found: U and V were zeroed by the engine (and NaN-filled by the contract check), then
  // given back their stale gradients; E was never touched.
  for (auto* p : unused) BOOST_TEST(bit_identical(p->grad, xt::eval(7.0 + xt::zeros<double>(p->value.shape()))), p->name);
}

BOOST_AUTO_TEST_CASE(engine_contract_catches_an_operation_that_assigns_over_fan_out) {
  // H = tanh(W) is read twice. The assigning triple was recorded first, so the sweep reaches it
  // last and it overwrites what square(H) had written into H's gradient.
  ad::Parameter<double> W("W", planted::Mlp<double>::random(2, 3, 61, 1.0));
  ad::Tape<double> tape;
  auto H = ad::tanh(tape.parameter(W)).named("H");
  auto first_reader = ad::sum(ad::tanh(broken_triple<true>(H)));
  auto J = first_reader + ad::sum(ad::square(H));
  const auto report = gc::check(tape, J, {&W}, contract_only());
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.passed());
  BOOST_TEST(any_contains(report.contract_failures, "do not accumulate over fan-out: H is read by 2 operations"));
  BOOST_TEST(report.contract_failures.size() == 1u);  // linear in the seed and repeatable: only fan-out is broken
  BOOST_TEST(report.block("W")->verdict == gc::Verdict::fail);

  // Recorded last, the same operation is swept first: its assignment is H's first write, which is
  // right, and neither the contract nor the comparison finds anything.
  ad::Tape<double> fine;
  auto G = ad::tanh(fine.parameter(W)).named("H");
  auto square_first = ad::sum(ad::square(G));
  auto K = square_first + ad::sum(ad::tanh(broken_triple<true>(G)));
  const auto harmless = gc::check(fine, K, {&W}, contract_only());
  BOOST_TEST(harmless.contract_failures.empty());
  BOOST_TEST(harmless.passed());
}

BOOST_AUTO_TEST_CASE(engine_contract_catches_an_operation_that_keeps_state_between_backwards) {
  // The accumulating triple adds to what the previous backward left in W's gradient: the check's
  // own first backward starts from zero and is right, every later one is not.
  ad::Parameter<double> W("W", planted::Mlp<double>::random(2, 3, 62, 1.0));
  ad::Tape<double> tape;
  auto J = ad::sum(ad::tanh(broken_triple<false>(tape.parameter(W))));
  const auto report = gc::check(tape, J, {&W}, contract_only());
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.passed());
  BOOST_TEST(any_contains(report.contract_failures, "a repeated backward changed the gradient of W"));
  BOOST_TEST(any_contains(report.contract_failures, "zero seed gave a non-zero gradient in W"));
  BOOST_TEST(report.block("W")->verdict == gc::Verdict::pass);  // the comparison alone would not see it
}

// --- Boost.Test macros ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(macros_pass_on_a_correct_report) {
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  const auto report = gc::check(tape, mlp.cost(tape), mlp.parameters());
  GRADCHECK_CHECK(report);
  GRADCHECK_REQUIRE(report);
}

#define GC_TEST_STRINGIZE_(...) #__VA_ARGS__
#define GC_TEST_STRINGIZE(...) GC_TEST_STRINGIZE_(__VA_ARGS__)

BOOST_AUTO_TEST_CASE(macros_fail_on_report_passed_and_log_the_table) {
  // What the macros are made of: their predicate is report.passed() and their message is the
  // table, and for a report with a planted bug the predicate is false and the table names the
  // block and its diagnosis. (The next case runs GRADCHECK_CHECK itself on such a report.)
  const std::string check = GC_TEST_STRINGIZE(GRADCHECK_CHECK(the_report));
  const std::string require = GC_TEST_STRINGIZE(GRADCHECK_REQUIRE(the_report));
  for (const auto& expansion : {check, require}) {
    BOOST_TEST(contains(expansion, "(the_report).passed()"), expansion);
    BOOST_TEST(contains(expansion, "(the_report).table()"), expansion);
    BOOST_TEST(contains(expansion, "gradient check failed"), expansion);
  }
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  gc::Options o;
  o.l2_scale = mlp.l2_scale();  // the sign flip is in the data term of dW[1]
  const auto report = gc::check(tape, mlp.cost(tape, planted::plant(1, Bug::dW_sign)), mlp.parameters(), o);
  BOOST_TEST(!report.passed());
  const std::string table = report.table();
  BOOST_TEST(contains(table, "FAIL"));
  BOOST_TEST(contains(table, "W[1]: in the data term"), table);  // the block, then its diagnosis
  BOOST_TEST(contains(table, "sign flip"), table);
}

gc::Report report_with_a_planted_sign_flip() {
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  return gc::check(tape, mlp.cost(tape, planted::plant(3, Bug::db_sign)), mlp.parameters());
}

BOOST_AUTO_TEST_CASE(macro_fails_on_a_failing_report_and_logs_the_table, *boost::unit_test::expected_failures(1)) {
  // A failed check is logged when it fails (not when the case ends), so its log entry can be
  // captured right here. The one expected failure must be the macro's: if it passed, the REQUIRE
  // below aborts the case, which expected_failures does not excuse. GRADCHECK_REQUIRE cannot be
  // run this way at all (a failed REQUIRE aborts its case): its expansion is checked above.
  const auto report = report_with_a_planted_sign_flip();
  std::string logged;
  {
    CapturedLog log;
    GRADCHECK_CHECK(report);
    logged = log.text();
  }
  BOOST_TEST_REQUIRE(contains(logged, "gradient check failed"), logged);
  BOOST_TEST(contains(logged, report.table()), logged);
  BOOST_TEST(contains(logged, "b[3]: sign flip"), logged);
}

// --- JSON ----------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(json_of_a_failing_report_has_every_block_field) {
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  const auto report = gc::check(tape, mlp.cost(tape, planted::plant(2, Bug::db_times_m)), mlp.parameters());
  // Through text, as a program reading the report would get it.
  const auto j = nlohmann::json::parse(report.to_json().dump(2));
  BOOST_TEST(j.at("passed").get<bool>() == false);
  BOOST_TEST(j.at("deterministic").get<bool>() == true);
  BOOST_TEST(j.at("relative_error").get<double>() == report.relative_error);
  BOOST_TEST(j.at("cost").get<double>() == report.cost);
  BOOST_TEST(j.at("evaluations").get<std::size_t>() == report.evaluations);
  BOOST_REQUIRE_EQUAL(j.at("blocks").size(), report.blocks.size());
  for (std::size_t k = 0; k < report.blocks.size(); ++k) {
    const auto& b = report.blocks[k];
    const auto& jb = j.at("blocks")[k];
    BOOST_TEST_CONTEXT(b.name) {
      BOOST_TEST(jb.at("name").get<std::string>() == b.name);
      BOOST_TEST(jb.at("shape") == nlohmann::json::array({b.shape[0], b.shape[1]}));
      BOOST_TEST(jb.at("checked").get<std::size_t>() == b.checked);
      BOOST_TEST(jb.at("relative_error").get<double>() == b.relative_error);
      BOOST_TEST(jb.at("verdict").get<std::string>() == gc::to_string(b.verdict));
      BOOST_TEST(jb.at("diagnosis").get<std::string>() == b.diagnosis);
      BOOST_TEST(jb.at("worst").at("index").get<std::size_t>() == b.worst_index);
      BOOST_TEST(jb.at("worst").at("numeric").get<double>() == b.worst_numeric);
      BOOST_TEST(jb.at("worst").at("analytic").get<double>() == b.worst_analytic);
    }
  }
  const auto& b2 = j.at("blocks")[3];
  BOOST_TEST(b2.at("name").get<std::string>() == "b[2]");
  BOOST_TEST(b2.at("verdict").get<std::string>() == "FAIL");
  BOOST_TEST(b2.at("shape") == nlohmann::json::array({32, 1}));
  BOOST_TEST(b2.at("checked").get<std::size_t>() == 32u);
  BOOST_TEST(b2.at("relative_error").get<double>() > 1e-3);
  BOOST_TEST(contains(b2.at("diagnosis").get<std::string>(), "missing 1/m"));
  BOOST_TEST(j.at("blocks")[2].at("verdict").get<std::string>() == "pass");
}

BOOST_AUTO_TEST_CASE(json_of_a_jacobian_report) {
  const auto report = planted_jacobian(Bug::db_sign);
  const auto j = nlohmann::json::parse(report.to_json().dump());
  BOOST_TEST(j.at("passed").get<bool>() == false);
  BOOST_REQUIRE_EQUAL(j.at("blocks").size(), 3u);
  BOOST_TEST(j.at("blocks")[2].at("name").get<std::string>() == "b");
  BOOST_TEST(j.at("blocks")[2].at("shape") == nlohmann::json::array({12, 3}));
  BOOST_TEST(j.at("blocks")[2].at("checked").get<std::size_t>() == 36u);
  BOOST_TEST(j.at("blocks")[2].at("verdict").get<std::string>() == "FAIL");
  BOOST_TEST(j.at("blocks")[0].at("verdict").get<std::string>() == "pass");
}
