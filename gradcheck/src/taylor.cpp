// The ε-free second opinion on a failing block: how the Taylor remainder shrinks with the step.
#include <cmath>
#include <random>

#include "diagnose.hpp"

namespace gc::detail {
namespace {

double norm(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v * v;
  return std::sqrt(s);
}

}  // namespace

double taylor_slope(Evaluator& J, BlockView& b, double J0, const Comparison& c, bool directional,
                    std::mt19937_64& rng) {
  const std::size_t n = b.size();
  std::vector<double> v(n, 0.0), original(n);
  if (!directional)  // along the measured error: there a wrong gradient's first-order term is largest
    for (std::size_t k = 0; k < c.index.size(); ++k) v[c.index[k]] = c.numeric[k] - c.analytic[k];
  if (directional || norm(v) == 0 || !std::isfinite(norm(v))) {
    std::normal_distribution<double> normal;
    for (double& x : v) x = normal(rng);
  }
  const double vnorm = norm(v);
  double scale = 1;
  for (std::size_t k = 0; k < n; ++k) {
    original[k] = b.get(k);
    scale = std::max(scale, std::abs(original[k]));
  }
  // h shrinks until the remainder nears rounding: a wrong gradient's linear term ~h·‖n − a‖
  // overtakes the h² term as h falls, a right gradient's remainder stays ~h². The slope is read
  // off the smallest three steps above rounding (with a 100× margin).
  const double floor = 100 * J.unit_roundoff * std::max(1.0, std::abs(J0)) * 4;
  std::vector<std::pair<double, double>> points;
  for (int e = 0; e <= 16; ++e) {
    const double h = 1e-1 * std::pow(10.0, -0.5 * e);
    const double step = h * scale / vnorm;
    double derivative = 0;
    for (std::size_t k = 0; k < n; ++k) {
      b.set(k, original[k] + step * v[k]);
      derivative += b.analytic[k] * (b.get(k) - original[k]);
    }
    const double remainder = std::abs(J() - J0 - derivative);
    if (!(remainder > floor)) break;
    points.emplace_back(std::log(h), std::log(remainder));
  }
  for (std::size_t k = 0; k < n; ++k) b.set(k, original[k]);
  if (points.size() < 3) return 0;
  points.erase(points.begin(), points.end() - 3);
  double mean_x = 0, mean_y = 0, numerator = 0, denominator = 0;
  for (auto [x, y] : points) {
    mean_x += x / 3;
    mean_y += y / 3;
  }
  for (auto [x, y] : points) {
    numerator += (x - mean_x) * (y - mean_y);
    denominator += (x - mean_x) * (x - mean_x);
  }
  return numerator / denominator;
}

}  // namespace gc::detail
