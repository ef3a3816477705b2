// The four figures: each writes its CSV files, then a gnuplot script that reads them. Every string
// from the caller (file names, titles, series names) enters the script through gnuplot_string().
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "csv_writer.hpp"
#include "gnuplot_process.hpp"
#include "plot/plot.hpp"

namespace plot {

using detail::CsvWriter;

namespace {

// Ten colours from ColorBrewer's Set1/Dark2 (points and paths) and their pale twins (regions).
constexpr const char* strong[] = {"#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00",
                                  "#a65628", "#f781bf", "#666666", "#1b9e77", "#d4b000"};
constexpr const char* pale[] = {"#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6",
                                "#e5d8bd", "#fddaec", "#dddddd", "#b3e2cd", "#fff2ae"};

std::filesystem::path with_suffix(const std::filesystem::path& stem, const char* suffix) {
  return std::filesystem::path(stem.string() + suffix);  // not replace_extension: "eps_1e-7"
}

std::string header(const Result& r, const Labels& labels, const Options& options) {
  std::string s;
  s += "set encoding utf8\n";
  s += fmt::format("set terminal pngcairo size {},{} noenhanced font 'sans,10'\n", options.width, options.height);
  s += "set output " + gnuplot_string(r.png.string()) + "\n";
  s += "set datafile separator comma\nset datafile columnheaders\n";
  s += "set title " + gnuplot_string(labels.title) + "\n";
  s += "set xlabel " + gnuplot_string(labels.x) + "\n";
  s += "set ylabel " + gnuplot_string(labels.y) + "\n";
  s += "set grid\nset key outside right top\n";
  return s;
}

Result start(const std::filesystem::path& stem) {
  Result r;
  r.png = with_suffix(stem, ".png");
  return r;
}

void write_function_grid(Result& r, const std::filesystem::path& stem, const Grid& f) {
  r.csv.push_back(with_suffix(stem, "_grid.csv"));
  detail::write_grid(r.csv.back(), {"x", "y", f.z_name}, f.x, f.y, f.z);
}

// The shaded function with its contour lines, as the first items of an splot in map view.
std::string contour_items(const std::filesystem::path& grid, const ContourStyle& style, std::string& setup) {
  setup += "set view map\nset contour base\nset cntrlabel onecolor\n";
  setup += fmt::format("set cntrparam levels auto {}\n", style.levels);
  setup += "set palette defined (0 '#ffffff', 1 '#9ecae1', 2 '#3182bd')\nunset colorbox\n";
  setup += "set style textbox opaque noborder\n";
  const std::string z = style.log_z ? "(log10($3))" : "3";
  const std::string file = gnuplot_string(grid.string());
  return fmt::format("{0} using 1:2:{1} with pm3d nocontours notitle, {0} using 1:2:{1} with lines lc rgb '#555555' "
                     "nosurface notitle",
                     file, z);
}

}  // namespace

Grid Grid::axes(double x0, double x1, std::size_t n_x, double y0, double y1, std::size_t n_y) {
  Grid g;
  auto even = [](double a, double b, std::size_t n) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = n == 1 ? a : a + (b - a) * double(i) / double(n - 1);
    return v;
  };
  g.x = even(x0, x1, n_x);
  g.y = even(y0, y1, n_y);
  g.z.assign(n_x * n_y, 0.0);
  return g;
}

std::string gnuplot_string(std::string_view s) {
  // Single-quoted gnuplot strings take every byte literally, but gnuplot scans each line for
  // backquote and @macro substitutions first, tracking quotes naively (a ' inside "..." toggles
  // it). So the bytes that scan could see as a quote, an escape or a substitution (' " ` @ \),
  // and line breaks and other control bytes, go in double-quoted octal pieces ("\047") joined to
  // the single-quoted runs with gnuplot's '.': the script holds no such byte inside a string.
  std::string out;
  std::string piece;
  auto join = [&](const std::string& part) { out += (out.empty() ? "" : ".") + part; };
  auto flush = [&] {
    if (!piece.empty()) join("'" + piece + "'");
    piece.clear();
  };
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '\'' || c == '"' || c == '`' || c == '@' || c == '\\') {
      flush();
      join(fmt::format("\"\\{:03o}\"", c));
    } else {
      piece += char(c);
    }
  }
  flush();
  return out.empty() ? "''" : out;
}

Result line(const std::filesystem::path& stem, const LinePlot& data, const Labels& labels, const Options& options) {
  Result r = start(stem);
  for (const auto& s : data.series)
    if (s.y.size() != data.x.size())
      throw Error(fmt::format("plot::line {}: series '{}' has {} values for {} x values", stem.string(), s.name,
                              s.y.size(), data.x.size()));
  r.csv.push_back(with_suffix(stem, ".csv"));
  CsvWriter csv(r.csv.back());
  std::vector<std::string> names{data.x_name};
  for (const auto& s : data.series) names.push_back(s.name);
  csv.header(names);
  for (std::size_t i = 0; i < data.x.size(); ++i) {
    std::vector<double> row{data.x[i]};
    for (const auto& s : data.series) row.push_back(s.y[i]);
    csv.row(row);
  }
  csv.close();

  std::string script = header(r, labels, options);
  if (data.log_x) script += "set logscale x\nset format x '1e%L'\n";
  if (data.log_y) script += "set logscale y\nset format y '1e%L'\n";
  const std::string file = gnuplot_string(r.csv.back().string());
  std::string items;
  for (std::size_t k = 0; k < data.series.size(); ++k)
    items += fmt::format("{}{} using 1:{} with {} lw 2 lc rgb '{}' title {}", k ? ", " : "", file, k + 2,
                         !data.points ? "lines" : data.lines ? "linespoints pt 7 ps 0.6" : "points pt 7 ps 0.8", strong[k % 10],
                         gnuplot_string(data.series[k].name));
  script += "plot " + items + "\n";
  detail::draw(r, script, options);
  return r;
}

Result regions(const std::filesystem::path& stem, const Points& points, const Grid& classes, const Labels& labels,
               const Options& options) {
  Result r = start(stem);
  if (points.y.size() != points.x.size() || points.label.size() != points.x.size())
    throw Error(fmt::format("plot::regions {}: {} x, {} y and {} labels", stem.string(), points.x.size(),
                            points.y.size(), points.label.size()));
  r.csv.push_back(with_suffix(stem, ".csv"));
  CsvWriter csv(r.csv.back());
  csv.header({"x", "y", "class"});
  for (std::size_t i = 0; i < points.x.size(); ++i) csv.row({points.x[i], points.y[i], double(points.label[i])});
  csv.close();
  r.csv.push_back(with_suffix(stem, "_grid.csv"));
  detail::write_grid(r.csv.back(), {"x", "y", "class"}, classes.x, classes.y, classes.z);

  std::string script = header(r, labels, options);
  // Class k is colour k: a palette of pale colours indexed 0..9 for the grid, and a function
  // giving the strong colour of a point's class.
  script += "set palette maxcolors 10\nset palette defined (";
  for (int k = 0; k < 10; ++k) script += fmt::format("{}{} '{}'", k ? ", " : "", k, pale[k]);
  script += ")\nset cbrange [-0.5:9.5]\nunset colorbox\nunset grid\n";
  script += "strong(k) = ";
  for (int k = 0; k < 10; ++k) script += fmt::format("k == {} ? 0x{} : ", k, std::string(strong[k] + 1));
  script += "0x000000\n";
  script += fmt::format("set xrange [{}:{}]\nset yrange [{}:{}]\n", classes.x.front(), classes.x.back(),
                        classes.y.front(), classes.y.back());
  script += fmt::format(
      "plot {0} using 1:2:(int($3) % 10) with image pixels notitle, {1} using 1:2:(strong(int($3) % 10)) with points "
      "pt 7 ps 0.8 lc rgb variable notitle\n",
      gnuplot_string(r.csv[1].string()), gnuplot_string(r.csv[0].string()));
  detail::draw(r, script, options);
  return r;
}

Result contours(const std::filesystem::path& stem, const Grid& f, const Labels& labels, const ContourStyle& style,
                const Options& options) {
  Result r = start(stem);
  write_function_grid(r, stem, f);
  std::string script = header(r, labels, options);
  const std::string items = contour_items(r.csv[0], style, script);
  script += "splot " + items + "\n";
  detail::draw(r, script, options);
  return r;
}

Result trajectories(const std::filesystem::path& stem, const Grid& f, const std::vector<Trajectory>& paths,
                    const Labels& labels, const ContourStyle& style, const Options& options) {
  Result r = start(stem);
  std::size_t longest = 0;
  for (const auto& p : paths) {
    if (p.y.size() != p.x.size())
      throw Error(fmt::format("plot::trajectories {}: path '{}' has {} x and {} y", stem.string(), p.name,
                              p.x.size(), p.y.size()));
    longest = std::max(longest, p.x.size());
  }
  r.csv.push_back(with_suffix(stem, ".csv"));
  CsvWriter csv(r.csv.back());
  std::vector<std::string> names{"step"};
  for (const auto& p : paths) {
    names.push_back(p.name + "_x");
    names.push_back(p.name + "_y");
  }
  csv.header(names);
  for (std::size_t i = 0; i < longest; ++i) {
    std::vector<double> row{double(i)};
    for (const auto& p : paths) {
      row.push_back(i < p.x.size() ? p.x[i] : NAN);
      row.push_back(i < p.y.size() ? p.y[i] : NAN);
    }
    csv.row(row);
  }
  csv.close();
  write_function_grid(r, stem, f);

  std::string script = header(r, labels, options);
  script += fmt::format("set xrange [{}:{}]\nset yrange [{}:{}]\n", f.x.front(), f.x.back(), f.y.front(), f.y.back());
  std::string items = contour_items(r.csv[1], style, script);
  const std::string file = gnuplot_string(r.csv[0].string());
  for (std::size_t k = 0; k < paths.size(); ++k)
    items += fmt::format(", {} using {}:{}:(0) with linespoints pt 7 ps 0.5 lw 2 lc rgb '{}' nocontours title {}",
                         file, 2 * k + 2, 2 * k + 3, strong[k % 10], gnuplot_string(paths[k].name));
  script += "splot " + items + "\n";
  detail::draw(r, script, options);
  return r;
}

}  // namespace plot
