// Babysitting one model: training resumes from its checkpoint with a changed learning rate or
// schedule, the history grows by the epochs trained, and the checkpoint keeps it all.
#define BOOST_TEST_MODULE nn panda
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nn/nn.hpp>

#include "helpers.hpp"

namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(resume_with_a_new_learning_rate_appends_to_the_history) {
  const fs::path dir = fs::temp_directory_path() / ("dlcourse_panda_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto checkpoint = (dir / "model.npz").string();
  const auto train = helpers::blobs<float>(30, 3, 4, 1), dev = helpers::blobs<float>(10, 3, 4, 2);
  nn::Sequential<float> model;
  model.dense(8, nn::Activation::relu).dense(3);
  model.build(4, 1);
  nn::Momentum<float> momentum(0.05, 0.9, nn::Schedule::exponential(0.9));
  nn::start_babysitting(checkpoint, model, momentum);

  nn::PandaOptions first;
  first.train = {.epochs = 2, .batch_size = 16, .progress = nn::Progress::none};
  first.plot_stem = dir / "history";
  const auto h1 = nn::babysit<float>(checkpoint, nn::Loss::softmax_cross_entropy, train, &dev, first);
  BOOST_REQUIRE(h1.epochs.size() == 2u);
  BOOST_TEST(fs::exists(dir / "history.csv"));

  nn::PandaOptions second = first;
  second.learning_rate = 0.01;
  second.schedule = nn::Schedule::constant();
  second.train.epochs = 3;
  const auto h2 = nn::babysit<float>(checkpoint, nn::Loss::softmax_cross_entropy, train, &dev, second);
  BOOST_REQUIRE(h2.epochs.size() == 5u);
  for (std::size_t e = 0; e < 5; ++e) BOOST_TEST(h2.epochs[e].epoch == e + 1);
  BOOST_TEST(h2.epochs[0].dev_cost == h1.epochs[0].dev_cost);  // the old epochs, as they were
  // The trainer's epoch e runs at the course's epoch_num e: α0 · 0.9^e.
  BOOST_TEST(h2.epochs[0].learning_rate == 0.05 * 0.9, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(h2.epochs[1].learning_rate == 0.05 * 0.9 * 0.9, boost::test_tools::tolerance(1e-9));
  for (std::size_t e = 2; e < 5; ++e) BOOST_TEST(h2.epochs[e].learning_rate == 0.01, boost::test_tools::tolerance(1e-9));

  // The checkpoint holds the whole history, the changes, and the optimizer as changed.
  const auto manifest = nn::read_checkpoint_manifest(checkpoint);
  BOOST_TEST(manifest["extra"]["history"].size() == 5u);
  BOOST_TEST(manifest["extra"]["changes"].size() == 2u);
  BOOST_TEST(manifest["extra"]["changes"][1]["after_epoch"].get<int>() == 2);
  BOOST_TEST(manifest["optimizer"]["learning_rate"].get<double>() == 0.01, boost::test_tools::tolerance(1e-9));
  // The history CSV (the plot's data) has a row per epoch.
  std::ifstream in(dir / "history.csv");
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  BOOST_TEST(lines == 6u);

  // A checkpoint without an optimizer cannot be babysat.
  nn::save_checkpoint<float>((dir / "bare.npz").string(), model);
  BOOST_CHECK_THROW(nn::babysit<float>((dir / "bare.npz").string(), nn::Loss::softmax_cross_entropy, train, &dev, first),
                    nn::CheckpointError);
  fs::remove_all(dir);
}
