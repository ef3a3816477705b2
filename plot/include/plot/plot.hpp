// Pictures for the lessons: each figure writes its data as CSV (stem.csv, and stem_grid.csv for a
// 2-D function) and asks gnuplot (Debian: gnuplot-nox) to draw stem.png from it, through a pipe.
// Without gnuplot, or when gnuplot fails, the CSV files are still written, one line on stderr says
// why there is no PNG, and the Result says so too: drawing never fails a program.
//
//   plot::LinePlot eps{.x_name = "epsilon", .x = eps_values,
//                      .series = {{"centered", centered_err}, {"one-sided", one_sided_err}},
//                      .log_x = true, .log_y = true};
//   auto r = plot::line(out / "lesson1_eps", eps, {.title = "error vs ε", .x = "ε", .y = "error"});
//   // r.csv = {out/lesson1_eps.csv}, r.png = out/lesson1_eps.png, r.drawn
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <autodiff/errors.hpp>

namespace plot {

// A data file that cannot be written (its path is in the message). Drawing problems never throw.
struct Error : ad::Error {
  using ad::Error::Error;
};

struct Labels {
  std::string title, x, y;
};

struct Options {
  // The gnuplot program. Empty: $DLCOURSE_GNUPLOT when set, else "gnuplot" looked up on PATH.
  std::string gnuplot;
  int width = 720, height = 480;  // pixels
  bool print_note = true;         // print the one-line note on stderr when no PNG was drawn (once per PNG path)
};

struct Result {
  std::vector<std::filesystem::path> csv;  // the data files written
  std::filesystem::path png;               // where the picture is (when drawn)
  bool drawn = false;
  std::string note;  // why there is no PNG (empty when drawn)
};

// One curve of a line plot: y values at the plot's x values (NaN/Inf: a gap, empty in the CSV).
struct Series {
  std::string name;
  std::vector<double> y;
};

struct LinePlot {
  std::string x_name = "x";
  std::vector<double> x;
  std::vector<Series> series;
  bool log_x = false, log_y = false;  // log-log plot: both
  bool points = true;                 // mark each value, not only the line
  bool lines = true;                  // false (with points): a scatter of unconnected points
};

// A function sampled on a grid: z[i * y.size() + j] = f(x[i], y[j]).
struct Grid {
  std::vector<double> x, y, z;
  std::string z_name = "z";
  // n_x × n_y points evenly spaced over [x0, x1] × [y0, y1], z filled with f(x, y).
  template <class F>
  static Grid sample(double x0, double x1, std::size_t n_x, double y0, double y1, std::size_t n_y, F f) {
    Grid g = axes(x0, x1, n_x, y0, y1, n_y);
    for (std::size_t i = 0; i < n_x; ++i)
      for (std::size_t j = 0; j < n_y; ++j) g.at(i, j) = f(g.x[i], g.y[j]);
    return g;
  }
  static Grid axes(double x0, double x1, std::size_t n_x, double y0, double y1, std::size_t n_y);
  double& at(std::size_t i, std::size_t j) { return z[i * y.size() + j]; }
  double at(std::size_t i, std::size_t j) const { return z[i * y.size() + j]; }
};

// Labelled points: class k in 0..9 (colours repeat after 10).
struct Points {
  std::vector<double> x, y;
  std::vector<int> label;
};

struct Trajectory {
  std::string name;
  std::vector<double> x, y;
};

struct ContourStyle {
  int levels = 12;
  bool log_z = false;  // contour log10(z) (z > 0): a cost's narrow valley shows more levels
};

// Curves against x: stem.csv holds x and one column per series.
Result line(const std::filesystem::path& stem, const LinePlot& data, const Labels& labels,
            const Options& options = {});

// Points coloured by class over the regions a model predicts (a grid of class indices):
// stem.csv holds the points (x, y, class), stem_grid.csv the grid.
Result regions(const std::filesystem::path& stem, const Points& points, const Grid& classes, const Labels& labels,
               const Options& options = {});

// Contour lines of a 2-D function over its shaded values: stem_grid.csv.
Result contours(const std::filesystem::path& stem, const Grid& f, const Labels& labels, const ContourStyle& style = {},
                const Options& options = {});

// Paths of (x, y) points over the contours of f: stem.csv holds step, <name>_x, <name>_y per path
// (a shorter path's cells left empty), stem_grid.csv the function.
Result trajectories(const std::filesystem::path& stem, const Grid& f, const std::vector<Trajectory>& paths,
                    const Labels& labels, const ContourStyle& style = {}, const Options& options = {});

// Is the gnuplot of `options` there and working (it runs `gnuplot --version`)?
bool gnuplot_available(const Options& options = {});

// `s` as a gnuplot string expression that gnuplot reads back byte for byte: single-quoted runs,
// and the bytes gnuplot's substitution scan would act on (' " ` @ \ and control bytes) as "\ooo".
std::string gnuplot_string(std::string_view s);

}  // namespace plot
