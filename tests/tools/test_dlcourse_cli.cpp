// The dlcourse executable (its path in $DLCOURSE, set by meson) run as a user would: --help on the
// tool and each subcommand, then train → evaluate → gradcheck → search (and its resume) on a tiny
// CSV data set, reading the --json output back.
#define BOOST_TEST_MODULE dlcourse cli
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "dlcourse_runner.hpp"

namespace fs = std::filesystem;
using dlcourse_test::read;

namespace {

// dlcourse with `args` in `dir`: status, stdout, and stderr (also in dir/err).
dlcourse_test::Run dlcourse(const fs::path& dir, const std::string& args) { return dlcourse_test::run_dlcourse(dir, args); }

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("dlcourse_cli_" + std::to_string(::getpid()));
  const std::string data = "--csv data.csv --label-column 0 --classes 3";
  Fixture() {
    fs::create_directories(dir);
    dlcourse_test::write_three_class_csv(dir / "data.csv", 240);
    std::ofstream(dir / "spec.json") << R"({"layers": [{"type": "dense", "units": 8, "activation": "relu"},
      {"type": "dropout", "keep_prob": 0.9}, {"type": "dense", "units": 3}],
      "optimizer": {"name": "adam", "learning_rate": 0.01}, "epochs": 2, "batch_size": 32})";
    std::ofstream(dir / "space.json") << R"([{"name": "learning_rate", "lo": 1e-3, "hi": 1e-1, "scale": "log"},
      {"name": "hidden_units", "lo": 4, "hi": 12, "integer": true}])";
  }
  ~Fixture() { fs::remove_all(dir); }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(help_on_the_tool_and_each_subcommand, Fixture) {
  const auto top = dlcourse(dir, "--help");
  BOOST_TEST(top.status == 0);
  for (const char* sub : {"train", "evaluate", "gradcheck", "search"}) {
    BOOST_TEST(top.out.find(sub) != std::string::npos, sub);
    const auto help = dlcourse(dir, std::string(sub) + " --help");
    BOOST_TEST(help.status == 0, sub);
    BOOST_TEST(help.out.find("--json") != std::string::npos, sub);
    BOOST_TEST(help.out.find("--csv") != std::string::npos, sub);
  }
  BOOST_TEST(dlcourse(dir, "").status != 0);  // a subcommand is required
}

BOOST_FIXTURE_TEST_CASE(train_evaluate_gradcheck, Fixture) {
  const auto train = dlcourse(dir, "train --spec spec.json --dev 60 --save model.npz --json " + data);
  BOOST_REQUIRE_MESSAGE(train.status == 0, read(dir / "err"));
  const auto t = nlohmann::json::parse(train.out);
  BOOST_TEST(t["epochs"].size() == 2u);
  BOOST_TEST(fs::exists(dir / "model.npz"));

  // Panda: train it on at a tenth of the learning rate; the history grows and is replotted.
  const auto more = dlcourse(dir, "train --resume model.npz --learning-rate 0.001 --epochs 2 --plot history --dev 60 "
                                  "--json " + data);
  BOOST_REQUIRE_MESSAGE(more.status == 0, read(dir / "err"));
  const auto m = nlohmann::json::parse(more.out);
  BOOST_REQUIRE(m["epochs"].size() == 4u);
  BOOST_TEST(m["epochs"][0] == t["epochs"][0]);
  BOOST_TEST(m["epochs"][3]["epoch"] == 4);
  BOOST_TEST(m["epochs"][3]["learning_rate"].get<double>() == 0.001, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(fs::exists(dir / "history.csv"));

  const auto eval = dlcourse(dir, "evaluate --checkpoint model.npz --json " + data);
  BOOST_REQUIRE_MESSAGE(eval.status == 0, read(dir / "err"));
  const auto e = nlohmann::json::parse(eval.out);
  BOOST_TEST(e["examples"] == 240);
  BOOST_TEST(e["accuracy"].get<double>() > 0.34);  // better than chance after 2 epochs of easy blobs

  for (const char* source : {"--checkpoint model.npz", "--spec spec.json"}) {
    const auto gc = dlcourse(dir, std::string("gradcheck ") + source + " --examples 8 " + data);
    BOOST_TEST(gc.status == 0, source << ": " << read(dir / "err"));
    for (const char* block : {"W[1]", "b[1]", "W[2]", "b[2]", "PASS"})
      BOOST_TEST(gc.out.find(block) != std::string::npos, source << " table lacks " << block << ":\n" << gc.out);
  }
}

BOOST_FIXTURE_TEST_CASE(spec_errors_are_one_clear_line, Fixture) {
  std::ofstream(dir / "bad.json") << R"({"layers": [{"type": "dense", "units": 8}, {"type": "dropout", "keep_prob": 2}]})";
  const auto r = dlcourse(dir, "train --spec bad.json " + data);
  BOOST_TEST(r.status == 1);
  const auto err = read(dir / "err");
  BOOST_TEST(err == "dlcourse: bad.json: field 'layers[1].keep_prob': expected a number in (0, 1], got 2\n");
  BOOST_TEST(dlcourse(dir, "train --spec spec.json").status == 1);  // no data
  BOOST_TEST(read(dir / "err").find("no data") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(search_and_resume, Fixture) {
  const std::string args =
      "search --spec spec.json --space space.json --dev 60 --trials 6 --min-epochs 1 --max-epochs 4 --eta 2 "
      "--workers 2 --results r.jsonl --json " + data;
  const auto first = dlcourse(dir, args);
  BOOST_REQUIRE_MESSAGE(first.status == 0, read(dir / "err"));
  const auto a = nlohmann::json::parse(first.out);
  BOOST_TEST(a["restored"] == 0);
  BOOST_TEST(a["best"].size() >= 1u);
  BOOST_TEST(a["best"][0]["hyperparameters"].contains("learning_rate"));
  const auto jobs = a["jobs"].get<std::size_t>();
  BOOST_TEST(jobs > 6u);  // promotions ran too
  // The same command again: everything comes from the results file, nothing runs.
  const auto again = dlcourse(dir, args);
  BOOST_REQUIRE(again.status == 0);
  const auto b = nlohmann::json::parse(again.out);
  BOOST_TEST(b["restored"] == jobs);
  BOOST_TEST(b["jobs"] == jobs);
  BOOST_TEST(b["best"][0] == a["best"][0]);
  // Another seed on the same file is refused.
  const auto other = dlcourse(dir, args + " --seed 3");
  BOOST_TEST(other.status == 1);
  BOOST_TEST(read(dir / "err").find("different search") != std::string::npos);
}
