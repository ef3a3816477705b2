// Data-parallel training under `mpirun -np 2` (tests/nn/meson.build): two ranks train the
// parameters one process trains on the same global mini-batches, an uneven last batch included;
// per-process batch norm trains what each rank's own shard statistics give; mismatched set-ups
// are refused on every rank. Every rank runs every test case (the collectives must match), and
// computes the one-process reference itself.
#define BOOST_TEST_MODULE test_data_parallel
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <numeric>
#include <sstream>

#include <nn/distributed.hpp>
#include <nn/nn.hpp>

#include "error_text.hpp"
#include "helpers.hpp"

namespace {

nn::MpiWorld* world_ = nullptr;

struct MpiFixture {
  MpiFixture() { world_ = new nn::MpiWorld; }
  ~MpiFixture() { delete world_; }
};
BOOST_TEST_GLOBAL_FIXTURE(MpiFixture);

nn::MpiWorld& world() { return *world_; }

// 39 examples in batches of 8: 4 full batches (4 + 4 examples per rank) and a last one of 7
// (3 on rank 0, 4 on rank 1), so 4 epochs are 20 steps.
constexpr std::size_t batch_size = 8, epochs = 4;

template <class T>
nn::Dataset<T> data() {
  return helpers::blobs<T>(13, 3, 4, /*seed*/ 7, /*spread*/ 1.0);
}

template <class T>
nn::Sequential<T> mlp(std::uint64_t seed) {
  nn::Sequential<T> m;
  m.dense(6, nn::Activation::tanh).dense(5, nn::Activation::relu).dense(3);
  m.build(4, seed);
  return m;
}

template <class T>
nn::Sequential<T> with_batch_norm(std::uint64_t seed) {
  nn::Sequential<T> m;
  m.dense(6).batch_norm().activation(nn::Activation::relu).dense(3);
  m.build(4, seed);
  return m;
}

nn::TrainOptions options(double l2, const nn::DataParallel& parallel = {}) {
  return nn::TrainOptions{.epochs = epochs, .batch_size = batch_size, .l2 = l2, .seed = 3,
                          .progress = nn::Progress::none, .parallel = parallel};
}

// ‖a − b‖ / ‖b‖ of one block.
template <class T>
double relative_difference(const ad::Tensor<T>& a, const ad::Tensor<T>& b) {
  double d = 0, n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    d += std::pow(double(a.data()[i]) - double(b.data()[i]), 2);
    n += std::pow(double(b.data()[i]), 2);
  }
  return std::sqrt(d / n);
}

template <class T>
void check_same_parameters(const nn::Sequential<T>& got, const nn::Sequential<T>& expected, double tolerance) {
  auto g = got.parameters(), e = expected.parameters();
  BOOST_TEST_REQUIRE(g.size() == e.size());
  for (std::size_t k = 0; k < g.size(); ++k) {
    BOOST_TEST_CONTEXT("rank " << world().rank() << ", " << g[k]->name) {
      BOOST_TEST(relative_difference(g[k]->value, e[k]->value) <= tolerance);
    }
  }
  auto gb = got.buffers(), eb = expected.buffers();
  BOOST_TEST_REQUIRE(gb.size() == eb.size());
  for (std::size_t k = 0; k < gb.size(); ++k) {
    BOOST_TEST_CONTEXT("rank " << world().rank() << ", " << gb[k].name) {
      BOOST_TEST(relative_difference(*gb[k].value, *eb[k].value) <= tolerance);
    }
  }
}

// Every rank holds rank 0's parameters and buffers, bit for bit.
template <class T>
void check_replicas_identical(const nn::Sequential<T>& model) {
  std::vector<ad::Tensor<T>*> blocks;
  for (auto* p : model.parameters()) blocks.push_back(&p->value);
  for (auto& b : model.buffers()) blocks.push_back(b.value);
  for (auto* t : blocks) {
    ad::Tensor<T> root = *t;
    world().broadcast(std::as_writable_bytes(std::span(root.data(), root.size())), 0);
    BOOST_TEST((root == *t), "rank " << world().rank() << " differs from rank 0");
  }
}

// 2 ranks against 1 process: parameters, costs and accuracies of every epoch.
template <class T>
void check_matches_one_process(nn::Sequential<T> (*make)(std::uint64_t), double l2, nn::BatchNormStatistics bn,
                               double tolerance) {
  const auto train = data<T>();
  const auto dev = helpers::blobs<T>(5, 3, 4, /*seed*/ 8, /*spread*/ 1.0);
  // Each rank draws other initial weights: rank 0's are broadcast.
  auto model = make(100 + std::uint64_t(world().rank()));
  nn::Adam<T> adam(0.01);
  nn::Trainer<T> trainer(model, nn::Loss::softmax_cross_entropy, adam, options(l2, {&world(), bn}));
  const auto history = trainer.fit(train, &dev);

  auto reference = make(100);
  nn::Adam<T> reference_adam(0.01);
  nn::Trainer<T> one(reference, nn::Loss::softmax_cross_entropy, reference_adam, options(l2));
  const auto expected = one.fit(train, &dev);

  BOOST_TEST(trainer.steps() == 20u);
  check_same_parameters(model, reference, tolerance);
  check_replicas_identical(model);
  BOOST_TEST_REQUIRE(history.epochs.size() == expected.epochs.size());
  for (std::size_t e = 0; e < history.epochs.size(); ++e) {
    BOOST_TEST(history.epochs[e].cost == expected.epochs[e].cost, boost::test_tools::tolerance(tolerance));
    BOOST_TEST(history.epochs[e].train_accuracy == expected.epochs[e].train_accuracy);
    BOOST_TEST(history.epochs[e].dev_cost == expected.epochs[e].dev_cost, boost::test_tools::tolerance(tolerance));
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(runs_on_two_ranks) { BOOST_TEST_REQUIRE(world().size() == 2); }

BOOST_AUTO_TEST_CASE(double_two_ranks_train_the_parameters_of_one_process) {
  check_matches_one_process<double>(mlp<double>, 0.05, nn::BatchNormStatistics::per_process, 1e-12);
}

BOOST_AUTO_TEST_CASE(float_two_ranks_train_the_parameters_of_one_process) {
  check_matches_one_process<float>(mlp<float>, 0.05, nn::BatchNormStatistics::per_process, 1e-6);
}

BOOST_AUTO_TEST_CASE(synchronized_batch_norm_trains_what_one_process_trains) {
  check_matches_one_process<double>(with_batch_norm<double>, 0.05, nn::BatchNormStatistics::synchronized, 1e-12);
}

// Per-process batch norm: each rank normalizes its shard with the shard's statistics. The reference
// does the same in one process: per global batch, each shard's forward and backward from the same
// parameters and running statistics, gradients and running statistics weighted by shard size,
// then one Adam step.
BOOST_AUTO_TEST_CASE(per_process_batch_norm_trains_with_each_shards_own_statistics) {
  const auto train = data<double>();
  auto model = with_batch_norm<double>(100 + std::uint64_t(world().rank()));
  nn::Adam<double> adam(0.01);
  nn::Trainer<double> trainer(model, nn::Loss::softmax_cross_entropy, adam,
                              options(0.0, {&world(), nn::BatchNormStatistics::per_process}));
  trainer.fit(train);

  auto reference = with_batch_norm<double>(100);
  nn::Adam<double> reference_adam(0.01);
  ad::Tape<double> tape;
  tape.set_frozen(true);
  auto X = tape.input("X", xt::zeros<double>({std::size_t(2), std::size_t(4)}));
  auto Y = tape.input("Y", xt::zeros<double>({std::size_t(3), std::size_t(2)}));
  auto out = reference.forward(tape, X, nn::Mode::train, nn::Layout::rows);
  auto J = nn::cost(nn::Loss::softmax_cross_entropy, out, Y, reference.weights(), 0.0);
  tape.set_frozen(false);
  auto params = reference.parameters();
  auto buffers = reference.buffers();
  std::mt19937_64 rng(3);
  nn::Batches batches(train.size(), batch_size);
  std::size_t one_process_steps = 0;
  for (std::size_t e = 0; e < epochs; ++e) {
    reference_adam.set_epoch(e);
    batches.shuffle(rng);
    for (std::size_t k = 0; k < batches.count(); ++k) {
      const auto idx = batches[k];
      std::vector<ad::Tensor<double>> before, grads, stats;
      for (auto& b : buffers) before.push_back(*b.value);
      for (auto* p : params) grads.push_back(xt::zeros_like(p->value));
      for (auto& b : buffers) stats.push_back(xt::zeros_like(*b.value));
      for (std::size_t r = 0; r < 2; ++r) {
        const auto shard = idx.subspan(r * idx.size() / 2, (r + 1) * idx.size() / 2 - r * idx.size() / 2);
        const double w = double(shard.size()) / double(idx.size());
        for (std::size_t b = 0; b < buffers.size(); ++b) *buffers[b].value = before[b];
        nn::gather_rows(train.x, shard, tape.input_buffer(X, {shard.size(), std::size_t(4)}));
        nn::gather_columns(train.y, shard, tape.input_buffer(Y, {std::size_t(3), shard.size()}));
        tape.forward();
        tape.backward(J);
        for (std::size_t p = 0; p < params.size(); ++p) grads[p] += w * params[p]->grad;
        for (std::size_t b = 0; b < buffers.size(); ++b) stats[b] += w * *buffers[b].value;
      }
      for (std::size_t p = 0; p < params.size(); ++p) params[p]->grad = grads[p];
      for (std::size_t b = 0; b < buffers.size(); ++b) *buffers[b].value = stats[b];
      reference_adam.step(params);
      ++one_process_steps;
    }
  }
  BOOST_TEST(one_process_steps == 20u);
  check_same_parameters(model, reference, 1e-12);
  check_replicas_identical(model);

  // ... and not what one process on the whole batch trains (the statistics differ).
  auto whole = with_batch_norm<double>(100);
  nn::Adam<double> whole_adam(0.01);
  nn::Trainer<double> one(whole, nn::Loss::softmax_cross_entropy, whole_adam, options(0.0));
  one.fit(train);
  BOOST_TEST(relative_difference(model.parameter("W[1]").value, whole.parameter("W[1]").value) > 1e-6);
}

BOOST_AUTO_TEST_CASE(a_different_model_on_one_rank_is_refused_on_every_rank) {
  const auto train = data<double>();
  nn::Sequential<double> model;
  model.dense(world().rank() == 0 ? 6 : 7, nn::Activation::relu).dense(3);
  model.build(4, 0);
  nn::Adam<double> adam(0.01);
  nn::Trainer<double> trainer(model, nn::Loss::softmax_cross_entropy, adam, options(0.0, {&world()}));
  const auto before = model.parameter("W[1]").value;
  const std::string message = test_support::message_of<nn::ConfigError>([&] { trainer.fit(train); });
  BOOST_TEST_CONTEXT("rank " << world().rank() << ": " << message) {
    BOOST_TEST(message.find("data parallel") != std::string::npos);
    if (world().rank() == 1) {
      BOOST_TEST(message.find("rank 1") != std::string::npos);
      BOOST_TEST(message.find("\"units\":6") != std::string::npos);  // rank 0's
      BOOST_TEST(message.find("\"units\":7") != std::string::npos);  // its own
    } else {
      BOOST_TEST(message.find("rank(s) 1") != std::string::npos);
    }
  }
  BOOST_TEST((model.parameter("W[1]").value == before));  // nothing trained, nothing broadcast
}

BOOST_AUTO_TEST_CASE(different_options_or_data_are_refused_on_every_rank) {
  auto train = data<double>();
  {
    auto model = mlp<double>(0);
    nn::Adam<double> adam(world().rank() == 0 ? 0.01 : 0.02);
    nn::Trainer<double> trainer(model, nn::Loss::softmax_cross_entropy, adam, options(0.0, {&world()}));
    const auto message = test_support::message_of<nn::ConfigError>([&] { trainer.fit(train); });
    BOOST_TEST(message.find("learning_rate") != std::string::npos, message);
  }
  {
    auto model = mlp<double>(0);
    nn::Adam<double> adam(0.01);
    nn::Trainer<double> trainer(model, nn::Loss::softmax_cross_entropy, adam, options(0.0, {&world()}));
    std::vector<std::size_t> first(30);
    std::iota(first.begin(), first.end(), std::size_t(0));
    const auto fewer = world().rank() == 0 ? train : nn::subset(train, first);
    const auto message = test_support::message_of<nn::ConfigError>([&] { trainer.fit(fewer); });
    BOOST_TEST(message.find("training examples: 39") != std::string::npos, message);
  }
}

BOOST_AUTO_TEST_CASE(a_shard_too_small_for_batch_norm_is_refused_before_training) {
  // 39 examples in batches of 6: the last batch of 3 leaves rank 0 one example.
  auto train = data<double>();
  auto model = with_batch_norm<double>(0);
  nn::Adam<double> adam(0.01);
  auto o = options(0.0, {&world()});
  o.batch_size = 6;
  nn::Trainer<double> trainer(model, nn::Loss::softmax_cross_entropy, adam, o);
  const auto message = test_support::message_of<nn::ConfigError>([&] { trainer.fit(train); });
  BOOST_TEST(message.find("shards of 1") != std::string::npos, message);
  BOOST_TEST(trainer.steps() == 0u);
}

BOOST_AUTO_TEST_CASE(only_rank_0_reports_progress) {
  auto train = data<double>();
  auto model = mlp<double>(0);
  nn::Adam<double> adam(0.01);
  std::ostringstream out;
  auto o = options(0.0, {&world()});
  o.progress = nn::Progress::lines;
  o.out = &out;
  o.epochs = 1;
  nn::Trainer<double> trainer(model, nn::Loss::softmax_cross_entropy, adam, o);
  trainer.fit(train);
  BOOST_TEST(out.str().empty() == (world().rank() != 0), out.str());
}

// Dropout: each rank draws its own masks (the same stream on both would drop the same units of
// the k-th example of every shard), and the replicas stay identical.
BOOST_AUTO_TEST_CASE(each_rank_draws_its_own_dropout_masks) {
  const auto train = data<double>();
  nn::Sequential<double> model;
  model.dense(32, nn::Activation::tanh).dropout(0.5).dense(3);
  model.build(4, 0);
  nn::Adam<double> adam(0.01);
  nn::Trainer<double> trainer(model, nn::Loss::softmax_cross_entropy, adam, options(0.0, {&world()}));
  // A first step on a batch of 8: shards of 4 on both ranks, so that masks drawn from the same
  // stream would match. Its dropout output (32 units × 4 examples): which entries were dropped.
  const std::vector<std::size_t> eight{0, 1, 2, 3, 4, 5, 6, 7};
  trainer.step(train, eight);
  auto& tape = trainer.tape();
  std::vector<double> dropped(32 * 3, 0.0);
  bool found = false;
  for (std::uint32_t i = 0; i < tape.size(); ++i)
    if (tape.node(i).op && std::string(tape.node(i).op->name) == "dropout") {
      const auto& v = tape.value(i);  // (32, m) one column per example
      BOOST_TEST_REQUIRE(v.shape()[0] == 32u);
      for (std::size_t u = 0; u < 32; ++u)
        for (std::size_t j = 0; j < 3; ++j) dropped[u * 3 + j] = v(u, j) == 0.0 ? 1.0 : 0.0;
      found = true;
    }
  BOOST_TEST_REQUIRE(found);
  std::vector<double> root = dropped;
  world().broadcast(std::as_writable_bytes(std::span(root)), 0);
  if (world().rank() == 1) BOOST_TEST((root != dropped), "both ranks dropped the same units");
  trainer.fit(train);
  check_replicas_identical(model);
}
