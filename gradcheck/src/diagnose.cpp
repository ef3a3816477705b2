// Why a block probably failed: the patterns that real backward bugs leave in the numbers.
#include <algorithm>
#include <cmath>

#include "internal.hpp"

namespace gc::detail {
namespace {

double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0;
  for (std::size_t k = 0; k < x.size(); ++k) s += x[k] * y[k];
  return s;
}

double norm(const std::vector<double>& x) { return std::sqrt(dot(x, x)); }

// ‖x − y‖ / (‖x‖ + ‖y‖).
double distance(const std::vector<double>& x, const std::vector<double>& y) {
  double d = 0;
  for (std::size_t k = 0; k < x.size(); ++k) d += (x[k] - y[k]) * (x[k] - y[k]);
  const double denominator = norm(x) + norm(y);
  return denominator == 0 ? 0 : std::sqrt(d) / denominator;
}

// How closely a pattern must fit: well below a bug's error, above the rounding of a correct check
// (float checks pass up to 1e-3, so their patterns are allowed 10× that).
double pattern_tolerance(const Options& o) { return std::max(1e-4, 10 * o.pass_threshold); }

// "analytic is 16× numeric": a hint for the usual constant factors.
std::string ratio_hint(double c) {
  const double k = std::round(c), inverse = std::round(1 / c);
  if (std::abs(c - 2) < 1e-3) return "a factor 2 (the derivative of a square taken twice, or ½ left out?)";
  if (std::abs(c - 0.5) < 1e-3) return "a factor ½ (a 2 missing from the derivative of a square?)";
  if (k >= 2 && std::abs(c - k) < 1e-3 * k) return fmt::format("a missing 1/m (m = {:.0f})?", k);
  if (inverse >= 2 && std::abs(1 / c - inverse) < 1e-3 * inverse)
    return fmt::format("divided by m twice, or an extra 1/{:.0f}?", inverse);
  return "a wrong constant factor";
}

// numeric − analytic ≈ c·θ, fitted by least squares: an L2 term in the cost that backward left
// out, recognised without knowing λ/m (c estimates it). 0 when it does not fit: too few elements
// (one always fits), θ = 0, c ≤ 0 (L2 only adds), or a residual over 1% of ‖n − a‖.
double l2_left_out_scale(const std::vector<double>& difference, const std::vector<double>& theta) {
  const double theta_squared = dot(theta, theta);
  if (difference.size() < 4 || theta_squared == 0) return 0;
  const double c = dot(difference, theta) / theta_squared;
  double residual = 0;
  for (std::size_t k = 0; k < theta.size(); ++k) residual += std::pow(difference[k] - c * theta[k], 2);
  return c > 0 && std::sqrt(residual) < 0.01 * norm(difference) ? c : 0;
}

}  // namespace

void diagnose(Evaluator& J, BlockView& b, const Comparison& c, const Options& o, BlockResult& r, bool probe) {
  const auto& n = c.numeric;
  const auto& a = c.analytic;
  if (n.empty()) return;
  if (norm(a) == 0 && norm(n) > 0) {
    r.diagnosis = b.reached ? "analytic gradient is zero where the numeric one is not: backward drops this block"
                            : "analytic gradient is zero where the numeric one is not: the block is disconnected "
                              "from the cost in backward (the sweep never reached it)";
    return;
  }
  if (norm(n) == 0 && norm(a) > 0) {
    r.diagnosis = "numeric gradient is zero where the analytic one is not: the cost does not depend on this block, "
                  "but backward writes a gradient to it";
    return;
  }
  const double tolerance = pattern_tolerance(o);
  // A weight block's gradient is data term + L2 term, and a bug usually sits in one of them: the
  // patterns are looked for in the whole gradient and then, when L2 is on, in the data term alone
  // (the L2 gradient (λ/m)·θ taken out of both sides).
  std::vector<double> l2(n.size(), 0.0);
  if (o.l2_scale > 0)
    for (std::size_t k = 0; k < n.size(); ++k) l2[k] = o.l2_scale * b.get(c.index[k]);
  auto minus = [](const std::vector<double>& x, const std::vector<double>& y) {
    std::vector<double> d(x.size());
    for (std::size_t k = 0; k < x.size(); ++k) d[k] = x[k] - y[k];
    return d;
  };
  struct Part {
    std::vector<double> analytic, numeric;
    const char* prefix;
  };
  std::vector<Part> parts{{a, n, ""}};
  if (o.l2_scale > 0)
    parts.push_back({minus(a, l2), minus(n, l2), "in the data term (the L2 gradient (λ/m)·θ taken out): "});

  // a ≈ c·n for one constant c: a sign flip or a scale error. Named only when c is measurably
  // not 1: the part of the difference the factor explains, |c − 1|·‖n‖, stands well (10×) above
  // what it leaves unexplained (the fit's residual); at rounding level the two are alike.
  for (const auto& p : parts) {
    const double numeric_squared = dot(p.numeric, p.numeric);
    if (numeric_squared == 0) continue;
    const double ratio = dot(p.analytic, p.numeric) / numeric_squared;
    std::vector<double> scaled(n.size());
    for (std::size_t k = 0; k < n.size(); ++k) scaled[k] = ratio * p.numeric[k];
    const double residual = distance(p.analytic, scaled);
    double unexplained = 0;
    for (std::size_t k = 0; k < n.size(); ++k) unexplained += std::pow(p.analytic[k] - scaled[k], 2);
    const bool measurable = std::abs(ratio - 1) * std::sqrt(numeric_squared) > 10 * std::sqrt(unexplained);
    if (residual < tolerance && measurable) {
      if (std::abs(ratio + 1) < 1e-3)
        r.diagnosis = fmt::format("{}sign flip: analytic = −numeric (fit residual {:.1e})", p.prefix, residual);
      else
        r.diagnosis = fmt::format("{}analytic is {:.4g}× numeric for every element (fit residual {:.1e}): {}", p.prefix,
                                  ratio, residual, ratio_hint(ratio));
      return;
    }
  }
  // The transposed gradient: analytic(i, j) = numeric(j, i) (square blocks).
  if (probe && b.shape[0] == b.shape[1] && b.shape[0] > 1) {
    const std::size_t cols = b.shape[1];
    std::vector<double> transposed_numeric, transposed_l2;
    std::vector<std::uint8_t> base;
    if (J.branches) J.branches(base);
    for (std::size_t i : c.index) {
      const std::size_t t = (i % cols) * cols + i / cols;
      transposed_numeric.push_back(numeric_element(J, b, t, r.best_eps, base));
      transposed_l2.push_back(o.l2_scale * b.get(t));
    }
    // With L2 on, only the data term is transposed: a − (λ/m)·θ = (n − (λ/m)·θ)ᵀ.
    const bool transposed =
        distance(a, transposed_numeric) < tolerance ||
        (o.l2_scale > 0 && distance(minus(a, l2), minus(transposed_numeric, transposed_l2)) < tolerance);
    if (transposed) {
      r.diagnosis = "analytic is the transpose of numeric: a transposed gradient (dW = dZ·Aᵀ written as (dZ·Aᵀ)ᵀ?)";
      return;
    }
  }
  // The L2 term in the cost but not in backward: numeric − analytic = (λ/m)·W.
  if (o.l2_scale > 0 && distance(minus(n, a), l2) < tolerance) {
    r.diagnosis = fmt::format("numeric − analytic = (λ/m)·{} with λ/m = {:g}: the L2 term is in the cost but left out "
                              "of backward",
                              b.name, o.l2_scale);
    return;
  }
  // The same without λ/m: fitted (needs θ, which a Jacobian's blocks, probe == false, do not have).
  if (probe) {
    std::vector<double> theta(n.size());
    for (std::size_t k = 0; k < n.size(); ++k) theta[k] = b.get(c.index[k]);
    if (const double scale = l2_left_out_scale(minus(n, a), theta); scale > 0) {
      r.diagnosis = fmt::format("numeric − analytic = c·{} with c = {:.4g} (least squares): the L2 term (λ/m)·{} left "
                                "out of backward? (λ/m ≈ {:.4g})",
                                b.name, scale, b.name, scale);
      return;
    }
  }
  const std::size_t cols = std::max<std::size_t>(b.shape[1], 1);
  r.diagnosis = fmt::format("no simple pattern (not a constant factor, sign, transpose{}); worst element ({}, {}): "
                            "numeric {:.6g}, analytic {:.6g}",
                            o.l2_scale > 0 || probe ? " or missing L2" : "", r.worst_index / cols, r.worst_index % cols,
                            r.worst_numeric, r.worst_analytic);
}

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
