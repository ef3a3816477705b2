// fashion_mnist --plot: the training history (cost, train and dev accuracy per epoch) as a CSV
// beside the PNG, drawn when gnuplot is there and noted when not; a fast subset of the data.
#define BOOST_TEST_MODULE fashion_mnist plot
#include "lesson_run.hpp"

using namespace lesson_test;

namespace {

struct Out {
  fs::path dir;
  std::string err;
};

Out run(const std::string& env) {
  const char* program = std::getenv("FASHION_MNIST");
  BOOST_REQUIRE_MESSAGE(program, "FASHION_MNIST is not set: run through meson test");
  std::string pattern = (fs::temp_directory_path() / "fashion_plot_XXXXXX").string();
  Out out{::mkdtemp(pattern.data()), ""};
  const std::string command = fmt::format(
      "{} '{}' --limit 3000 --dev 1000 --epochs 3 --hidden 32 --plot '{}' > '{}' 2> '{}'", env, program,
      (out.dir / "history.png").string(), (out.dir / "stdout.txt").string(), (out.dir / "stderr.txt").string());
  BOOST_REQUIRE_EQUAL(std::system(command.c_str()), 0);
  out.err = read_text(out.dir / "stderr.txt");
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(history_csv_and_png) {
  const Out out = run("");
  Cleanup cleanup{out.dir};
  const auto columns = read_columns(out.dir / "history.csv");
  BOOST_REQUIRE_EQUAL(columns.at("epoch").size(), 3u);
  BOOST_TEST(columns.at("epoch").back() == 3.0);
  for (double c : columns.at("cost")) BOOST_TEST((c > 0 && c < 3));
  for (double a : columns.at("dev accuracy")) BOOST_TEST((a > 0.5 && a <= 1));  // learns within an epoch
  BOOST_TEST(columns.count("train batch accuracy") == 1u);
  if (plot::gnuplot_available()) BOOST_TEST(is_png(out.dir / "history.png"));
}

BOOST_AUTO_TEST_CASE(without_gnuplot_the_csv_and_a_note) {
  const Out out = run("env -u DLCOURSE_GNUPLOT PATH=/nonexistent");
  Cleanup cleanup{out.dir};
  BOOST_TEST(fs::exists(out.dir / "history.csv"));
  BOOST_TEST(!fs::exists(out.dir / "history.png"));
  BOOST_TEST(out.err.find("plot: no gnuplot") != std::string::npos, out.err);
}
