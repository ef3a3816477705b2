// Training is a function of its seed: the same seed gives bit-identical parameters and batch-norm
// statistics (dropout masks, shuffling, initialization all seeded), on the thread count the suite
// runs with (OPENBLAS_NUM_THREADS=1, no assertion across thread counts); and nothing is shared
// between models, so two trained in two std::threads at once equal the same two trained in turn.
#define BOOST_TEST_MODULE nn determinism
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <thread>

#include "helpers.hpp"

namespace {

// Every parameter and buffer of a model, by name.
using Snapshot = std::vector<std::pair<std::string, ad::Tensor<float>>>;

// A few epochs of Adam on blobs through Dense → BatchNorm → relu → Dropout → Dense; `seed` drives
// initialization, shuffling and dropout masks.
Snapshot train(std::uint64_t seed) {
  const nn::Dataset<float> data = helpers::blobs<float>(40, 3, 5, /*seed*/ 3);
  nn::Sequential<float> model;
  model.dense(16).batch_norm().activation(nn::Activation::relu).dropout(0.8).dense(3);
  model.build(5, seed);
  nn::Adam<float> adam(0.01);
  nn::Trainer<float> trainer(model, nn::Loss::softmax_cross_entropy, adam,
                             {.epochs = 4, .batch_size = 16, .l2 = 1e-3, .seed = seed, .progress = nn::Progress::none});
  trainer.fit(data);
  Snapshot s;
  for (auto* p : model.parameters()) s.emplace_back(p->name, p->value);
  for (const auto& b : model.buffers()) s.emplace_back(b.name, *b.value);
  return s;
}

// Names of the tensors that differ in any bit ("" when none does).
std::string differences(const Snapshot& a, const Snapshot& b) {
  if (a.size() != b.size()) return "different numbers of tensors";
  std::string out;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const auto& [name, x] = a[k];
    const auto& y = b[k].second;
    if (name != b[k].first || x.shape() != y.shape() || std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) != 0)
      out += name + " ";
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_same_seed_trains_bit_identical_parameters) {
  const Snapshot first = train(7), second = train(7);
  BOOST_TEST(differences(first, second).empty(), "differ: " << differences(first, second));
  // Not vacuous: the snapshot holds every parameter and the running statistics (and another seed
  // changes every one of them, below).
  std::vector<std::string> names;
  for (const auto& entry : first) names.push_back(entry.first);
  const std::vector<std::string> expected = {"W[1]", "gamma[1]", "beta[1]", "W[2]",
                                             "b[2]", "running_mean[1]", "running_var[1]"};
  BOOST_TEST(names == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(another_seed_trains_other_parameters) {
  const Snapshot a = train(7), b = train(8);
  for (std::size_t k = 0; k < a.size(); ++k)
    BOOST_TEST(!differences({a[k]}, {b[k]}).empty(), a[k].first << " is the same under seeds 7 and 8");
}

BOOST_AUTO_TEST_CASE(two_models_trained_concurrently_equal_the_two_trained_in_turn) {
  const Snapshot first = train(7), second = train(8);
  Snapshot concurrent_first, concurrent_second;
  std::thread a([&] { concurrent_first = train(7); });
  std::thread b([&] { concurrent_second = train(8); });
  a.join();
  b.join();
  BOOST_TEST(differences(first, concurrent_first).empty(), "seed 7 differs in: " << differences(first, concurrent_first));
  BOOST_TEST(differences(second, concurrent_second).empty(), "seed 8 differs in: " << differences(second, concurrent_second));
}
