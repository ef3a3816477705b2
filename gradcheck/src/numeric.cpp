// The numeric primitives: centered and one-sided differences of J, per element or along a
// direction, the kink rule that judges an element across a kink by its one-sided interval, and the
// comparison's figures. They measure; the verdict (verdict.cpp) and the search (driver.cpp) decide.
#include "numeric.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gc::detail {

Comparison elements(Evaluator& J, BlockView& b, const std::vector<std::size_t>& idx, double eps,
                    const std::vector<std::uint8_t>& base) {
  Comparison c;
  c.reserve(idx.size());
  for (std::size_t i : idx) {
    const Difference d = differences(J, b, i, eps, base);
    c.push(i, d.centered, b.analytic[i], d.left, d.right, d.kink);
  }
  return c;
}

// The elements of `idx` at ε, those across a kink judged by their one-sided interval.
Comparison judged_elements(Evaluator& J, BlockView& b, const std::vector<std::size_t>& idx, double eps, const Options& o,
                           const std::vector<std::uint8_t>& base, std::size_t& kinks) {
  return judge_kinks(elements(J, b, idx, eps, base), o, eps, J.unit_roundoff, J.at_theta, kinks);
}

// One random unit direction v on the block: (J(θ+hv) − J(θ−hv)) / 2h against ∇J·v, where the
// analytic side uses the perturbation actually stored (float parameters round θ ± hv).
Comparison directional(Evaluator& J, BlockView& b, const std::vector<double>& v, double eps,
                       const std::vector<std::uint8_t>& base) {
  const std::size_t n = b.size();
  std::vector<double> original(n), plus(n), minus(n);
  double scale = 1;
  for (std::size_t k = 0; k < n; ++k) {
    original[k] = b.get(k);
    scale = std::max(scale, std::abs(original[k]));
  }
  const double h = eps * scale;
  bool kink = false;
  auto evaluate = [&](double sign, std::vector<double>& stored) {
    for (std::size_t k = 0; k < n; ++k) {
      b.set(k, original[k] + sign * h * v[k]);
      stored[k] = b.get(k);
    }
    const double value = J();
    kink = J.crossed(base) || kink;
    return value;
  };
  const double jp = evaluate(+1, plus), jm = evaluate(-1, minus);
  for (std::size_t k = 0; k < n; ++k) b.set(k, original[k]);
  double directional_derivative = 0;
  for (std::size_t k = 0; k < n; ++k) directional_derivative += b.analytic[k] * (plus[k] - minus[k]) / (2 * h);
  Comparison c;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  c.push(0, (jp - jm) / (2 * h), directional_derivative, nan, nan, kink);
  c.centered = kink ? 0 : 1;
  return c;
}

std::vector<double> random_unit(std::size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::vector<double> v(n);
  double norm = 0;
  for (double& x : v) {
    x = normal(rng);
    norm += x * x;
  }
  norm = std::sqrt(norm);
  for (double& x : v) x /= norm;
  return v;
}


Comparison judge_kinks(Comparison judged, const Options& o, double eps, double unit_roundoff, double cost,
                       std::size_t& kinks) {
  const Comparison& c = judged;  // read before each element is judged: element k reads only itself
  kinks = 0;
  judged.centered = 0;
  for (std::size_t k = 0; k < c.index.size(); ++k) {
    const double n = c.numeric[k], a = c.analytic[k];
    const double err = (n == 0 && a == 0) ? 0 : std::abs(n - a) / (std::abs(n) + std::abs(a));
    if (!c.kink[k] || err <= o.pass_threshold) {
      judged.kink[k] = false;
      ++judged.centered;
      continue;
    }
    // The one-sided differences carry their truncation (~h·|J''|, allowed as the relative step ε
    // of their size) and rounding (~u·|J|/h, h ≥ ε).
    const double low = std::min(c.left[k], c.right[k]), high = std::max(c.left[k], c.right[k]);
    if (!std::isfinite(low) || !std::isfinite(high)) continue;  // no interval: the centered difference stands
    const double size = std::max(std::abs(low), std::abs(high));
    const double slack = (o.fail_threshold + eps) * size + 16 * unit_roundoff * std::max(1.0, std::abs(cost)) / eps;
    judged.numeric[k] = std::clamp(a, low - slack, high + slack);
    if (judged.numeric[k] == a) ++kinks;
  }
  return judged;
}

Errors compare(const Comparison& c) {
  Errors e;
  double diff2 = 0;
  for (std::size_t k = 0; k < c.index.size(); ++k) {
    const double d = c.numeric[k] - c.analytic[k];
    diff2 += d * d;
    e.numeric_norm += c.numeric[k] * c.numeric[k];
    e.analytic_norm += c.analytic[k] * c.analytic[k];
    if (std::abs(d) > e.max_abs || k == 0) {
      e.max_abs = std::abs(d);
      e.worst = k;
    }
  }
  e.numeric_norm = std::sqrt(e.numeric_norm);
  e.analytic_norm = std::sqrt(e.analytic_norm);
  const double denominator = e.numeric_norm + e.analytic_norm;
  e.relative = denominator == 0 ? 0 : std::sqrt(diff2) / denominator;
  return e;
}

Difference difference(double jm, double j0, double jp, const ElementStep& s) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (s.up == s.down) return {nan, nan, nan, s.kink};
  const double left = s.down == s.original ? nan : (j0 - jm) / (s.original - s.down);
  const double right = s.up == s.original ? nan : (jp - j0) / (s.up - s.original);
  return {(jp - jm) / (s.up - s.down), left, right, s.kink};
}

Difference differences(Evaluator& J, BlockView& b, std::size_t i, double eps, const std::vector<std::uint8_t>& base) {
  double jp = 0, jm = 0;
  const ElementStep s = step_element(b, i, eps, [&](int sign) {
    (sign > 0 ? jp : jm) = J();
    return J.crossed(base);
  });
  return difference(jm, J.at_theta, jp, s);
}

double numeric_element(Evaluator& J, BlockView& b, std::size_t i, double eps, const std::vector<std::uint8_t>& base) {
  return differences(J, b, i, eps, base).centered;
}

}  // namespace gc::detail
