// Replay: a recorded tape run again with new inputs (feed) and changed parameter values must give
// exactly, bit for bit, what a fresh build of the same graph gives; the column count (batch size)
// may change between runs; a replay with unchanged shapes writes into the buffers of the first run;
// and a closure that rebuilds the graph every step stays equivalent.
#define BOOST_TEST_MODULE autodiff replay
#include <boost/test/unit_test.hpp>

#include <cstdlib>

#include <xtensor/xnoalias.hpp>

#include "allocation_counter.hpp"
#include "fixtures.hpp"


using ad::Activation;
using ad::Tensor;
using ad::Var;
using fixtures::bit_identical;

namespace {

constexpr std::size_t n_x = 3, classes = 4;

struct Model {
  ad::Parameter<double> W1, b1, W2, b2, W3, b3;
  explicit Model(unsigned seed) : W1("W[1]", {}), b1("b[1]", {}), W2("W[2]", {}), b2("b[2]", {}), W3("W[3]", {}), b3("b[3]", {}) {
    randomize(seed);
  }
  std::vector<ad::Parameter<double>*> all() { return {&W1, &b1, &W2, &b2, &W3, &b3}; }
  void randomize(unsigned seed) {
    std::mt19937 rng(seed);
    const std::size_t shapes[6][2] = {{6, n_x}, {6, 1}, {5, 6}, {5, 1}, {classes, 11}, {classes, 1}};
    auto params = all();
    for (int k = 0; k < 6; ++k) params[k]->value = fixtures::uniform(shapes[k][0], shapes[k][1], -1, 1, rng);
  }
};

struct Graph {
  Var<double> X, Y, J;  // the two placeholders and the cost
};

// A graph exercising many operations: relu and linear layers, a broadcast add, concat, slices,
// reductions along an axis, softmax cross-entropy and an L2 term.
Graph build(ad::Tape<double>& tape, Model& m, const Tensor<double>& X, const Tensor<double>& Y) {
  auto x = tape.input("X", X);
  auto y = tape.input("Y", Y);
  auto h1 = ad::linear(tape.parameter(m.W1), x, tape.parameter(m.b1), Activation::relu);
  auto h2 = ad::tanh(ad::add(ad::matmul(tape.parameter(m.W2), h1), tape.parameter(m.b2)));
  auto z = ad::linear(tape.parameter(m.W3), ad::concat<double>({h2, h1}, 0), tape.parameter(m.b3));
  auto spread = ad::mean(ad::square(ad::slice_rows(h2, 1, 4)), 1, false);
  auto l2 = ad::mul_scalar(ad::sum(ad::square(tape.parameter(m.W1))), 1e-3);
  return {x, y, ad::add(ad::add(ad::softmax_cross_entropy(z, y), l2), ad::mul_scalar(ad::sum(spread), 0.1))};
}

struct Batch {
  Tensor<double> X, Y;
  Batch(std::size_t m, unsigned seed) {
    std::mt19937 rng(seed);
    X = fixtures::uniform(n_x, m, -2, 2, rng);
    Y = xt::zeros<double>({classes, m});
    for (std::size_t j = 0; j < m; ++j) Y(rng() % classes, j) = 1;
  }
};

// Every node's value and gradient, and every parameter's gradient, the same bits in both tapes.
void check_identical(ad::Tape<double>& replayed, Model& a, ad::Tape<double>& fresh, Model& b) {
  BOOST_TEST_REQUIRE(replayed.size() == fresh.size());
  for (std::uint32_t i = 0; i < replayed.size(); ++i) {
    BOOST_TEST_CONTEXT("node " << replayed.describe(i)) {
      BOOST_TEST(bit_identical(replayed.value(i), fresh.value(i)));
      BOOST_TEST(bit_identical(replayed.grad(i), fresh.grad(i)));
    }
  }
  auto pa = a.all(), pb = b.all();
  for (std::size_t k = 0; k < pa.size(); ++k) BOOST_TEST(bit_identical(pa[k]->grad, pb[k]->grad), pa[k]->name);
}

}  // namespace

BOOST_AUTO_TEST_CASE(replay_with_new_inputs_and_parameters_is_bit_identical_to_a_fresh_build) {
  Model replayed_model(1), fresh_model(2);
  const Batch first(6, 10), second(6, 11);
  ad::Tape<double> tape;
  auto [X, Y, J] = build(tape, replayed_model, first.X, first.Y);
  tape.backward(J);

  replayed_model.randomize(2);  // now the fresh model's values
  tape.feed(X, second.X);
  tape.feed(Y, second.Y);
  tape.forward();
  tape.backward(J);

  ad::Tape<double> fresh;
  fresh.backward(build(fresh, fresh_model, second.X, second.Y).J);
  check_identical(tape, replayed_model, fresh, fresh_model);
}

BOOST_AUTO_TEST_CASE(replay_with_a_different_batch_size_and_back) {
  Model replayed_model(3), fresh_model(3);
  const Batch small(6, 12), large(9, 13);
  ad::Tape<double> tape;
  auto [X, Y, J] = build(tape, replayed_model, small.X, small.Y);
  for (const Batch* batch : {&large, &small, &large}) {
    BOOST_TEST_CONTEXT(batch->X.shape()[1] << " columns") {
      tape.feed(X, batch->X);
      tape.feed(Y, batch->Y);
      tape.forward();
      tape.backward(J);
      BOOST_TEST(J.value().size() == 1u);
      ad::Tape<double> fresh;
      fresh.backward(build(fresh, fresh_model, batch->X, batch->Y).J);
      check_identical(tape, replayed_model, fresh, fresh_model);
    }
  }
}

BOOST_AUTO_TEST_CASE(replay_with_unchanged_shapes_reuses_every_buffer_and_allocates_nothing) {
  Model model(4);
  const Batch first(8, 14), second(8, 15);
  ad::Tape<double> tape;
  auto [X, Y, J] = build(tape, model, first.X, first.Y);
  tape.backward(J);  // the first backward sizes the gradients

  auto buffers = [&] {
    std::vector<const void*> p;
    for (std::uint32_t i = 0; i < tape.size(); ++i) {
      const ad::Node<double>& n = tape.node(i);
      p.insert(p.end(), {tape.value(i).data(), tape.grad(i).data(), n.scratch.data()});
      for (const auto& s : n.saved) p.push_back(s.data());
    }
    return p;
  };
  const std::vector<const void*> before = buffers();
  const auto params = model.all();
  for (int step = 0; step < 3; ++step) {
    const Batch& batch = step % 2 ? first : second;
    const std::size_t allocated = allocation_counter::operator_new_calls();
    tape.feed(X, batch.X);
    tape.feed(Y, batch.Y);
    tape.forward();
    tape.backward(J);
    for (auto* p : params) xt::noalias(p->value) -= 0.1 * p->grad;  // plain -= would swap in a new buffer
    const std::size_t during = allocation_counter::operator_new_calls() - allocated;
    BOOST_TEST(during == 0u, "a replayed training step called operator new " << during << " times");
    const auto after = buffers();
    for (std::size_t k = 0; k < after.size(); ++k) BOOST_TEST(after[k] == before[k], "buffer " << k << " moved during replay");
  }
}

BOOST_AUTO_TEST_CASE(input_buffer_is_filled_in_place) {
  Model model(5);
  const Batch batch(4, 16), other(4, 17);
  ad::Tape<double> tape;
  auto [X, Y, J] = build(tape, model, batch.X, batch.Y);
  const double* where = X.value().data();
  Tensor<double>& buffer = tape.input_buffer(X, {n_x, 4});
  BOOST_TEST(buffer.data() == where);
  std::copy(other.X.begin(), other.X.end(), buffer.begin());
  tape.feed(Y, other.Y);
  tape.forward();

  Model same(5);
  ad::Tape<double> fresh;
  BOOST_TEST(bit_identical(J.value(), build(fresh, same, other.X, other.Y).J.value()));
}

BOOST_AUTO_TEST_CASE(a_closure_rebuilding_the_graph_each_step_trains_exactly_like_replay) {
  Model replayed_model(6), rebuilt_model(6);
  std::vector<Batch> batches;
  for (unsigned k = 0; k < 5; ++k) batches.emplace_back(k == 4 ? 3 : 7, 20 + k);  // the last one partial

  ad::Tape<double> tape;
  auto [X, Y, J] = build(tape, replayed_model, batches[0].X, batches[0].Y);
  // The closure: a new tape per call, released when it returns.
  auto rebuilt_step = [&](const Batch& batch) {
    ad::Tape<double> fresh;
    auto K = build(fresh, rebuilt_model, batch.X, batch.Y).J;
    fresh.backward(K);
    return K.value()(0, 0);
  };
  for (int epoch = 0; epoch < 3; ++epoch)
    for (const Batch& batch : batches) {
      tape.feed(X, batch.X);
      tape.feed(Y, batch.Y);
      tape.forward();
      tape.backward(J);
      const double replayed_cost = J.value()(0, 0), rebuilt_cost = rebuilt_step(batch);
      BOOST_TEST(std::memcmp(&replayed_cost, &rebuilt_cost, sizeof(double)) == 0);
      auto pa = replayed_model.all(), pb = rebuilt_model.all();
      for (std::size_t k = 0; k < pa.size(); ++k) {
        BOOST_TEST(bit_identical(pa[k]->grad, pb[k]->grad), pa[k]->name);
        pa[k]->value -= 0.05 * pa[k]->grad;
        pb[k]->value -= 0.05 * pb[k]->grad;
      }
    }
  auto pa = replayed_model.all(), pb = rebuilt_model.all();
  for (std::size_t k = 0; k < pa.size(); ++k) BOOST_TEST(bit_identical(pa[k]->value, pb[k]->value), pa[k]->name);
}
