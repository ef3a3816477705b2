// What the tests of the dlcourse executable share: its path (and mpirun's) from the environment
// meson sets, running it in a directory with stdout captured and stderr in the file "err", reading
// a file back, and the small 3-class CSV data set they train on.
#pragma once

#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace dlcourse_test {

namespace fs = std::filesystem;

// A variable meson sets for the test ($DLCOURSE, $MPIRUN); the test fails without it.
inline std::string env(const char* name) {
  const char* v = std::getenv(name);
  BOOST_REQUIRE_MESSAGE(v, name << " is not set (meson sets it)");
  return v;
}

inline std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Run {
  int status;       // the exit status (-1 when killed by a signal)
  std::string out;  // standard output
  std::string err;  // standard error (also left in dir/err)
};

// Runs `launcher` + dlcourse + `args` in `dir` (launcher: e.g. "mpirun -np 2 ", or empty).
inline Run run_dlcourse(const fs::path& dir, const std::string& args, const std::string& launcher = "") {
  const std::string cmd = "cd '" + dir.string() + "' && " + launcher + "'" + env("DLCOURSE") + "' " + args + " 2>err";
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, read(dir / "err")};
}

// `rows` examples of 3 classes (label first, then 3 features: class c centred at (c, -c, 0) with
// unit noise), the same for the same seed.
inline void write_three_class_csv(const fs::path& path, int rows, unsigned seed = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  std::ofstream csv(path);
  for (int i = 0; i < rows; ++i) {
    const int c = i % 3;
    csv << c << ',' << c + noise(rng) << ',' << -c + noise(rng) << ',' << noise(rng) << '\n';
  }
}

}  // namespace dlcourse_test
