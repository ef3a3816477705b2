// Every lesson without gnuplot on PATH (and no DLCOURSE_GNUPLOT): it still exits 0, writes its
// claims and every figure's CSV, draws no PNG, and says why in one line per figure on stderr.
// Registered once per lesson (tests/lessons/meson.build), $LESSON naming the program.
#define BOOST_TEST_MODULE lesson without gnuplot
#include "lesson_run.hpp"

using namespace lesson_test;

BOOST_AUTO_TEST_CASE(csv_and_one_note_per_figure_and_exit_0) {
  const Run run = run_lesson("", "env -u DLCOURSE_GNUPLOT PATH=/nonexistent");  // run_lesson requires exit 0
  Cleanup cleanup{run.out};
  std::size_t data_files = 0, pictures = 0;
  for (const auto& e : fs::directory_iterator(run.out)) {
    const std::string name = e.path().filename().string();
    data_files += name.ends_with(".csv") && !name.ends_with("_claims.csv");
    pictures += name.ends_with(".png");
  }
  BOOST_TEST(data_files > 0u);
  BOOST_TEST(pictures == 0u);
  std::istringstream err(run.stderr_text);
  std::string line;
  std::size_t notes = 0;
  while (std::getline(err, line)) {
    if (line.rfind("plot: ", 0) != 0) continue;
    ++notes;
    BOOST_TEST(line.find("no gnuplot ('gnuplot'") != std::string::npos, line);
    BOOST_TEST(line.find("apt-get install gnuplot-nox") != std::string::npos, line);
  }
  BOOST_TEST(notes > 0u);
  BOOST_TEST(notes <= data_files);  // one note per figure, not per file or per series
}
