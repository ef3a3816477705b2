// `mpirun -np 2 dlcourse train` (data-parallel training from the shell) against `dlcourse train` in
// one process, on a tiny CSV data set whose 200 training examples end in an uneven mini-batch
// (200 = 6·32 + 8): the same epochs' costs and the same saved parameters within float rounding,
// batch norm synchronized or per process, one report from process 0, and errors that end the whole
// job with a message naming the process. $DLCOURSE and $MPIRUN are set by meson.
#define BOOST_TEST_MODULE dlcourse under mpirun
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include <nn/checkpoint.hpp>

#include "dlcourse_runner.hpp"

namespace fs = std::filesystem;
using dlcourse_test::read;
using dlcourse_test::Run;

namespace {

// Runs dlcourse in `dir` with `args`, under `mpirun -np <processes>` when processes > 0.
Run dlcourse(const fs::path& dir, const std::string& args, int processes = 0) {
  std::string launcher;  // (appended piece by piece: GCC 12 warns falsely on a chain of + here)
  if (processes > 0) {
    launcher.append("'").append(dlcourse_test::env("MPIRUN")).append("' --oversubscribe --bind-to none -np ");
    launcher.append(std::to_string(processes)).append(" ");
  }
  return dlcourse_test::run_dlcourse(dir, args, launcher);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

bool close(double a, double b, double rel) {
  return std::abs(a - b) <= rel * std::max({1.0, std::abs(a), std::abs(b)});
}

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("dlcourse_mpi_" + std::to_string(::getpid()));
  const std::string data = "--csv data.csv --label-column 0 --classes 3 --dev 40";
  Fixture() {
    fs::create_directories(dir);
    dlcourse_test::write_three_class_csv(dir / "data.csv", 240);
    // No dropout: each process draws its own masks, so dropout is the one thing that differs.
    std::ofstream(dir / "spec.json") << R"({"layers": [{"type": "dense", "units": 8, "activation": "relu"},
      {"type": "dense", "units": 3}], "optimizer": {"name": "adam", "learning_rate": 0.01}, "epochs": 3,
      "batch_size": 32, "seed": 4})";
    std::ofstream(dir / "bn.json") << R"({"layers": [{"type": "dense", "units": 8}, {"type": "batch_norm"},
      {"type": "activation", "activation": "relu"}, {"type": "dense", "units": 3}],
      "optimizer": {"name": "momentum", "learning_rate": 0.05}, "epochs": 2, "batch_size": 32, "seed": 4})";
  }
  ~Fixture() { fs::remove_all(dir); }
};

nlohmann::json epochs_of(const Run& r) {
  BOOST_TEST_REQUIRE(r.status == 0, r.err);
  return nlohmann::json::parse(r.out).at("epochs");  // the whole of stdout is one document
}

void check_same_training(const nlohmann::json& one, const nlohmann::json& two) {
  BOOST_TEST_REQUIRE(one.size() == two.size());
  for (std::size_t e = 0; e < one.size(); ++e) {
    BOOST_TEST_CONTEXT("epoch " << e + 1) {
      for (const char* field : {"cost", "dev_cost", "dev_accuracy", "train_accuracy"})
        BOOST_TEST(close(one[e][field].get<double>(), two[e][field].get<double>(), 1e-5), field);
    }
  }
}

void check_same_parameters(const fs::path& a, const fs::path& b) {
  const auto one = nn::load_model<float>(a.string()), two = nn::load_model<float>(b.string());
  const auto p = one.parameters(), q = two.parameters();
  BOOST_TEST_REQUIRE(p.size() == q.size());
  for (std::size_t k = 0; k < p.size(); ++k) {
    BOOST_TEST_REQUIRE(p[k]->value.size() == q[k]->value.size());
    for (std::size_t i = 0; i < p[k]->value.size(); ++i)
      BOOST_TEST(close(p[k]->value.flat(i), q[k]->value.flat(i), 1e-5), p[k]->name << "[" << i << "]");
  }
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(two_processes_train_the_model_one_process_trains, Fixture) {
  const auto one = dlcourse(dir, "train --spec spec.json " + data + " --save one.npz --json");
  const auto two = dlcourse(dir, "train --spec spec.json " + data + " --save two.npz --json", 2);
  check_same_training(epochs_of(one), epochs_of(two));  // one JSON document: process 0 alone printed
  check_same_parameters(dir / "one.npz", dir / "two.npz");
}

BOOST_FIXTURE_TEST_CASE(only_process_zero_reports_and_writes, Fixture) {
  const auto two = dlcourse(dir, "train --spec spec.json " + data + " --save m.npz --history h.csv", 2);
  BOOST_TEST_REQUIRE(two.status == 0, two.err);
  BOOST_TEST(count(two.out, "trained 3 epochs") == 1u, two.out);
  BOOST_TEST(count(two.out, "saved m.npz") == 1u);
  BOOST_TEST(count(read(dir / "h.csv"), "\n") == 4u);  // header and 3 epochs
  BOOST_TEST(fs::exists(dir / "m.npz"));
}

BOOST_FIXTURE_TEST_CASE(synchronized_batch_norm_trains_as_one_process, Fixture) {
  const auto one = epochs_of(dlcourse(dir, "train --spec bn.json " + data + " --save one.npz --json"));
  const auto sync =
      epochs_of(dlcourse(dir, "train --spec bn.json " + data + " --sync-batch-norm --save sync.npz --json", 2));
  check_same_training(one, sync);
  check_same_parameters(dir / "one.npz", dir / "sync.npz");
  // Per process (the default), each shard of 16 is normalized with its own statistics: another training.
  const auto own = epochs_of(dlcourse(dir, "train --spec bn.json " + data + " --json", 2));
  BOOST_TEST(!close(one[0]["cost"].get<double>(), own[0]["cost"].get<double>(), 1e-4));
}

BOOST_FIXTURE_TEST_CASE(an_error_ends_the_whole_job_with_its_message, Fixture) {
  std::ofstream(dir / "bad.json") << R"({"layers": [{"type": "dense", "units": -3}]})";
  const auto bad = dlcourse(dir, "train --spec bad.json " + data, 2);
  BOOST_TEST(bad.status != 0);
  BOOST_TEST(
      bad.err.find("of 2): bad.json: field 'layers[0].units': expected an integer >= 1, got -3") != std::string::npos,
      bad.err);

  BOOST_TEST_REQUIRE(dlcourse(dir, "train --spec spec.json " + data + " --save m.npz").status == 0);
  const auto resume = dlcourse(dir, "train --resume m.npz " + data, 2);
  BOOST_TEST(resume.status != 0);
  BOOST_TEST(resume.err.find("train --resume trains one process; this is an MPI job of 2") != std::string::npos,
             resume.err);

  // Process 0 alone saves: its failure after training still ends the job with the reason.
  const auto save = dlcourse(dir, "train --spec spec.json " + data + " --save no/such/dir/m.npz", 2);
  BOOST_TEST(save.status != 0);
  BOOST_TEST(save.err.find("(process 0 of 2): save_checkpoint no/such/dir/m.npz") != std::string::npos, save.err);
}
