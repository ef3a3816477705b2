// Why a block probably failed: the patterns that real backward bugs leave in the numbers. Each
// pattern is a small detector that either names a cause the numbers support or says nothing; the
// first that speaks, in the order of the table at the end, is the diagnosis.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "diagnose.hpp"

namespace gc::detail {
namespace {

using Vector = std::vector<double>;

double dot(const Vector& x, const Vector& y) {
  double s = 0;
  for (std::size_t k = 0; k < x.size(); ++k) s += x[k] * y[k];
  return s;
}

double norm(const Vector& x) { return std::sqrt(dot(x, x)); }

Vector minus(const Vector& x, const Vector& y) {
  Vector d(x.size());
  for (std::size_t k = 0; k < x.size(); ++k) d[k] = x[k] - y[k];
  return d;
}

Vector scaled(const Vector& x, double c) {
  Vector y(x.size());
  for (std::size_t k = 0; k < x.size(); ++k) y[k] = c * x[k];
  return y;
}

// ‖x − y‖ / (‖x‖ + ‖y‖).
double distance(const Vector& x, const Vector& y) {
  const double denominator = norm(x) + norm(y);
  return denominator == 0 ? 0 : norm(minus(x, y)) / denominator;
}

// What every detector reads: the compared elements' numeric and analytic values, θ at them (empty
// without θ: a Jacobian's blocks), the block and the options.
struct Evidence {
  Evaluator& J;
  BlockView& b;
  const Comparison& c;
  const Options& o;
  const BlockResult& r;
  bool probe;  // extra evaluations allowed (the transposed elements)
  const Vector& n;
  const Vector& a;
  Vector theta;
  double tolerance;  // how closely a pattern must fit
};

using Cause = std::optional<std::string>;

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

// y ≈ c·x by least squares, named only when c is measurably not `unlike`: the part of the
// difference the factor explains, |c − unlike|·‖x‖, stands 10× above what the fit leaves (its
// residual); at rounding level the two are alike. nullopt: no such c.
struct Fit {
  double c, residual;  // residual relative: ‖y − c·x‖ / (‖y‖ + ‖c·x‖)
};
std::optional<Fit> factor(const Vector& y, const Vector& x, double unlike, double tolerance) {
  const double xx = dot(x, x);
  if (xx == 0 || x.size() < 1) return std::nullopt;
  const double c = dot(y, x) / xx;
  const Vector fitted = scaled(x, c);
  const double unexplained = norm(minus(y, fitted));
  const double residual = distance(y, fitted);
  if (!(residual < tolerance) || !(std::abs(c - unlike) * std::sqrt(xx) > 10 * unexplained)) return std::nullopt;
  return Fit{c, residual};
}

Cause dropped_block(Evidence& e) {
  if (!(norm(e.a) == 0 && norm(e.n) > 0)) return std::nullopt;
  return e.b.reached ? "analytic gradient is zero where the numeric one is not: backward drops this block"
                     : "analytic gradient is zero where the numeric one is not: the block is disconnected from the "
                       "cost in backward (the sweep never reached it)";
}

Cause phantom_gradient(Evidence& e) {
  if (!(norm(e.n) == 0 && norm(e.a) > 0)) return std::nullopt;
  return "numeric gradient is zero where the analytic one is not: the cost does not depend on this block, but "
         "backward writes a gradient to it";
}

// a ≈ c·n for one constant c: a sign flip or a scale error; with L2 known, in the data term alone.
Cause constant_factor(Evidence& e) {
  struct Part {
    Vector analytic, numeric;
    const char* prefix;
  };
  std::vector<Part> parts{{e.a, e.n, ""}};
  if (e.o.l2_scale > 0 && !e.theta.empty()) {
    const Vector l2 = scaled(e.theta, e.o.l2_scale);
    parts.push_back({minus(e.a, l2), minus(e.n, l2), "in the data term (the L2 gradient (λ/m)·θ taken out): "});
  }
  for (const auto& p : parts)
    if (const auto fit = factor(p.analytic, p.numeric, 1, e.tolerance)) {
      if (std::abs(fit->c + 1) < 1e-3)
        return fmt::format("{}sign flip: analytic = −numeric (fit residual {:.1e})", p.prefix, fit->residual);
      return fmt::format("{}analytic is {:.4g}× numeric for every element (fit residual {:.1e}): {}", p.prefix, fit->c,
                         fit->residual, ratio_hint(fit->c));
    }
  return std::nullopt;
}

// The transposed gradient: analytic(i, j) = numeric(j, i) (square blocks; with L2 known, only the
// data term transposed: a − (λ/m)·θ = (n − (λ/m)·θ)ᵀ).
Cause transposed(Evidence& e) {
  if (!e.probe || e.b.shape[0] != e.b.shape[1] || e.b.shape[0] < 2) return std::nullopt;
  const std::size_t cols = e.b.shape[1];
  Vector transposed_numeric, transposed_l2;
  std::vector<std::uint8_t> base;
  if (e.J.branches) e.J.branches(base);
  for (std::size_t i : e.c.index) {
    const std::size_t t = (i % cols) * cols + i / cols;
    transposed_numeric.push_back(numeric_element(e.J, e.b, t, e.r.best_eps, base));
    transposed_l2.push_back(e.o.l2_scale * e.b.get(t));
  }
  const Vector l2 = e.theta.empty() ? Vector(e.n.size(), 0.0) : scaled(e.theta, e.o.l2_scale);
  const bool fits = distance(e.a, transposed_numeric) < e.tolerance ||
                    (e.o.l2_scale > 0 && distance(minus(e.a, l2), minus(transposed_numeric, transposed_l2)) < e.tolerance);
  if (!fits) return std::nullopt;
  return "analytic is the transpose of numeric: a transposed gradient (dW = dZ·Aᵀ written as (dZ·Aᵀ)ᵀ?)";
}

// numeric − analytic = c·θ: backward's L2 gradient is off by c·θ. c = λ/m: left out; c < 0: too
// much (doubled, or an L2 term on a block the cost does not regularize, a bias); otherwise a wrong
// factor. With l2_scale known, the factor is named against it.
Cause l2_pattern(Evidence& e) {
  if (e.theta.empty() || e.n.size() < 2) return std::nullopt;
  const auto fit = factor(minus(e.n, e.a), e.theta, 0, 0.01);
  if (!fit) return std::nullopt;
  const double c = fit->c, scale = e.o.l2_scale;
  const std::string& name = e.b.name;
  const std::string fitted =
      fmt::format("numeric − analytic = c·{} with c = {:.4g} (least squares, residual {:.1e})", name, c, fit->residual);
  if (scale > 0) {
    const double in_backward = 1 - c / scale;  // backward's L2 gradient, in units of the cost's (λ/m)·θ
    if (std::abs(in_backward) < 1e-3)
      return fmt::format("numeric − analytic = (λ/m)·{} with λ/m = {:g} (fitted c = {:.4g}, residual {:.1e}): the L2 "
                         "term is in the cost but left out of backward",
                         name, scale, c, fit->residual);
    return fmt::format("{}: backward's L2 gradient is {:.4g}× the cost's (λ/m = {:g}){}", fitted, in_backward, scale,
                       std::abs(in_backward - 2) < 1e-3 ? ": applied twice, or to a block the cost does not regularize?"
                                                        : "");
  }
  if (c > 0)
    return fmt::format("{}: the L2 term (λ/m)·{} left out of backward? (λ/m ≈ {:.4g}), or its factor too small", fitted,
                       name, c);
  return fmt::format("{}: backward adds {:.4g}·{} that the cost's gradient does not have: an L2 gradient on a block the "
                     "cost does not regularize{}, or a wrong (too large) L2 factor",
                     fitted, -c, name, e.b.shape[0] == 1 || e.b.shape[1] == 1 ? " (a bias?)" : "");
}

// numeric ≈ c·analytic + k·θ, fitted jointly (needs no λ): a data term scaled by 1/c (a missing
// 1/m, a sign flip) under a right L2 term, whose λ/m is then k/(1 − c).
Cause joint_fit(Evidence& e) {
  if (e.theta.empty() || e.n.size() < 3) return std::nullopt;
  const double aa = dot(e.a, e.a), tt = dot(e.theta, e.theta), at = dot(e.a, e.theta);
  const double det = aa * tt - at * at;
  if (!(det > 1e-12 * aa * tt)) return std::nullopt;  // θ and the analytic gradient nearly parallel
  const double na = dot(e.n, e.a), nt = dot(e.n, e.theta);
  const double c = (na * tt - nt * at) / det, k = (nt * aa - na * at) / det;
  Vector fitted(e.n.size());
  for (std::size_t i = 0; i < fitted.size(); ++i) fitted[i] = c * e.a[i] + k * e.theta[i];
  const double residual = distance(e.n, fitted);
  const double unexplained = norm(minus(e.n, fitted));
  const bool measurable = std::abs(c - 1) * std::sqrt(aa) > 10 * unexplained && std::abs(k) * std::sqrt(tt) > 10 * unexplained;
  if (!(residual < e.tolerance) || !measurable || std::abs(1 - c) < 1e-6) return std::nullopt;
  const double data_factor = 1 / c, lambda = k / (1 - c);
  const std::string fit = fmt::format("joint fit numeric ≈ {:.4g}·analytic + {:.4g}·{}, residual {:.1e}", c, k, e.b.name, residual);
  if (std::abs(data_factor + 1) < 1e-3)
    return fmt::format("in the data term: sign flip (L2 term right, λ/m ≈ {:.4g}; {})", lambda, fit);
  return fmt::format("in the data term: analytic is {:.4g}× numeric (L2 term right, λ/m ≈ {:.4g}; {}): {}", data_factor,
                     lambda, fit, ratio_hint(data_factor));
}

// The error confined to one row (one unit) or one column (one input feature) of the block.
Cause one_row_or_column(Evidence& e) {
  const std::size_t rows = e.b.shape[0], cols = std::max<std::size_t>(e.b.shape[1], 1);
  if (rows * cols < 2) return std::nullopt;
  const Vector d = minus(e.n, e.a);
  const double total = norm(d);
  if (total == 0) return std::nullopt;
  std::size_t worst = 0;
  for (std::size_t k = 1; k < d.size(); ++k)
    if (std::abs(d[k]) > std::abs(d[worst])) worst = k;
  const std::size_t row = e.c.index[worst] / cols, col = e.c.index[worst] % cols;
  // Confined: what is left outside that row (column) is a hundredth of the error or less, and
  // there are compared elements outside it (rounding noise spreads over all of them).
  auto outside = [&](auto same) {
    double s = 0;
    std::size_t inside = 0;
    for (std::size_t k = 0; k < d.size(); ++k) {
      if (same(e.c.index[k])) ++inside;
      else s += d[k] * d[k];
    }
    return std::pair{inside < d.size() && std::sqrt(s) <= 0.01 * total, inside};
  };
  const auto [in_row, row_elements] = outside([&](std::size_t i) { return i / cols == row; });
  const auto [in_col, col_elements] = outside([&](std::size_t i) { return i % cols == col; });
  const bool row_only = rows > 1 && in_row, col_only = cols > 1 && in_col;
  if (row_only && col_only)
    return fmt::format("only element ({}, {}) is wrong: numeric {:.6g}, analytic {:.6g}", row, col, e.n[worst], e.a[worst]);
  if (row_only)
    return fmt::format("the error is confined to row {} (unit {}; {} of its elements compared): one unit's gradient is "
                       "wrong",
                       row, row, row_elements);
  if (col_only)
    return fmt::format("the error is confined to column {} (input feature {}; {} of its elements compared): one input's "
                       "gradient is wrong",
                       col, col, col_elements);
  return std::nullopt;
}

// In order: the plainest explanation first; the first detector that speaks is the diagnosis.
constexpr Cause (*detectors[])(Evidence&) = {
    dropped_block, phantom_gradient, constant_factor, transposed, l2_pattern, joint_fit, one_row_or_column,
};

}  // namespace

void diagnose(Evaluator& J, BlockView& b, const Comparison& c, const Options& o, BlockResult& r, bool probe) {
  if (c.numeric.empty()) return;
  // How closely a pattern must fit: well below a bug's error, above the rounding of a correct check
  // (float checks pass up to 1e-3, so their patterns are allowed 10× that).
  Evidence e{J, b, c, o, r, probe, c.numeric, c.analytic, {}, std::max(1e-4, 10 * o.pass_threshold)};
  if (probe) {  // θ at the compared elements (a Jacobian's blocks have none)
    e.theta.resize(c.index.size());
    for (std::size_t k = 0; k < c.index.size(); ++k) e.theta[k] = b.get(c.index[k]);
  }
  for (auto detector : detectors)
    if (auto cause = detector(e)) {
      r.diagnosis = std::move(*cause);
      return;
    }
  const std::size_t cols = std::max<std::size_t>(b.shape[1], 1);
  r.diagnosis = fmt::format("no simple pattern (not a constant factor, sign, transpose, L2 mistake, or one row or "
                            "column); worst element ({}, {}): numeric {:.6g}, analytic {:.6g}",
                            r.worst_index / cols, r.worst_index % cols, r.worst_numeric, r.worst_analytic);
}

void diagnose_swaps(const std::vector<Comparison>& shown, const Options& o, std::vector<BlockResult>& rows) {
  const double tolerance = std::max(1e-4, 10 * o.pass_threshold);
  auto failing = [&](std::size_t k) { return rows[k].verdict == Verdict::fail && !shown[k].index.empty(); };
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t j = i + 1; j < rows.size(); ++j) {
      if (!failing(i) || !failing(j) || rows[i].shape != rows[j].shape || shown[i].index != shown[j].index) continue;
      if (distance(shown[i].analytic, shown[j].numeric) < tolerance &&
          distance(shown[j].analytic, shown[i].numeric) < tolerance) {
        rows[i].diagnosis = fmt::format("the gradients of {} and {} are swapped: analytic of {} = numeric of {}, and "
                                        "the other way round",
                                        rows[i].name, rows[j].name, rows[i].name, rows[j].name);
        rows[j].diagnosis = rows[i].diagnosis;
      }
    }
}

}  // namespace gc::detail
