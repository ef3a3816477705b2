// Runs a lesson program (its path in $LESSON, set by meson) with --out in a fresh directory and
// reads back what it wrote: its standard output, its claims (key → measured) and its CSV files.
#pragma once
#include <stdlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/test/unit_test.hpp>
#include <fmt/format.h>

#include <plot/plot.hpp>

namespace lesson_test {

namespace fs = std::filesystem;

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool is_png(const fs::path& p) {
  const std::string bytes = fs::exists(p) ? read_text(p) : "";
  return bytes.size() > 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

// Splits one CSV line (fields may be "quoted", with "" for a quote).
inline std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
    else if (c == '"') quoted = !quoted;
    else if (c == ',' && !quoted) fields.emplace_back();
    else fields.back() += c;
  }
  return fields;
}

// A CSV file as columns by header name (empty cells read as NaN; blank lines skipped).
inline std::map<std::string, std::vector<double>> read_columns(const fs::path& p) {
  std::istringstream in(read_text(p));
  std::string line;
  std::getline(in, line);
  const auto names = split_csv(line);
  std::map<std::string, std::vector<double>> columns;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto cells = split_csv(line);
    for (std::size_t i = 0; i < names.size() && i < cells.size(); ++i)
      columns[names[i]].push_back(cells[i].empty() ? NAN : std::stod(cells[i]));
  }
  return columns;
}

struct Run {
  fs::path out;
  std::string stdout_text, stderr_text;
  std::map<std::string, double> claims;

  double claim(const std::string& key) const {
    const auto it = claims.find(key);
    BOOST_REQUIRE_MESSAGE(it != claims.end(), "no claim '" << key << "' in the claims CSV");
    return it->second;
  }
  // The CSV was written; the PNG too when gnuplot is there (else the program printed the note).
  void check_picture(const std::string& stem) const {
    BOOST_TEST_INFO(stem);
    BOOST_CHECK(fs::exists(out / (stem + ".csv")) || fs::exists(out / (stem + "_grid.csv")));
    if (plot::gnuplot_available()) BOOST_CHECK(is_png(out / (stem + ".png")));
  }
};

// Runs $LESSON --out <fresh directory> [extra arguments] (Cleanup removes the directory).
// `env` prefixes the command with variable settings ("DLCOURSE_GNUPLOT=/nowhere").
inline Run run_lesson(const std::string& extra = "", const std::string& env = "") {
  const char* program = std::getenv("LESSON");
  BOOST_REQUIRE_MESSAGE(program, "LESSON (the lesson program's path) is not set: run through meson test");
  std::string pattern = (fs::temp_directory_path() / "lesson_XXXXXX").string();
  Run run;
  run.out = ::mkdtemp(pattern.data());
  // The paths are mkdtemp's and meson's (no quotes in them).
  const std::string command =
      fmt::format("{} '{}' --out '{}' {} > '{}' 2> '{}'", env, program, run.out.string(), extra,
                  (run.out / "stdout.txt").string(), (run.out / "stderr.txt").string());
  BOOST_REQUIRE_EQUAL(std::system(command.c_str()), 0);
  run.stdout_text = read_text(run.out / "stdout.txt");
  run.stderr_text = read_text(run.out / "stderr.txt");
  BOOST_TEST_MESSAGE(run.stdout_text);
  for (const auto& e : fs::directory_iterator(run.out)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 11 && name.ends_with("_claims.csv")) {
      std::istringstream in(read_text(e.path()));
      std::string line;
      std::getline(in, line);
      while (std::getline(in, line)) {
        const auto cells = split_csv(line);
        if (cells.size() == 3) run.claims[cells[0]] = std::stod(cells[2]);
      }
    }
  }
  BOOST_REQUIRE_MESSAGE(!run.claims.empty(), "the lesson wrote no claims CSV in " << run.out);
  return run;
}

// Removes the run's directory when the test is done with it.
struct Cleanup {
  fs::path dir;
  ~Cleanup() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

}  // namespace lesson_test
