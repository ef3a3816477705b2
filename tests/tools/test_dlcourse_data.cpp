// dlcourse's data sources other than CSV (test_dlcourse_cli covers CSV): an IDX pair written here
// (MNIST's format: big-endian sizes, unsigned bytes), Debian's Fashion-MNIST, and the errors that
// name the file and what is wrong in it. $DLCOURSE is set by meson.
#define BOOST_TEST_MODULE dlcourse data sources
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "dlcourse_runner.hpp"

namespace fs = std::filesystem;
using dlcourse_test::Run;

namespace {

Run dlcourse(const fs::path& dir, const std::string& args) { return dlcourse_test::run_dlcourse(dir, args); }

// An IDX file of unsigned bytes with the given dimensions.
void write_idx(const fs::path& path, const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& data) {
  std::ofstream out(path, std::ios::binary);
  const char magic[4] = {0, 0, 0x08, char(dims.size())};
  out.write(magic, 4);
  for (std::uint32_t d : dims) {
    const char be[4] = {char(d >> 24), char(d >> 16), char(d >> 8), char(d)};
    out.write(be, 4);
  }
  out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("dlcourse_data_" + std::to_string(::getpid()));
  static constexpr std::uint32_t n = 150;
  Fixture() {
    fs::create_directories(dir);
    // 4×4 images of 3 classes: class c lights row c brightly, plus noise.
    std::mt19937 rng(2);
    std::uniform_int_distribution<int> noise(0, 60);
    std::vector<std::uint8_t> images, labels;
    for (std::uint32_t i = 0; i < n; ++i) {
      const int c = int(i % 3);
      labels.push_back(std::uint8_t(c));
      for (int r = 0; r < 4; ++r)
        for (int col = 0; col < 4; ++col) images.push_back(std::uint8_t(noise(rng) + (r == c ? 180 : 0)));
    }
    write_idx(dir / "images.idx", {n, 4, 4}, images);
    write_idx(dir / "labels.idx", {n}, labels);
    write_idx(dir / "short-labels.idx", {n - 1}, std::vector<std::uint8_t>(labels.begin(), labels.end() - 1));
    std::ofstream(dir / "spec.json") << R"({"layers": [{"type": "dense", "units": 8, "activation": "relu"},
      {"type": "dense", "units": 3}], "optimizer": {"name": "adam", "learning_rate": 0.05}, "epochs": 8,
      "batch_size": 16})";
  }
  ~Fixture() { fs::remove_all(dir); }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(train_and_evaluate_on_an_idx_pair, Fixture) {
  const auto train = dlcourse(dir,
                              "train --spec spec.json --idx images.idx labels.idx --classes 3 --dev 30 "
                              "--save m.npz --json");
  BOOST_TEST_REQUIRE(train.status == 0, train.err);
  const auto epochs = nlohmann::json::parse(train.out).at("epochs");
  BOOST_TEST(epochs.size() == 8u);
  BOOST_TEST(epochs.back()["dev_accuracy"].get<double>() >= 0.9);  // one bright row per class: easy
  const auto eval = dlcourse(dir, "evaluate --checkpoint m.npz --idx images.idx labels.idx --classes 3 --json");
  BOOST_TEST_REQUIRE(eval.status == 0, eval.err);
  const auto e = nlohmann::json::parse(eval.out);
  BOOST_TEST(e.at("examples").get<std::size_t>() == std::size_t(n));
  BOOST_TEST(e.at("accuracy").get<double>() >= 0.9);
}

BOOST_FIXTURE_TEST_CASE(idx_errors_name_the_file_and_the_fault, Fixture) {
  const auto count = dlcourse(dir, "train --spec spec.json --idx images.idx short-labels.idx --classes 3");
  BOOST_TEST(count.status == 1);
  BOOST_TEST(count.err.find("images.idx has 150 images but short-labels.idx has 149 labels") != std::string::npos,
             count.err);
  const auto classes = dlcourse(dir, "train --spec spec.json --idx images.idx labels.idx --classes 2");
  BOOST_TEST(classes.status == 1);
  BOOST_TEST(classes.err.find("labels.idx: label 2 of item 2 is not below 2 classes") != std::string::npos,
             classes.err);
  std::ofstream(dir / "not.idx") << "hello, world";
  const auto magic = dlcourse(dir, "train --spec spec.json --idx not.idx labels.idx --classes 3");
  BOOST_TEST(magic.status == 1);
  BOOST_TEST(magic.err.find("not.idx is not an IDX file") != std::string::npos, magic.err);
  const auto two = dlcourse(dir, "train --spec spec.json --idx images.idx labels.idx --csv x.csv --label-column 0");
  BOOST_TEST(two.status == 1);
  BOOST_TEST(two.err.find("give only one of --fashion-mnist, --idx and --csv") != std::string::npos, two.err);
  const auto none = dlcourse(dir, "train --spec spec.json");
  BOOST_TEST(none.status == 1);
  BOOST_TEST(none.err.find("no data: give --fashion-mnist") != std::string::npos, none.err);
}

BOOST_FIXTURE_TEST_CASE(fashion_mnist_from_debian, Fixture) {
  std::ofstream(dir / "fashion.json") << R"({"layers": [{"type": "dense", "units": 32, "activation": "relu"},
    {"type": "dense", "units": 10}], "epochs": 2, "batch_size": 64})";
  const auto train =
      dlcourse(dir, "train --spec fashion.json --fashion-mnist --limit 3000 --dev 500 --save f.npz --json");
  BOOST_TEST_REQUIRE(train.status == 0, train.err);
  const auto epochs = nlohmann::json::parse(train.out).at("epochs");
  BOOST_TEST(epochs.size() == 2u);
  BOOST_TEST(epochs.back()["dev_accuracy"].get<double>() >= 0.6);  // 10 classes: chance is 0.1
  const auto eval = dlcourse(dir, "evaluate --checkpoint f.npz --fashion-mnist --limit 1000 --json");
  BOOST_TEST_REQUIRE(eval.status == 0, eval.err);
  BOOST_TEST(nlohmann::json::parse(eval.out).at("examples").get<std::size_t>() == 1000u);  // the test part
  const auto missing = dlcourse(dir, "train --spec fashion.json --fashion-mnist --data-dir nowhere");
  BOOST_TEST(missing.status == 1);
  BOOST_TEST(missing.err.find("nowhere") != std::string::npos, missing.err);
}
