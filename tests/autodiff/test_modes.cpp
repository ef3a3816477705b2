// Modes and gradient semantics: NoGrad scopes, non-trainable parameters, zero_grad, parameters the
// cost does not reach (exactly zero, reached() false), overwrite-not-accumulate parameter
// gradients, seeded backward, frozen tapes, branch reports, Vars of released tapes, and a long chain
// that builds, sweeps and frees without recursion.
#define BOOST_TEST_MODULE autodiff modes
#include <boost/test/unit_test.hpp>

#include <memory>
#include <thread>

#include "fixtures.hpp"

namespace tt = boost::test_tools;
using ad::Tensor;
using ad::Var;
using fixtures::bit_identical;

namespace {

Tensor<double> random(std::size_t rows, std::size_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  return fixtures::uniform(rows, cols, -1, 1, rng);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(grad_mode)

BOOST_AUTO_TEST_CASE(no_grad_scopes_nest_and_restore_the_mode) {
  BOOST_TEST(ad::grad_enabled());
  {
    ad::NoGrad outer;
    BOOST_TEST(!ad::grad_enabled());
    {
      ad::NoGrad inner;
      BOOST_TEST(!ad::grad_enabled());
    }
    BOOST_TEST(!ad::grad_enabled());
  }
  BOOST_TEST(ad::grad_enabled());
}

BOOST_AUTO_TEST_CASE(nodes_built_under_no_grad_need_no_gradient) {
  ad::Parameter<double> W("W[1]", random(2, 3, 1));
  W.grad.fill(42.0);  // stale, from some earlier step
  ad::Tape<double> tape;
  auto w = tape.parameter(W);
  Var<double> J;
  {
    ad::NoGrad no_grad;
    J = ad::sum(ad::square(w));
  }
  BOOST_TEST(tape.needs_grad(w.index()));  // entered with grad on
  BOOST_TEST(!tape.needs_grad(J.index()));
  tape.backward(J);
  BOOST_TEST(!tape.reached(W));
  BOOST_TEST(W.grad == xt::zeros<double>({2, 3}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(a_parameter_first_used_under_no_grad_still_trains_when_used_with_grad_on) {
  ad::Parameter<double> W("W[1]", random(2, 3, 2));
  ad::Tape<double> tape;
  {
    ad::NoGrad evaluation;
    ad::sum(tape.parameter(W));
  }
  tape.backward(ad::sum(ad::square(tape.parameter(W))));
  BOOST_TEST(tape.reached(W));
  BOOST_TEST(W.grad == Tensor<double>(2.0 * W.value), tt::tolerance(1e-15) << tt::per_element());

  // The same through a Var obtained under NoGrad and used afterwards.
  ad::Parameter<double> V("W[2]", random(2, 3, 3));
  ad::Tape<double> other;
  Var<double> v;
  {
    ad::NoGrad evaluation;
    v = other.parameter(V);
  }
  other.backward(ad::sum(ad::square(v)));
  BOOST_TEST(V.grad == Tensor<double>(2.0 * V.value), tt::tolerance(1e-15) << tt::per_element());
}

BOOST_AUTO_TEST_CASE(grad_mode_is_per_thread) {
  ad::NoGrad here;
  bool other_thread_enabled = false;
  std::thread([&] { other_thread_enabled = ad::grad_enabled(); }).join();
  BOOST_TEST(other_thread_enabled);
  BOOST_TEST(!ad::grad_enabled());
}

BOOST_AUTO_TEST_CASE(a_non_trainable_parameter_gets_no_gradient) {
  ad::Parameter<double> W("W[1]", random(2, 3, 3)), frozen("gamma[1]", random(2, 3, 4));
  frozen.trainable = false;
  ad::Tape<double> tape;
  auto f = tape.parameter(frozen);
  auto only_frozen = ad::exp(f);
  tape.backward(ad::sum(ad::mul(tape.parameter(W), only_frozen)));
  BOOST_TEST(!tape.needs_grad(only_frozen.index()));
  BOOST_TEST(!tape.reached(frozen));
  BOOST_TEST(frozen.grad == xt::zeros<double>({2, 3}), tt::per_element());
  BOOST_TEST(W.grad == only_frozen.value(), tt::per_element());
}

BOOST_AUTO_TEST_CASE(detach_follows_replayed_values) {
  ad::Parameter<double> W("W[1]", Tensor<double>{{1.0, 2.0}});
  ad::Tape<double> tape;
  auto w = tape.parameter(W);
  auto d = ad::detach(w);
  auto J = ad::sum(ad::mul(d, w));  // dJ/dW = detach(W) = W, not 2W
  W.value = Tensor<double>{{3.0, -4.0}};
  tape.forward();
  tape.backward(J);
  BOOST_TEST(d.value() == W.value, tt::per_element());
  BOOST_TEST(W.grad == W.value, tt::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gradient_semantics)

BOOST_AUTO_TEST_CASE(zero_grad_clears_parameter_and_node_gradients) {
  ad::Parameter<double> W("W[1]", random(2, 3, 5));
  ad::Tape<double> tape;
  auto h = ad::tanh(tape.parameter(W));
  tape.backward(ad::sum(h));
  BOOST_TEST(xt::amax(xt::abs(W.grad))() > 0.0);
  tape.zero_grad();
  BOOST_TEST(W.grad == xt::zeros<double>({2, 3}), tt::per_element());
  BOOST_TEST(h.grad() == xt::zeros<double>({2, 3}), tt::per_element());
  BOOST_TEST(!tape.reached(W));
}

BOOST_AUTO_TEST_CASE(a_parameter_that_does_not_reach_the_cost_gets_exactly_zero) {
  ad::Parameter<double> used("W[1]", random(2, 2, 6)), unused("W[2]", random(2, 2, 7)), elsewhere("W[3]", random(1, 1, 8));
  ad::Tape<double> tape;
  auto a = tape.parameter(used), b = tape.parameter(unused);
  auto J1 = ad::sum(ad::mul(a, b)), J2 = ad::sum(ad::exp(a));
  tape.backward(J1);
  BOOST_TEST(tape.reached(unused));
  tape.backward(J2);  // W[2] was reached by the previous backward, not by this one
  BOOST_TEST(tape.reached(used));
  BOOST_TEST(!tape.reached(unused));
  BOOST_TEST(!tape.reached(elsewhere));  // not on this tape at all
  BOOST_TEST(unused.grad == xt::zeros<double>({2, 2}), tt::per_element());
  BOOST_TEST(b.grad() == xt::zeros<double>({2, 2}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(repeated_backward_overwrites_parameter_gradients) {
  ad::Parameter<double> W("W[1]", random(3, 2, 9));
  ad::Tape<double> tape;
  auto w = tape.parameter(W);
  auto J = ad::sum(ad::mul(ad::tanh(w), w));  // w feeds two operations: node gradients accumulate within a sweep
  tape.backward(J);
  const Tensor<double> first = W.grad, node_first = w.grad();
  tape.backward(J);
  tape.backward(J);
  BOOST_TEST(bit_identical(W.grad, first));
  BOOST_TEST(bit_identical(w.grad(), node_first));
}

BOOST_AUTO_TEST_CASE(seeded_backward_is_linear_in_the_seed) {
  ad::Parameter<double> W("W[1]", random(3, 2, 10)), X("X", random(2, 4, 11));
  ad::Tape<double> tape;
  auto Y = ad::tanh(ad::matmul(tape.parameter(W), tape.parameter(X)));
  const Tensor<double> s1 = random(3, 4, 12), s2 = random(3, 4, 13);
  tape.backward(Y, s1);
  const Tensor<double> g1 = W.grad, h1 = X.grad;
  tape.backward(Y, s2);
  const Tensor<double> g2 = W.grad, h2 = X.grad;
  tape.backward(Y, Tensor<double>(2.0 * s1 - 3.0 * s2));
  BOOST_TEST(W.grad == Tensor<double>(2.0 * g1 - 3.0 * g2), tt::tolerance(1e-12) << tt::per_element());
  BOOST_TEST(X.grad == Tensor<double>(2.0 * h1 - 3.0 * h2), tt::tolerance(1e-12) << tt::per_element());
}

BOOST_AUTO_TEST_CASE(a_scalar_cost_is_seeded_with_one) {
  ad::Parameter<double> W("W[1]", random(3, 2, 14));
  ad::Tape<double> tape;
  auto J = ad::sum(ad::exp(tape.parameter(W)));
  tape.backward(J);
  const Tensor<double> implicit = W.grad;
  tape.backward(J, Tensor<double>{{1.0}});
  BOOST_TEST(bit_identical(W.grad, implicit));
}

BOOST_AUTO_TEST_CASE(a_hundred_thousand_node_chain_builds_sweeps_and_frees_without_recursion) {
  constexpr int n = 100000;
  ad::Parameter<double> x("x", Tensor<double>{{0.5}});
  {
    ad::Tape<double> tape;
    auto v = tape.parameter(x);
    for (int i = 0; i < n; ++i) v = ad::add_scalar(v, 1.0);
    BOOST_TEST(tape.size() == std::size_t(n) + 1);
    BOOST_TEST(v.value()(0, 0) == n + 0.5);
    tape.backward(v);
    BOOST_TEST(x.grad(0, 0) == 1.0);
    x.value(0, 0) = 1.5;
    tape.forward();
    BOOST_TEST(v.value()(0, 0) == n + 1.5);
  }  // the tape, and its 100001 nodes, are freed here
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tape_state)

BOOST_AUTO_TEST_CASE(frozen_dropout_reuses_its_mask_and_unfrozen_draws_a_new_one) {
  ad::Tape<double> tape;
  tape.seed(123);
  auto y = ad::dropout(tape.input("X", xt::ones<double>({8, 16})), 0.5);
  const Tensor<double> first = y.value();
  tape.set_frozen(true);
  BOOST_TEST(tape.frozen());
  tape.forward();
  BOOST_TEST(bit_identical(y.value(), first));
  tape.set_frozen(false);
  tape.forward();
  BOOST_TEST(!bit_identical(y.value(), first));  // 128 fair coin flips all equal: 2^-128

  // The same seed gives the same masks.
  ad::Tape<double> again;
  again.seed(123);
  BOOST_TEST(bit_identical(ad::dropout(again.input("X", xt::ones<double>({8, 16})), 0.5).value(), first));
}

BOOST_AUTO_TEST_CASE(branches_report_the_side_of_every_kink) {
  ad::Tape<double> tape;
  auto x = tape.input("X", Tensor<double>{{-1.0, 0.0, 2.0}});
  ad::tanh(x);
  BOOST_TEST(!tape.has_branches());  // smooth operations report nothing
  ad::relu(x);
  BOOST_TEST(tape.has_branches());
  std::vector<std::uint8_t> bytes;
  tape.branches(bytes);
  BOOST_TEST(bytes == (std::vector<std::uint8_t>{0, 1, 2}), tt::per_element());

  ad::clip(tape.input("Y", Tensor<double>{{-2.0, -1.0, 0.0, 1.0, 2.0}}), -1.0, 1.0);
  ad::maximum(x, tape.constant(Tensor<double>{{0.0, 0.0, 5.0}}));
  tape.branches(bytes);  // relu, then clip, then maximum: creation order
  BOOST_TEST(bytes == (std::vector<std::uint8_t>{0, 1, 2, 0, 1, 2, 3, 4, 0, 1, 0}), tt::per_element());

  // A changed input moves a relu element across its kink, and the report shows it.
  tape.feed(x, Tensor<double>{{1.0, 0.0, 2.0}});
  tape.forward();
  tape.branches(bytes);
  BOOST_TEST(bytes[0] == 2);
}

BOOST_AUTO_TEST_CASE(vars_of_tapes_released_out_of_order_are_refused_and_the_others_still_work) {
  auto first = std::make_unique<ad::Tape<double>>();
  auto second = std::make_unique<ad::Tape<double>>();
  const auto a = first->constant(Tensor<double>{{1.0}});
  const auto b = second->constant(Tensor<double>{{2.0}});
  first.reset();  // not the most recent one
  BOOST_CHECK_THROW(a.value(), ad::TapeError);
  BOOST_TEST(b.value()(0, 0) == 2.0);
  auto third = std::make_unique<ad::Tape<double>>();  // may reuse what the first tape freed
  const auto c = third->constant(Tensor<double>{{3.0}});
  BOOST_CHECK_THROW(a.value(), ad::TapeError);
  BOOST_TEST(c.value()(0, 0) == 3.0);
  second.reset();
  BOOST_CHECK_THROW(b.value(), ad::TapeError);
  BOOST_TEST(c.value()(0, 0) == 3.0);
}

BOOST_AUTO_TEST_SUITE_END()
