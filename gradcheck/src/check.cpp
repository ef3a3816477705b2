// The checker's driver: noise floor, per-block comparisons in the chosen mode, ε sweep, verdicts.
// The tape and closure front ends (front_ends.cpp) reduce a model to an Evaluator and BlockViews.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "driver.hpp"
#include "internal.hpp"

namespace gc::detail {
namespace {

// Elements of a block to check: all, or a seeded sample of k (all of a block no larger than k).
std::vector<std::size_t> choose(std::size_t size, const Options& o, std::mt19937_64& rng, bool all) {
  std::vector<std::size_t> idx(size);
  std::iota(idx.begin(), idx.end(), std::size_t(0));
  if (all || size <= o.samples_per_block) return idx;
  // Partial Fisher–Yates: the first k of a seeded permutation, then in order for readability.
  for (std::size_t k = 0; k < o.samples_per_block; ++k) {
    std::uniform_int_distribution<std::size_t> pick(k, size - 1);
    std::swap(idx[k], idx[pick(rng)]);
  }
  idx.resize(o.samples_per_block);
  std::sort(idx.begin(), idx.end());
  return idx;
}

Comparison elements(Evaluator& J, BlockView& b, const std::vector<std::size_t>& idx, double eps,
                    const std::vector<std::uint8_t>& base) {
  Comparison c;
  c.reserve(idx.size());
  for (std::size_t i : idx) {
    bool kink = false;
    c.index.push_back(i);
    c.numeric.push_back(numeric_element(J, b, i, eps, base, &kink));
    c.analytic.push_back(b.analytic[i]);
    c.kink.push_back(kink);
  }
  return c;
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
  c.index.push_back(0);
  c.numeric.push_back((jp - jm) / (2 * h));
  c.analytic.push_back(directional_derivative);
  c.kink.push_back(kink);
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

// Elements whose own error is large and whose perturbation crossed a kink are excluded from the
// block's error (counted in result.kinks); returns the comparison without them.
Comparison without_kinks(const Comparison& c, const Options& o, std::size_t& kinks) {
  Comparison kept;
  kept.reserve(c.index.size());
  kinks = 0;
  for (std::size_t k = 0; k < c.index.size(); ++k) {
    const double n = c.numeric[k], a = c.analytic[k];
    const double err = (n == 0 && a == 0) ? 0 : std::abs(n - a) / (std::abs(n) + std::abs(a));
    if (c.kink[k] && err > o.pass_threshold) {
      ++kinks;
      continue;
    }
    kept.index.push_back(c.index[k]);
    kept.numeric.push_back(n);
    kept.analytic.push_back(a);
    kept.kink.push_back(false);
  }
  return kept;
}

Verdict grade(double error, const Options& o) {
  if (error <= o.pass_threshold) return Verdict::pass;
  if (error <= o.fail_threshold) return Verdict::warning;
  return Verdict::fail;
}

void fill(BlockResult& r, const Comparison& c, const Errors& e) {
  r.checked = c.index.size();
  r.relative_error = e.relative;
  r.max_abs_diff = e.max_abs;
  r.numeric_norm = e.numeric_norm;
  r.analytic_norm = e.analytic_norm;
  if (!c.index.empty()) {
    r.worst_index = c.index[e.worst];
    r.worst_numeric = c.numeric[e.worst];
    r.worst_analytic = c.analytic[e.worst];
  }
}

bool all_zero(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return x == 0; });
}

}  // namespace

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

double numeric_element(Evaluator& J, BlockView& b, std::size_t i, double eps, const std::vector<std::uint8_t>& base,
                       bool* kink) {
  const double original = b.get(i);
  const double h = eps * std::max(1.0, std::abs(original));
  auto at = [&](double value, double& stored) {
    b.set(i, value);
    stored = b.get(i);
    const double j = J();
    if (kink) *kink = J.crossed(base) || *kink;
    return j;
  };
  double up = 0, down = 0;
  const double jp = at(original + h, up), jm = at(original - h, down);
  b.set(i, original);
  // A step below the parameter's precision (float at ε ≤ 1e-8) stores θ ± h as θ: no derivative.
  if (up == down) return std::numeric_limits<double>::quiet_NaN();
  return (jp - jm) / (up - down);
}

BlockResult check_block(Evaluator& J, BlockView& b, const Options& o, const std::vector<std::uint8_t>& base,
                        std::mt19937_64& rng, double J0) {
  BlockResult r;
  r.name = b.name;
  r.shape = b.shape;
  r.best_eps = o.eps;
  const bool probe_first = o.mode == Mode::directional || o.mode == Mode::probes;
  std::vector<double> direction;
  std::vector<std::size_t> idx;
  // measure(ε): the comparison of this block at step ε, in the mode chosen.
  auto measure = [&](double eps) {
    return direction.empty() ? elements(J, b, idx, eps, base) : directional(J, b, direction, eps, base);
  };
  if (probe_first) direction = random_unit(b.size(), rng);
  else idx = choose(b.size(), o, rng, o.mode == Mode::all);

  if (probe_first) r.best_eps = o.directional_eps;
  Comparison c = measure(r.best_eps);
  Errors e = compare(without_kinks(c, o, r.kinks));
  if (o.mode == Mode::probes && grade(e.relative, o) != Verdict::pass) {
    // The probe failed: localise with element-level checks in this block only.
    r.warnings.push_back(fmt::format("directional probe error {:.2e}: checked elements", e.relative));
    direction.clear();
    idx = choose(b.size(), o, rng, false);
    r.best_eps = o.eps;
    c = measure(r.best_eps);
    e = compare(without_kinks(c, o, r.kinks));
  }
  Comparison kept = without_kinks(c, o, r.kinks);
  fill(r, kept, e);
  r.verdict = grade(e.relative, o);

  if (all_zero(b.analytic) && all_zero(c.numeric)) {
    r.verdict = b.reached ? Verdict::pass : Verdict::unused;
    r.diagnosis = b.reached ? "both gradients are exactly zero (pass)"
                            : "does not reach the cost: both gradients are exactly zero";
    return r;
  }
  if (r.verdict != Verdict::pass && o.sweep_eps) {
    // A bad ε (truncation above, rounding below) is not a bug: keep the best of a sweep. A large
    // block is swept on a sample of its elements (the best ε does not depend on which), then
    // measured whole at the ε the sweep chose.
    const double first_eps = r.best_eps;
    const bool sample = direction.empty() && idx.size() > o.samples_per_block;
    const std::vector<std::size_t> all_idx = idx;
    if (sample) idx = choose(b.size(), o, rng, false);
    auto sweep_error = [&](double eps) { return compare(without_kinks(measure(eps), o, r.kinks)).relative; };
    const double baseline = sample ? sweep_error(first_eps) : e.relative;
    double best = baseline;
    for (double eps : {1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9}) {
      const double error = eps == first_eps ? baseline : sweep_error(eps);
      if (!std::isfinite(error)) continue;  // a step below the parameter's precision (float)
      r.eps_sweep.emplace_back(eps, error);
      if (error < best) {
        best = error;
        r.best_eps = eps;
      }
    }
    idx = all_idx;
    r.sweep_checked = sample ? o.samples_per_block : r.checked;
    // Differences within a factor 2 are rounding noise, not a better step: keep the first ε.
    if (best > 0.5 * baseline) r.best_eps = first_eps;
    if (r.best_eps != first_eps) {
      kept = without_kinks(measure(r.best_eps), o, r.kinks);
      fill(r, kept, compare(kept));
    } else {
      without_kinks(c, o, r.kinks);  // the first measurement's kink count
    }
    r.verdict = grade(r.relative_error, o);
    if (r.verdict != Verdict::fail && r.best_eps != first_eps)
      r.warnings.push_back(fmt::format("error {:.2e} at ε={:.0e}, {:.2e} at ε={:.0e}: a step-size effect", e.relative,
                                       first_eps, r.relative_error, r.best_eps));
  }
  if (r.verdict == Verdict::pass && r.kinks > 0) {
    r.verdict = Verdict::kink;
    r.diagnosis = fmt::format(
        "{} element(s) crossed a kink of relu/abs/max/clip within ±ε and were excluded: not a bug", r.kinks);
  }
  if (r.verdict == Verdict::fail || r.verdict == Verdict::warning) {
    if (!direction.empty()) {
      // A directional failure: element-level values locate the error and make the diagnosis
      // possible. The row then shows them; the verdict stays the worse of the two, since the
      // sampled elements may miss the wrong ones the direction caught.
      r.warnings.push_back(fmt::format("directional error {:.2e} at ε={:.0e}; the row shows sampled elements",
                                       r.relative_error, r.best_eps));
      idx = choose(b.size(), o, rng, false);
      direction.clear();
      kept = without_kinks(measure(r.best_eps), o, r.kinks);
      const Verdict directional_verdict = r.verdict;
      fill(r, kept, compare(kept));
      const Verdict element_verdict = grade(r.relative_error, o);
      r.verdict = directional_verdict == Verdict::fail || element_verdict == Verdict::fail ? Verdict::fail
                                                                                           : Verdict::warning;
    }
    diagnose(J, b, kept, o, r);
    if (o.taylor && r.verdict == Verdict::fail) r.taylor_slope = taylor_slope(J, b, J0, rng);
  }
  r.directional = !direction.empty();
  if (r.analytic_norm != 0 && r.analytic_norm < 1e-10 && r.checked == b.size())
    r.warnings.push_back(fmt::format("gradient norm {:.1e} is tiny: vanishing gradients?", r.analytic_norm));
  return r;
}

Report run(Evaluator& J, std::vector<BlockView>& blocks, const Options& o) {
  const auto t0 = std::chrono::steady_clock::now();
  Report report;
  report.options = o;
  const double J0 = J();
  report.cost = J0;
  std::vector<std::uint8_t> base;
  if (J.branches) J.branches(base);
  double spread = 0;
  for (std::size_t k = 1; k < o.noise_repeats; ++k) spread = std::max(spread, std::abs(J() - J0));
  report.deterministic = spread == 0;
  if (!report.deterministic) {
    for (auto& b : blocks) {
      BlockResult r;
      r.name = b.name;
      r.shape = b.shape;
      r.verdict = Verdict::inconclusive;
      r.diagnosis = fmt::format("J changed by {:.2e} between evaluations at the same θ: a random source is not "
                                "frozen (dropout?); finite differences would measure noise",
                                spread);
      report.blocks.push_back(std::move(r));
    }
  } else {
    if (std::abs(J0) > 1e4 || (J0 != 0 && std::abs(J0) < 1e-4))
      report.notes.push_back(fmt::format("the cost {:.3e} is far from order 1: relative errors lose meaning", J0));
    std::mt19937_64 rng(o.seed);
    for (auto& b : blocks) {
      J.start = b.first_node;
      report.blocks.push_back(check_block(J, b, o, base, rng, J0));
      J.start = 0;
      J();  // every node back at θ before the next block replays from its own first node
    }
    // The overall error, the course's single number, from the blocks' norms and differences.
    double diff2 = 0, nn = 0, aa = 0;
    for (const auto& r : report.blocks) {
      const double d = r.relative_error * (r.numeric_norm + r.analytic_norm);
      diff2 += d * d;
      nn += r.numeric_norm * r.numeric_norm;
      aa += r.analytic_norm * r.analytic_norm;
    }
    const double denominator = std::sqrt(nn) + std::sqrt(aa);
    report.relative_error = denominator == 0 ? 0 : std::sqrt(diff2) / denominator;
  }
  report.evaluations = J.evaluations;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace gc::detail
