// The one place figures become a verdict: grade() by the thresholds, the row's figures at the
// requested ε, a pass with kinks settled as "kink", a wrong-shaped gradient named, and the
// course's single number over all blocks.
#include "verdict.hpp"

#include <algorithm>
#include <cmath>

namespace gc::detail {
namespace {

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

}  // namespace

int severity(Verdict v) { return v == Verdict::fail ? 2 : v == Verdict::warning ? 1 : 0; }

// The course's np.sum(dZ, axis=0) mistake and its kin: a gradient that does not fit its block is
// the block's diagnosis; nothing is compared (its elements do not correspond to the block's).
std::string shape_mismatch(const BlockView& b) {
  const ad::Shape g = b.grad_shape, p = b.shape;
  const char* hint = g[0] == p[1] && g[1] == p[0] ? ": transposed?"
                     : g[0] == 1 || g[1] == 1      ? ": summed over the wrong axis?"
                                                   : "";
  return fmt::format("d{} has shape {} but {} is {}{}", b.name, ad::to_string(g), b.name, ad::to_string(p), hint);
}

void settle_kinks_and_unchecked(BlockResult& r, const char* what, const Options& o) {
  if (r.verdict == Verdict::pass && r.kinks > 0) {
    Figures settled;  // the row's own figures, now with its kinks
    settled.error = r.best_relative_error;
    settled.compared = r.checked;
    settled.kinks = r.kinks;
    r.verdict = grade(settled, o);
    r.diagnosis = fmt::format(
        "{} {} crossed a kink of relu/abs/max/clip within ±ε; their analytic values lie between the one-sided "
        "differences (a valid subgradient): not a bug",
        r.kinks, what);
  }
  if (r.verdict == Verdict::unchecked) r.diagnosis = "no element could be compared: nothing of this block is checked";
}

Verdict grade(const Figures& f, const Options& o) {
  if (f.wrong_shape) return Verdict::fail;
  if (f.noisy) return Verdict::inconclusive;
  if (f.both_zero) return f.reached ? Verdict::pass : Verdict::unused;
  const Verdict measured = f.compared == 0              ? Verdict::unchecked
                           : f.error <= o.pass_threshold ? Verdict::pass
                           : f.error <= o.fail_threshold ? Verdict::warning
                                                         : Verdict::fail;
  if (measured == Verdict::pass && f.kinks > 0) return Verdict::kink;
  return severity(f.direction) > severity(measured) ? f.direction : measured;
}

Verdict grade(double error, std::size_t compared, const Options& o) {
  Figures f;
  f.error = error;
  f.compared = compared;
  return grade(f, o);
}

// The row shows `c`, measured at `eps` (the requested step), and the verdict is its grade.
void show(BlockResult& r, const Comparison& c, double eps, const Options& o) {
  const Errors e = compare(c);
  fill(r, c, e);
  r.best_eps = eps;
  r.best_relative_error = e.relative;
  r.verdict = grade(e.relative, c.index.size(), o);
}

// The verdict from `c`, measured at another step than the row's (the sweep's best).
void grade_at(BlockResult& r, const Comparison& c, double eps, const Options& o) {
  const Errors e = compare(c);
  r.best_eps = eps;
  r.best_relative_error = e.relative;
  r.verdict = grade(e.relative, c.index.size(), o);
}

double overall_relative_error(const std::vector<BlockResult>& blocks) {
  double diff2 = 0, nn = 0, aa = 0;
  for (const auto& r : blocks) {
    const double d = r.relative_error * (r.numeric_norm + r.analytic_norm);
    diff2 += d * d;
    nn += r.numeric_norm * r.numeric_norm;
    aa += r.analytic_norm * r.analytic_norm;
  }
  const double denominator = std::sqrt(nn) + std::sqrt(aa);
  return denominator == 0 ? 0 : std::sqrt(diff2) / denominator;
}

}  // namespace gc::detail
