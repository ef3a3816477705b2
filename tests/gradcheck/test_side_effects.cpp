// A gradient check leaves the model exactly as it found it, and can check what training uses:
// - parameter values and gradients bit-identical after the check (passing or failing, in every
//   mode, and when the check ends in an exception), the tape's frozen flag and random state as
//   they were, the recorded values (dropout masks, the cost) as they were;
// - dropout masks are frozen during the check, so a network with dropout is deterministic and
//   passes; batch-norm running statistics are not moved by the check (an op on a tape, an nn
//   model on its own tape, and nn::check_gradients);
// - the closure form likewise: its evaluations are frozen (batch-norm statistics held) and the
//   parameters are put back even when `build` throws halfway;
// - a failure found in directional mode is localised to its block;
// - a float graph is checked at ε = 1e-2 with a note saying so: a correct float MLP passes and a
//   planted bug in float still fails in its block.
#define BOOST_TEST_MODULE gradcheck side effects
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include <gradcheck/boost_test.hpp>
#include <gradcheck/gradcheck.hpp>
#include <nn/nn.hpp>

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

// Bit for bit (memcmp), so that even −0.0 against 0.0 or a changed NaN payload would count.
template <class T>
bool bit_identical(const ad::Tensor<T>& a, const ad::Tensor<T>& b) {
  return ad::shape_of(a) == ad::shape_of(b) && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Everything of a set of parameters a check could touch.
template <class T>
struct Snapshot {
  std::vector<ad::Parameter<T>*> params;
  std::vector<ad::Tensor<T>> values, grads;
  explicit Snapshot(std::vector<ad::Parameter<T>*> ps) : params(std::move(ps)) {
    for (auto* p : params) {
      values.push_back(p->value);
      grads.push_back(p->grad);
    }
  }
  void expect_unchanged() const {
    for (std::size_t k = 0; k < params.size(); ++k) {
      BOOST_TEST(bit_identical(params[k]->value, values[k]), "value of " << params[k]->name);
      BOOST_TEST(bit_identical(params[k]->grad, grads[k]), "gradient of " << params[k]->name);
    }
  }
};

// Gradients that a check's own backward would not reproduce: those of a seed of 3.
template <class T>
void stale_gradients(ad::Tape<T>& tape, ad::Var<T> J) {
  tape.backward(J, ad::Tensor<T>{{T(3)}});
}

// The planted MLP with dropout after both hidden layers.
struct DropoutMlp {
  planted::Mlp<double> mlp;
  ad::Var<double> J, mask1, mask2;  // mask*: the dropout nodes (their values show the masks)

  explicit DropoutMlp(ad::Tape<double>& tape) {
    auto A = tape.constant(mlp.X, "X");
    A = ad::linear(tape.parameter(mlp.W1), A, tape.parameter(mlp.b1), ad::Activation::tanh);
    mask1 = A = ad::dropout(A, 0.8);
    A = ad::linear(tape.parameter(mlp.W2), A, tape.parameter(mlp.b2), ad::Activation::tanh);
    mask2 = A = ad::dropout(A, 0.7);
    A = ad::linear(tape.parameter(mlp.W3), A, tape.parameter(mlp.b3));
    J = ad::softmax_cross_entropy(A, tape.constant(mlp.Y, "Y"));
  }
};

// A training-mode batch norm of Z, then tanh and a weighted sum: recording or replaying it on an
// unfrozen tape moves the running statistics.
struct BatchNormCost {
  nn::BatchNormState<double> state;
  ad::Parameter<double> Z{"Z[1]", planted::Mlp<double>::random(3, 5, 41, 1.0)};
  ad::Parameter<double> gamma{"gamma[1]", ad::Tensor<double>{{1.2}, {0.8}, {1.5}}};
  ad::Parameter<double> beta{"beta[1]", ad::Tensor<double>{{0.1}, {-0.3}, {0.2}}};
  ad::Tensor<double> weights = planted::Mlp<double>::random(3, 5, 42, 1.0);

  BatchNormCost() {
    state.running_mean = ad::Tensor<double>{{0.1}, {-0.2}, {0.3}};
    state.running_var = ad::Tensor<double>{{1.1}, {0.9}, {1.3}};
  }
  ad::Var<double> record(ad::Tape<double>& tape) {
    auto Y = nn::batch_norm(tape.parameter(Z), tape.parameter(gamma), tape.parameter(beta), state, true);
    return ad::sum(ad::mul(ad::tanh(Y), tape.constant(weights)));
  }
  std::vector<ad::Parameter<double>*> parameters() { return {&Z, &gamma, &beta}; }
};


}  // namespace

BOOST_AUTO_TEST_CASE(values_and_gradients_are_bit_identical_after_a_check) {
  // A correct model and one with planted bugs (a failing block is swept over ε, gets a Taylor
  // slope and, being square, a transposed-gradient probe: the most perturbing paths), in each mode.
  planted::Plan buggy;
  buggy.layer[2] = Bug::dW_transposed;
  buggy.layer[3] = Bug::db_sign;
  for (const planted::Plan* plan : std::vector<const planted::Plan*>{nullptr, &buggy}) {
    for (auto mode : {gc::Mode::all, gc::Mode::sampled, gc::Mode::directional, gc::Mode::probes}) {
      BOOST_TEST_CONTEXT((plan ? "planted bugs" : "correct") << ", mode " << gc::to_string(mode)) {
        planted::Mlp<double> mlp;
        ad::Tape<double> tape;
        auto J = mlp.cost(tape, plan ? *plan : planted::Plan{});
        stale_gradients(tape, J);
        const Snapshot<double> before(mlp.parameters());
        const ad::Tensor<double> cost_before = tape.value(J.index());
        gc::Options o;
        o.mode = mode;
        o.seed = 5;
        const auto report = gc::check(tape, J, mlp.parameters(), o);
        BOOST_TEST(report.passed() == (plan == nullptr));
        before.expect_unchanged();
        BOOST_TEST(bit_identical(tape.value(J.index()), cost_before));  // the recorded values too
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(checking_some_blocks_leaves_the_others_gradients_alone) {
  // Only W[2] is checked, but the check's backward sweeps the whole tape: the gradients of the
  // five parameters not checked are the model's too, and must be left as found.
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  auto J = mlp.cost(tape);
  stale_gradients(tape, J);
  const Snapshot<double> before(mlp.parameters());
  const auto report = gc::check(tape, J, {&mlp.W2});
  BOOST_TEST(report.passed());
  BOOST_TEST(report.blocks.size() == 1u);
  before.expect_unchanged();
}

BOOST_AUTO_TEST_CASE(the_closure_form_leaves_the_others_gradients_alone) {
  // The same for the closure form: only W[1] and W[3] are checked; b[1], W[2], b[2] and b[3] are
  // used by the closure too, and their gradients are the model's.
  planted::Mlp<double> mlp;
  {
    ad::Tape<double> tape;
    stale_gradients(tape, mlp.cost(tape));
  }
  const Snapshot<double> before(mlp.parameters());
  const auto report = gc::check([&](ad::Tape<double>& tape) { return mlp.cost(tape); }, {&mlp.W1, &mlp.W3});
  BOOST_TEST(report.passed());
  before.expect_unchanged();
}

BOOST_AUTO_TEST_CASE(a_directional_failure_is_localised_to_its_block) {
  // Directional mode compares one number per block; a failing block is then checked element by
  // element, so the planted bug is named in its own block and diagnosed, and no other block fails.
  for (auto [layer, bug, block, diagnosis] : {std::tuple{2, Bug::dW_transposed, "W[2]", "transpose"},
                                              std::tuple{3, Bug::db_sign, "b[3]", "sign flip"},
                                              std::tuple{1, Bug::db_times_m, "b[1]", "missing 1/m"}}) {
    BOOST_TEST_CONTEXT(block) {
      planted::Mlp<double> mlp;
      ad::Tape<double> tape;
      gc::Options o;
      o.mode = gc::Mode::directional;
      o.seed = 5;
      const auto report = gc::check(tape, mlp.cost(tape, planted::plant(layer, bug)), mlp.parameters(), o);
      expect_only(report, block, diagnosis);
      for (const auto& b : report.blocks)  // the passing blocks were compared along one direction only
        BOOST_TEST(b.directional == (b.name != block), b.name);
      BOOST_TEST(any_contains(report.block(block)->warnings, "directional error"));
    }
  }
}

BOOST_AUTO_TEST_CASE(the_frozen_flag_is_restored) {
  for (bool frozen : {false, true}) {
    BOOST_TEST_CONTEXT("frozen " << frozen) {
      planted::Mlp<double> mlp;
      ad::Tape<double> tape;
      auto J = mlp.cost(tape);
      tape.set_frozen(frozen);
      GRADCHECK_CHECK(gc::check(tape, J, mlp.parameters()));
      BOOST_TEST(tape.frozen() == frozen);
      // Also after a failing check.
      ad::Tape<double> failing;
      auto K = mlp.cost(failing, planted::plant(1, Bug::db_times_m));
      failing.set_frozen(frozen);
      BOOST_TEST(!gc::check(failing, K, mlp.parameters()).passed());
      BOOST_TEST(failing.frozen() == frozen);
    }
  }
}

BOOST_AUTO_TEST_CASE(dropout_is_frozen_during_the_check_and_the_network_passes) {
  ad::Tape<double> tape;  // not frozen: a training tape, each forward draws new masks
  DropoutMlp net(tape);
  // The premise: unfrozen, a replay draws new masks and the cost changes at a fixed θ.
  {
    ad::Tape<double> probe;
    DropoutMlp other(probe);
    const double first = other.J.value()(0, 0);
    probe.forward();
    BOOST_TEST(other.J.value()(0, 0) != first);
  }
  stale_gradients(tape, net.J);
  const Snapshot<double> before(net.mlp.parameters());
  const ad::Tensor<double> mask1 = net.mask1.value(), mask2 = net.mask2.value(), cost = net.J.value();
  const std::mt19937_64 rng_before = tape.rng();

  const auto report = gc::check(tape, net.J, net.mlp.parameters());
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(report.deterministic);
  GRADCHECK_CHECK(report);
  BOOST_TEST(report.relative_error < 1e-7);
  for (const auto& b : report.blocks) BOOST_TEST(b.verdict == gc::Verdict::pass, b.name);

  // Left as found: the masks, the cost, the parameters, the flag, the random state.
  before.expect_unchanged();
  BOOST_TEST(bit_identical(net.mask1.value(), mask1));
  BOOST_TEST(bit_identical(net.mask2.value(), mask2));
  BOOST_TEST(bit_identical(net.J.value(), cost));
  BOOST_TEST(!tape.frozen());
  BOOST_TEST((tape.rng() == rng_before));
  std::mt19937_64 copy = rng_before;
  for (int k = 0; k < 4; ++k) BOOST_TEST(tape.rng()() == copy());
}

BOOST_AUTO_TEST_CASE(the_next_training_forward_draws_as_if_unchecked) {
  // The next training forward after a check draws exactly the masks it would have drawn without
  // the check: compare with an identical tape that was never checked.
  ad::Tape<double> checked, unchecked;
  DropoutMlp a(checked), b(unchecked);
  gc::check(checked, a.J, a.mlp.parameters());
  checked.forward();
  unchecked.forward();
  BOOST_TEST(bit_identical(a.mask1.value(), b.mask1.value()));
  BOOST_TEST(bit_identical(a.mask2.value(), b.mask2.value()));
  BOOST_TEST(bit_identical(a.J.value(), b.J.value()));
}

BOOST_AUTO_TEST_CASE(batch_norm_statistics_are_not_moved_by_the_check) {
  // A training-mode batch norm on an unfrozen tape moves its running statistics at every forward;
  // the check's thousands of forwards must not.
  BatchNormCost bn;
  ad::Tape<double> tape;
  auto J = bn.record(tape);
  const ad::Tensor<double> mean = bn.state.running_mean, var = bn.state.running_var;  // after the recording forward

  const auto report = gc::check(tape, J, bn.parameters());
  BOOST_TEST_MESSAGE(report.table());
  GRADCHECK_CHECK(report);
  BOOST_TEST(bit_identical(bn.state.running_mean, mean));
  BOOST_TEST(bit_identical(bn.state.running_var, var));
  // The premise: the same tape, unfrozen, does move them on a forward.
  tape.forward();
  BOOST_TEST(!bit_identical(bn.state.running_mean, mean));
}

BOOST_AUTO_TEST_CASE(the_closure_form_does_not_move_batch_norm_statistics) {
  // The closure form records a new tape for every evaluation: each must be frozen, as the tape
  // form's replays are.
  BatchNormCost bn;
  const ad::Tensor<double> mean = bn.state.running_mean, var = bn.state.running_var;
  const auto report = gc::check([&](ad::Tape<double>& tape) { return bn.record(tape); }, bn.parameters());
  BOOST_TEST_MESSAGE(report.table());
  GRADCHECK_CHECK(report);
  BOOST_TEST(bit_identical(bn.state.running_mean, mean));
  BOOST_TEST(bit_identical(bn.state.running_var, var));
  // The premise: recording it unfrozen once moves them.
  {
    ad::Tape<double> tape;
    bn.record(tape);
  }
  BOOST_TEST(!bit_identical(bn.state.running_mean, mean));
}

BOOST_AUTO_TEST_CASE(an_nn_model_is_left_as_found) {
  // Dense → BatchNorm → relu → Dropout → Dense, training mode, on the model's own unfrozen tape,
  // then through nn::check_gradients (which checks a double copy).
  nn::Sequential<double> model;
  model.dense(6).batch_norm().activation(nn::Activation::tanh).dropout(0.8).dense(3);
  model.build(4, 3);
  nn::Dataset<double> data;
  data.x = planted::Mlp<double>::random(8, 4, 51, 1.0);
  data.y = xt::zeros<double>({8, 3});
  for (std::size_t i = 0; i < 8; ++i) data.y(i, i % 3) = 1;
  std::vector<std::vector<double>> buffers;
  auto snapshot_buffers = [&] {
    std::vector<std::vector<double>> out;
    for (const auto& b : model.buffers()) out.emplace_back(b.value->begin(), b.value->end());
    return out;
  };
  BOOST_REQUIRE(!model.buffers().empty());

  ad::Tape<double> tape;
  auto X = tape.input("X", xt::eval(xt::transpose(data.x)));
  auto Y = tape.input("Y", xt::eval(xt::transpose(data.y)));
  auto J = nn::cost(nn::Loss::softmax_cross_entropy, model.forward(tape, X, nn::Mode::train), Y, model.weights(), 0.1);
  stale_gradients(tape, J);
  buffers = snapshot_buffers();
  const Snapshot<double> before(model.parameters());
  GRADCHECK_CHECK(gc::check(tape, J, model.parameters()));
  BOOST_TEST((snapshot_buffers() == buffers));
  before.expect_unchanged();

  std::vector<std::size_t> batch{0, 1, 2, 3, 4, 5, 6, 7};
  GRADCHECK_CHECK(nn::check_gradients(model, nn::Loss::softmax_cross_entropy, data, batch, 0.1));
  BOOST_TEST((snapshot_buffers() == buffers));
  before.expect_unchanged();
}

namespace {

// The identity, whose forward throws from its `fuse`-th run on: a check interrupted halfway.
int fuse = 0;
struct Fuse {
  static void forward(ad::Tape<double>& t, ad::Node<double>& n) {
    if (--fuse == 0) throw ad::Error("fuse: blown");
    n.value = t.value(n.parents[0]);
  }
  static void backward(ad::Tape<double>& t, ad::Node<double>& n) {
    t.sink(n.parents[0]).add(n.grad);
  }
  static constexpr ad::OpDef<double> def{"fuse", forward, backward};
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_model_is_left_as_found_when_the_check_throws) {
  planted::Mlp<double> mlp;
  ad::Tape<double> tape;
  auto J0 = mlp.cost(tape);
  fuse = 1000000;
  auto J = ad::Var<double>(&tape, tape.record(Fuse::def, {J0.index()}, std::source_location::current()));
  stale_gradients(tape, J);
  const Snapshot<double> before(mlp.parameters());
  fuse = 500;  // blows in the middle of W[1]'s elements
  BOOST_CHECK_THROW(gc::check(tape, J, mlp.parameters()), ad::Error);
  before.expect_unchanged();
  BOOST_TEST(!tape.frozen());
}

BOOST_AUTO_TEST_CASE(the_closure_form_leaves_the_model_as_found_when_build_throws) {
  planted::Mlp<double> mlp;
  {
    ad::Tape<double> tape;
    stale_gradients(tape, mlp.cost(tape));
  }
  const Snapshot<double> before(mlp.parameters());
  int builds = 0;
  auto build = [&](ad::Tape<double>& tape) {
    if (++builds == 500) throw ad::Error("build: blown");  // in the middle of W[1]'s elements
    return mlp.cost(tape);
  };
  BOOST_CHECK_THROW(gc::check(build, mlp.parameters()), ad::Error);
  BOOST_TEST(builds == 500);
  before.expect_unchanged();
}

BOOST_AUTO_TEST_CASE(a_float_graph_is_checked_with_a_note) {
  planted::Mlp<float> mlp;
  ad::Tape<float> tape;
  auto J = mlp.cost(tape);
  stale_gradients(tape, J);
  const Snapshot<float> before(mlp.parameters());
  const auto report = gc::check(tape, J, mlp.parameters());
  BOOST_TEST_MESSAGE(report.table());
  GRADCHECK_CHECK(report);
  BOOST_TEST(any_contains(report.notes, "float"));
  BOOST_TEST(any_contains(report.notes, "ε=1e-2"));
  BOOST_TEST(contains(report.table(), "note: float graph"));
  BOOST_TEST(report.options.eps == 1e-2);  // the step the report's numbers were taken at
  before.expect_unchanged();
  // The thresholds are scaled for float so that a correct float model passes: every block of it,
  // not only the report as a whole ("warning" means "look closer", which a right gradient must
  // not ask for).
  for (const auto& b : report.blocks) {
    BOOST_TEST_CONTEXT(b.name) {
      BOOST_TEST(b.verdict != gc::Verdict::fail);
      BOOST_TEST(b.verdict == gc::Verdict::pass, "relative error " << b.relative_error);
    }
  }

  // A double graph gets no such note.
  planted::Mlp<double> double_mlp;
  ad::Tape<double> double_tape;
  BOOST_TEST(gc::check(double_tape, double_mlp.cost(double_tape), double_mlp.parameters()).notes.empty());
}

BOOST_AUTO_TEST_CASE(a_planted_bug_in_a_float_graph_still_fails) {
  // The coarser step and thresholds must not hide a real bug: the planted block fails, no other.
  for (auto [layer, bug, block] : {std::tuple{1, Bug::db_sign, "b[1]"}, std::tuple{2, Bug::dW_times_m, "W[2]"},
                                   std::tuple{2, Bug::db_wrong, "b[2]"}}) {
    BOOST_TEST_CONTEXT(block) {
      planted::Mlp<float> mlp;
      ad::Tape<float> tape;
      const auto report = gc::check(tape, mlp.cost(tape, planted::plant(layer, bug)), mlp.parameters());
      BOOST_TEST_MESSAGE(report.table());
      BOOST_TEST(!report.passed());
      BOOST_TEST(any_contains(report.notes, "float"));
      std::string not_a_number;
      for (const auto& b : report.blocks) {
        BOOST_TEST((b.verdict == gc::Verdict::fail) == (b.name == block), b.name << ": " << b.verdict);
        for (auto [eps, error] : b.eps_sweep)
          if (!std::isfinite(error)) not_a_number += fmt::format(" {} at ε={:.0e};", b.name, eps);
      }
      // The ε sweep reports numbers: a step too small for float to represent θ ± h must not give
      // a NaN in the table (and a null in the JSON).
      BOOST_TEST(not_a_number.empty(), "NaN relative errors in the ε sweep:" << not_a_number);
    }
  }
}
