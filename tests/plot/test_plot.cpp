// The plotting module: what the CSV files hold, that gnuplot draws a real PNG from them, that
// without gnuplot (or with a failing one) a program gets its CSV and a note instead of an error,
// and that file names and titles reach gnuplot byte for byte, never as script.
#define BOOST_TEST_MODULE plot
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <plot/plot.hpp>

namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "test_plot_XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool is_png(const fs::path& p) {
  const std::string bytes = read_text(p);
  return bytes.size() > 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

plot::Options quiet() {
  plot::Options o;
  o.print_note = false;
  return o;
}

plot::LinePlot two_series() {
  return {.x_name = "epsilon",
          .x = {0.1, 0.01, 0.001},
          .series = {{"centered", {1e-2, 1e-4, 1e-6}}, {"one, sided", {0.3, 0.03, NAN}}},
          .log_x = true,
          .log_y = true};
}

plot::Grid bowl() {
  return plot::Grid::sample(-1, 1, 3, -2, 2, 2, [](double x, double y) { return x * x + 10 * y * y; });
}

}  // namespace

BOOST_AUTO_TEST_CASE(line_csv_holds_x_and_one_column_per_series) {
  TempDir dir;
  auto r = plot::line(dir.path / "eps", two_series(), {"t", "x", "y"}, quiet());
  BOOST_REQUIRE_EQUAL(r.csv.size(), 1u);
  BOOST_CHECK(r.csv[0] == dir.path / "eps.csv");
  BOOST_CHECK(r.png == dir.path / "eps.png");
  // A name with a comma is quoted; a NaN is an empty cell; numbers read back exactly.
  BOOST_CHECK_EQUAL(read_text(r.csv[0]), "epsilon,centered,\"one, sided\"\n0.1,0.01,0.3\n0.01,0.0001,0.03\n0.001,1e-06,\n");
}

BOOST_AUTO_TEST_CASE(grids_are_written_in_blocks_and_paths_padded) {
  TempDir dir;
  auto c = plot::contours(dir.path / "bowl", bowl(), {}, {}, quiet());
  BOOST_REQUIRE_EQUAL(c.csv.size(), 1u);
  BOOST_CHECK_EQUAL(read_text(c.csv[0]), "x,y,z\n-1,-2,41\n-1,2,41\n\n0,-2,40\n0,2,40\n\n1,-2,41\n1,2,41\n\n");

  auto t = plot::trajectories(dir.path / "paths", bowl(), {{"gd", {1, 0.5, 0.25}, {1, 0, 0}}, {"adam", {1}, {2}}}, {},
                              {}, quiet());
  BOOST_REQUIRE_EQUAL(t.csv.size(), 2u);
  BOOST_CHECK_EQUAL(read_text(t.csv[0]), "step,gd_x,gd_y,adam_x,adam_y\n0,1,1,1,2\n1,0.5,0,,\n2,0.25,0,,\n");
  BOOST_CHECK(t.csv[1] == dir.path / "paths_grid.csv");

  plot::Grid classes = plot::Grid::axes(0, 1, 2, 0, 1, 2);
  classes.z = {0, 1, 1, 2};
  auto r = plot::regions(dir.path / "regions", {{0.1, 0.9}, {0.2, 0.8}, {0, 2}}, classes, {}, quiet());
  BOOST_REQUIRE_EQUAL(r.csv.size(), 2u);
  BOOST_CHECK_EQUAL(read_text(r.csv[0]), "x,y,class\n0.1,0.2,0\n0.9,0.8,2\n");
  BOOST_CHECK_EQUAL(read_text(r.csv[1]), "x,y,class\n0,0,0\n0,1,1\n\n1,0,1\n1,1,2\n\n");
}

BOOST_AUTO_TEST_CASE(a_data_file_that_cannot_be_written_is_named) {
  TempDir dir;
  const fs::path stem = dir.path / "no_such_dir" / "eps";
  try {
    plot::line(stem, two_series(), {}, quiet());
    BOOST_FAIL("no error for an unwritable CSV");
  } catch (const plot::Error& e) {
    BOOST_TEST_INFO(e.what());
    BOOST_CHECK(std::string(e.what()).find((dir.path / "no_such_dir" / "eps.csv").string()) != std::string::npos);
    BOOST_CHECK(std::string(e.what()).find("No such file") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(mismatched_data_is_refused_with_the_series_named) {
  TempDir dir;
  auto data = two_series();
  data.series[1].y.pop_back();
  try {
    plot::line(dir.path / "eps", data, {}, quiet());
    BOOST_FAIL("no error for a short series");
  } catch (const plot::Error& e) {
    BOOST_CHECK(std::string(e.what()).find("'one, sided' has 2 values for 3 x values") != std::string::npos);
  }
}

// gnuplot-nox is in scripts/setup.sh's packages: the pictures are part of what is tested.
BOOST_AUTO_TEST_CASE(gnuplot_draws_every_figure_as_png) {
  BOOST_REQUIRE_MESSAGE(plot::gnuplot_available(), "gnuplot not found: apt-get install gnuplot-nox (scripts/setup.sh)");
  TempDir dir;
  plot::Grid classes = plot::Grid::sample(-1, 1, 40, -1, 1, 40, [](double x, double y) { return x + y > 0 ? 1 : 0; });
  std::vector<plot::Result> results{
      plot::line(dir.path / "line", two_series(), {"error vs ε", "ε", "error"}, quiet()),
      plot::regions(dir.path / "regions", {{-0.5, 0.5}, {-0.5, 0.5}, {0, 1}}, classes, {"regions", "x1", "x2"},
                    quiet()),
      plot::contours(dir.path / "bowl", plot::Grid::sample(-1, 1, 30, -1, 1, 30,
                                                           [](double x, double y) { return x * x + 10 * y * y + 0.1; }),
                     {"J", "w1", "w2"}, {.levels = 8, .log_z = true}, quiet()),
      plot::trajectories(dir.path / "paths", bowl(), {{"gd", {1, 0.5, 0.25}, {1, 0, 0}}}, {"paths", "w1", "w2"}, {},
                         quiet())};
  for (const auto& r : results) {
    BOOST_TEST_INFO(r.png.string() + ": " + r.note);
    BOOST_CHECK(r.drawn);
    BOOST_CHECK(r.note.empty());
    BOOST_CHECK(is_png(r.png));
  }
}

BOOST_AUTO_TEST_CASE(without_gnuplot_the_csv_is_written_with_a_note) {
  TempDir dir;
  // A gnuplot named by the options that is not there.
  plot::Options missing = quiet();
  missing.gnuplot = (dir.path / "no" / "gnuplot").string();
  auto r = plot::line(dir.path / "eps", two_series(), {}, missing);
  BOOST_CHECK(!r.drawn);
  BOOST_CHECK(fs::exists(r.csv[0]));
  BOOST_CHECK(!fs::exists(r.png));
  BOOST_TEST_INFO(r.note);
  BOOST_CHECK(r.note.find("no gnuplot") != std::string::npos);
  BOOST_CHECK(r.note.find("gnuplot-nox") != std::string::npos);
  BOOST_CHECK(r.note.find('\n') == std::string::npos);
  BOOST_CHECK(!plot::gnuplot_available(missing));

  // The default: "gnuplot" on a PATH without it (and no DLCOURSE_GNUPLOT).
  const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  const char* old_env = std::getenv("DLCOURSE_GNUPLOT");
  const std::string saved_env = old_env ? old_env : "";
  ::unsetenv("DLCOURSE_GNUPLOT");
  ::setenv("PATH", dir.path.c_str(), 1);
  auto d = plot::contours(dir.path / "bowl", bowl(), {}, {}, quiet());
  ::setenv("PATH", old_path.c_str(), 1);
  BOOST_CHECK(!d.drawn);
  BOOST_CHECK(fs::exists(d.csv[0]));
  BOOST_CHECK(d.note.find("no gnuplot ('gnuplot'") != std::string::npos);

  // DLCOURSE_GNUPLOT names the program when the options do not.
  ::setenv("DLCOURSE_GNUPLOT", missing.gnuplot.c_str(), 1);
  auto e = plot::line(dir.path / "env", two_series(), {}, quiet());
  BOOST_CHECK(!e.drawn);
  BOOST_CHECK(e.note.find(missing.gnuplot) != std::string::npos);
  if (old_env)
    ::setenv("DLCOURSE_GNUPLOT", saved_env.c_str(), 1);
  else
    ::unsetenv("DLCOURSE_GNUPLOT");
}

BOOST_AUTO_TEST_CASE(a_failing_gnuplot_is_a_note_not_an_error) {
  TempDir dir;
  plot::Options failing = quiet();
  failing.gnuplot = "false";  // exits 1 without reading its script
  auto r = plot::line(dir.path / "eps", two_series(), {}, failing);
  BOOST_CHECK(!r.drawn);
  BOOST_CHECK(fs::exists(r.csv[0]));
  BOOST_TEST_INFO(r.note);
  BOOST_CHECK(r.note.find("failed (exit status 1") != std::string::npos);

  // A program that exits 0 without drawing is caught too (no PNG, or an empty one).
  failing.gnuplot = "true";
  auto t = plot::line(dir.path / "eps", two_series(), {}, failing);
  BOOST_CHECK(!t.drawn);
  BOOST_CHECK(t.note.find("exited without drawing") != std::string::npos);
}

// Every byte of a string comes back from gnuplot as it went in: quotes, backquotes (gnuplot's
// command substitution), macros, backslashes and line breaks.
BOOST_AUTO_TEST_CASE(gnuplot_strings_read_back_byte_for_byte) {
  BOOST_REQUIRE(plot::gnuplot_available());
  TempDir dir;
  const std::string hostile[] = {"plain", "it's", "say \"hi\"", "`touch " + (dir.path / "INJECTED").string() + "`",
                                 "@macro $0 \\n", "two\nlines\r\ttab", "'; set output 'x", "", "ε ŷ",
                                 "'@x", "a\"b @x", "back\\", "\\'@x'", "`echo 1`'`echo 2`"};
  const fs::path script_path = dir.path / "echo.gp";
  {
    std::ofstream script(script_path);
    script << "set print " << plot::gnuplot_string((dir.path / "echo.txt").string()) << "\n";
    for (const auto& s : hostile) script << "print '[' . " << plot::gnuplot_string(s) << " . ']'\n";
  }
  const std::string command = "gnuplot " + script_path.string() + " 2>&1";
  BOOST_REQUIRE_EQUAL(std::system(command.c_str()), 0);
  std::string expected;
  for (const auto& s : hostile) expected += "[" + s + "]\n";
  BOOST_CHECK_EQUAL(read_text(dir.path / "echo.txt"), expected);
  BOOST_CHECK(!fs::exists(dir.path / "INJECTED"));
}

BOOST_AUTO_TEST_CASE(hostile_file_names_are_drawn_where_asked_and_nothing_else_is_written) {
  BOOST_REQUIRE(plot::gnuplot_available());
  TempDir dir;
  const fs::path odd = dir.path / "it's \"odd\" `touch INJECTED` $(touch INJECTED2) @x\nline";
  fs::create_directory(odd);
  auto r = plot::line(odd / "eps'; set output 'evil.png", two_series(), {"'; set output 'evil2.png", "", ""}, quiet());
  BOOST_TEST_INFO(r.note);
  BOOST_CHECK(r.drawn);
  BOOST_CHECK(is_png(odd / "eps'; set output 'evil.png.png"));
  BOOST_CHECK((names_in(odd) == std::set<std::string>{"eps'; set output 'evil.png.csv", "eps'; set output 'evil.png.png"}));
  BOOST_CHECK((names_in(dir.path) == std::set<std::string>{odd.filename().string()}));
  BOOST_CHECK(!fs::exists("INJECTED") && !fs::exists("INJECTED2") && !fs::exists("evil.png") &&
              !fs::exists("evil2.png"));
}
