// The checker's driver: noise floor, then per block the search — elements in the chosen mode
// (stratified samples, directions, a localising re-check), the ε sweep on a failure, diagnosis and
// Taylor slope; and a single operation's Jacobian blocks, by the same element step, kink rule,
// grading and diagnosis. The front ends (front_ends.cpp) reduce a model to an Evaluator and BlockViews; the
// measuring is numeric.cpp's, the grading verdict.cpp's, the explaining diagnose.cpp's.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "diagnose.hpp"
#include "driver.hpp"
#include "numeric.hpp"
#include "verdict.hpp"

namespace gc::detail {
namespace {

// The steps a failing block is swept over.
constexpr double sweep_steps[] = {1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9};

std::vector<std::size_t> every_element(std::size_t n) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t(0));
  return idx;
}

// A seeded permutation of 0 … n−1.
std::vector<std::size_t> permutation(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::size_t> p = every_element(n);
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

// A seeded sample of at least k elements of a (rows, cols) block, stratified so that every row and
// every column holds one (a bug confined to one unit or one input feature is never missed): the
// "diagonal" (row_perm[t mod rows], col_perm[t mod cols]) for t < max(rows, cols) — distinct,
// since the longer side's index is t itself — then the rest drawn at random; in order.
std::vector<std::size_t> stratified_sample(std::size_t rows, std::size_t cols, std::size_t k, std::mt19937_64& rng) {
  const std::size_t n = rows * cols, cover = std::max(rows, cols);
  if (n <= std::max(k, cover)) return every_element(n);
  const auto row_perm = permutation(rows, rng), col_perm = permutation(cols, rng);
  std::vector<bool> taken(n, false);
  std::vector<std::size_t> idx;
  idx.reserve(std::max(k, cover));
  for (std::size_t t = 0; t < cover; ++t) {
    const std::size_t i = row_perm[t % rows] * cols + col_perm[t % cols];
    taken[i] = true;
    idx.push_back(i);
  }
  std::vector<std::size_t> rest;
  rest.reserve(n - cover);
  for (std::size_t i = 0; i < n; ++i)
    if (!taken[i]) rest.push_back(i);
  for (std::size_t j = 0; idx.size() < k; ++j) {  // partial Fisher–Yates over the rest
    std::uniform_int_distribution<std::size_t> pick(j, rest.size() - 1);
    std::swap(rest[j], rest[pick(rng)]);
    idx.push_back(rest[j]);
  }
  std::sort(idx.begin(), idx.end());
  return idx;
}

// A bias, γ or β: each element is one unit's own parameter, so a sample would leave units unchecked.
bool is_vector(const BlockView& b) { return b.shape[0] == 1 || b.shape[1] == 1; }

// The elements a sampled check compares: all of a vector block, else a stratified sample.
std::vector<std::size_t> sampled_elements(const BlockView& b, const Options& o, std::mt19937_64& rng) {
  return is_vector(b) ? every_element(b.size()) : stratified_sample(b.shape[0], b.shape[1], o.samples_per_block, rng);
}

// "20 of 192 elements, every row and column": what a sampled row did not check.
void note_coverage(const BlockView& b, BlockResult& r) {
  if (!r.directional && r.checked < b.size())
    r.coverage = fmt::format("{} of {} elements, every row and column", r.checked, b.size());
}


std::vector<std::size_t> elements_to_check(const BlockView& b, const Options& o, std::mt19937_64& rng) {
  return o.mode == Mode::all ? every_element(b.size()) : sampled_elements(b, o, rng);
}

// A block a direction flagged (it disagreed, or crossed a kink) is checked element by element, all
// of it up to whole_recheck_limit: a sample would likely miss the few wrong elements the direction
// caught. A larger block costs what Mode::all does, so it gets a sample (see localise).
std::vector<std::size_t> elements_to_recheck(const BlockView& b, const Options& o, std::mt19937_64& rng) {
  return b.size() <= o.whole_recheck_limit ? every_element(b.size()) : sampled_elements(b, o, rng);
}

bool all_zero(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return x == 0; });
}

struct Step {
  double eps, error;
};

// A bad ε (truncation above, rounding below) is not a bug: records error_at(ε) over the sweep in
// r.eps_sweep and returns the ε with the least error (`first` when none beats it).
template <class ErrorAt>
Step best_of_sweep(ErrorAt error_at, Step first, BlockResult& r) {
  Step best = first;
  for (double eps : sweep_steps) {
    const double error = eps == first.eps ? first.error : error_at(eps);
    if (!std::isfinite(error)) continue;  // a step below the parameter's precision (float), or a kink
    r.eps_sweep.emplace_back(eps, error);
    if (error < best.error) best = {eps, error};
  }
  return best;
}

// Grade at the better step when it at least halves the error or changes the verdict (1.5e-3 →
// 0.9e-3 is fail → warning); smaller gains that decide nothing are rounding noise.
bool worth_switching(double first_error, double better_error, const Options& o) {
  return better_error < 0.5 * first_error || grade(better_error, 1, o) != grade(first_error, 1, o);
}

void note_step_size_effect(BlockResult& r, double first_error, double first_eps) {
  if (r.verdict != Verdict::fail)
    r.warnings.push_back(fmt::format("error {:.2e} at ε={:.0e}, {:.2e} at ε={:.0e}: a step-size effect, graded at the "
                                     "better step",
                                     first_error, first_eps, r.best_relative_error, r.best_eps));
}

// The error a sweep step is ranked by: only a step that compared some element by its centered
// difference measures the step's effect; one where every element crossed a kink ranks nowhere.
double sweep_error(const Comparison& c) {
  return c.centered == 0 ? std::numeric_limits<double>::quiet_NaN() : compare(c).relative;
}

// The k elements of `c` with the largest |numeric − analytic| (a NaN counts as largest), in order.
Comparison worst_elements(const Comparison& c, std::size_t k) {
  std::vector<std::size_t> positions = every_element(c.index.size());
  auto diff = [&](std::size_t p) {
    const double d = std::abs(c.numeric[p] - c.analytic[p]);
    return std::isnan(d) ? std::numeric_limits<double>::infinity() : d;
  };
  if (positions.size() > k) {
    std::nth_element(positions.begin(), positions.begin() + std::ptrdiff_t(k), positions.end(),
                     [&](std::size_t x, std::size_t y) { return diff(x) > diff(y); });
    positions.resize(k);
    std::sort(positions.begin(), positions.end());
  }
  Comparison worst;
  worst.reserve(positions.size());
  for (std::size_t p : positions) {
    worst.push(c.index[p], c.numeric[p], c.analytic[p], c.left[p], c.right[p], c.kink[p]);
    if (!c.kink[p]) ++worst.centered;
  }
  return worst;
}

// Sweeps the compared elements and, when the sweep's ε is better, measures them all there. A
// large set is swept on its k worst elements: the sweep asks whether the failure is a step-size
// effect, so it measures where the block fails (a random sample can miss a lone wrong element).
// Returns what the row shows.
Comparison sweep_elements(Evaluator& J, BlockView& b, const std::vector<std::size_t>& idx, const Options& o,
                          const std::vector<std::uint8_t>& base, Comparison kept, BlockResult& r) {
  const double first_eps = r.best_eps, first_error = r.relative_error;
  const Comparison worst = worst_elements(kept, o.samples_per_block);
  std::size_t kinks = 0;  // the sweep's own exclusions: the row counts those of what it shows
  auto error_at = [&](double eps) { return sweep_error(judged_elements(J, b, worst.index, eps, o, base, kinks)); };
  r.sweep_checked = worst.index.size();
  const double worst_error = compare(worst).relative;
  // The requested step too is a candidate only when it compared something by centered differences.
  const double first_rank = kept.centered == 0 ? std::numeric_limits<double>::infinity() : worst_error;
  const Step best = best_of_sweep(error_at, {first_eps, first_rank}, r);
  // The error of all of idx at the best ε, projected from its worst elements' (exact when they are
  // all of idx), decides whether to measure there; the measurement decides whether to grade there.
  const double projected = worst_error > 0 ? first_error * best.error / worst_error : first_error;
  if (best.eps == first_eps || !worth_switching(first_error, projected, o)) return kept;
  Comparison at_best = judged_elements(J, b, idx, best.eps, o, base, kinks);
  if (!(sweep_error(at_best) < first_error)) return kept;
  grade_at(r, at_best, best.eps, o);
  r.kinks = kinks;
  note_step_size_effect(r, first_error, first_eps);
  return at_best;
}

// Element-level comparison of `idx` at ε, kinks excluded, swept over ε when it does not pass.
// Sets the row and verdict; returns the comparison the row shows.
Comparison check_elements(Evaluator& J, BlockView& b, const std::vector<std::size_t>& idx, const Options& o,
                          const std::vector<std::uint8_t>& base, BlockResult& r) {
  r.directional = false;
  r.eps_sweep.clear();
  r.sweep_checked = 0;
  Comparison kept = judged_elements(J, b, idx, o.eps, o, base, r.kinks);
  show(r, kept, o.eps, o);
  if (r.verdict != Verdict::pass && o.sweep_eps) kept = sweep_elements(J, b, idx, o, base, std::move(kept), r);
  return kept;
}

// Directional mode sweeps its one direction before looking at elements (a direction that
// crosses a kink at some ε says nothing there: skipped).
void sweep_direction(Evaluator& J, BlockView& b, const std::vector<double>& v, const Options& o,
                     const std::vector<std::uint8_t>& base, Comparison& kept, BlockResult& r) {
  auto error_at = [&](double eps) { return sweep_error(directional(J, b, v, eps, base)); };
  const double first_eps = r.best_eps, first_error = r.relative_error;
  r.sweep_checked = 1;
  const Step best = best_of_sweep(error_at, {first_eps, first_error}, r);
  if (best.eps == first_eps || !worth_switching(first_error, best.error, o)) return;
  kept = directional(J, b, v, best.eps, base);
  grade_at(r, kept, best.eps, o);
  note_step_size_effect(r, first_error, first_eps);
}

// A direction that disagrees says the block is wrong, not where: its elements are checked too.
// A whole check supersedes the direction (it compares every element the direction summed over);
// a sample may have missed the wrong elements the direction caught, so then the worse stands.
Comparison localise(Evaluator& J, BlockView& b, const Options& o, const std::vector<std::uint8_t>& base,
                    std::mt19937_64& rng, const Comparison& along_direction, BlockResult& r) {
  const BlockResult direction = r;
  const auto idx = elements_to_recheck(b, o, rng);
  const bool whole = idx.size() == b.size();
  Comparison kept = check_elements(J, b, idx, o, base, r);
  Figures sample;
  sample.error = r.best_relative_error;
  sample.compared = r.checked;
  if (!whole) sample.direction = direction.verdict;  // a whole check compared all the direction summed over
  const Verdict verdict = grade(sample, o);
  r.warnings.push_back(fmt::format("{} error {:.2e} at ε={:.0e}{}: checked {} {} elements",
                                   o.mode == Mode::probes ? "directional probe" : "directional",
                                   direction.relative_error, direction.best_eps,
                                   direction.eps_sweep.empty() ? "" : " (the best of an ε sweep)",
                                   whole ? "all" : "a sample of", idx.size()));
  if (verdict == r.verdict) return kept;
  // The sampled elements look better than the direction: its row stands, with grade()'s verdict.
  std::vector<std::string> warnings = std::move(r.warnings);
  const std::size_t sampled = r.checked;
  const double sampled_error = r.relative_error;
  r = direction;
  r.verdict = verdict;
  r.warnings = std::move(warnings);
  r.diagnosis = fmt::format("the direction disagrees but the {} sampled elements {} (error {:.2e}): the wrong elements "
                            "were not sampled; run Mode::all on this block",
                            sampled, sampled_error <= o.pass_threshold ? "pass" : "only warn", sampled_error);
  return along_direction;
}

// Directional and probes modes: one random direction first, element-level checks only where it
// does not settle the block.
Comparison check_by_direction(Evaluator& J, BlockView& b, const Options& o, const std::vector<std::uint8_t>& base,
                              std::mt19937_64& rng, BlockResult& r) {
  const std::vector<double> v = random_unit(b.size(), rng);
  Comparison probe = directional(J, b, v, o.directional_eps, base);
  if (probe.kink[0] && grade(compare(probe).relative, 1, o) != Verdict::pass) {
    // One kink flag covers every element the direction moved: dropping the only comparison would
    // pass any bug next to the kink. Element by element, only those whose own step crosses it drop.
    r.warnings.push_back("the direction crossed a kink of relu/abs/max/clip: checked element by element");
    return check_elements(J, b, elements_to_recheck(b, o, rng), o, base, r);
  }
  show(r, probe, o.directional_eps, o);
  r.directional = true;
  if (r.verdict != Verdict::pass && o.mode == Mode::directional && o.sweep_eps)
    sweep_direction(J, b, v, o, base, probe, r);
  if (r.verdict == Verdict::pass) return probe;
  return localise(J, b, o, base, rng, probe, r);
}

// Measured on the whole analytic gradient, which backward always gives in full: the checked
// elements may be a sample or one direction.
void warn_if_vanishing(const BlockView& b, BlockResult& r) {
  double squares = 0;
  for (double g : b.analytic) squares += g * g;
  const double norm = std::sqrt(squares);
  if (norm != 0 && norm < 1e-10)
    r.warnings.push_back(fmt::format("gradient norm {:.1e} is tiny: vanishing gradients?", norm));
}

// A gradient that does not fit its block is never indexed: the block fails with that diagnosis.
bool gradient_fits(const BlockView& b, const Options& o, BlockResult& r) {
  if (b.grad_shape == b.shape) return true;
  Figures wrong;
  wrong.wrong_shape = true;
  r.verdict = grade(wrong, o);
  r.diagnosis = shape_mismatch(b);
  return false;
}

}  // namespace

BlockResult check_jacobian_block(BlockView& input, const std::vector<double>& at_theta,
                                 const std::function<bool(std::vector<double>&)>& outputs_at, const Options& o,
                                 std::size_t& evaluations) {
  const std::size_t outputs = at_theta.size(), n = input.size();
  BlockResult r;
  r.name = input.name;
  r.shape = {outputs, n};  // the Jacobian block: outputs × elements of this input
  if (!gradient_fits(input, o, r)) return r;
  Comparison entries;
  entries.reserve(outputs * n);
  std::vector<double> plus, minus;
  for (std::size_t i = 0; i < n; ++i) {
    const ElementStep s = step_element(input, i, o.eps, [&](int sign) {
      ++evaluations;
      return outputs_at(sign > 0 ? plus : minus);
    });
    for (std::size_t k = 0; k < outputs; ++k) {
      const Difference d = difference(minus[k], at_theta[k], plus[k], s);
      entries.push(k * n + i, d.centered, input.analytic[k * n + i], d.left, d.right, d.kink);
    }
  }
  double scale = 0;  // the kink rule's rounding allowance is sized by the largest output
  for (double y : at_theta) scale = std::max(scale, std::abs(y));
  const Comparison kept =
      judge_kinks(std::move(entries), o, o.eps, std::numeric_limits<double>::epsilon() / 2, scale, r.kinks);
  show(r, kept, o.eps, o);
  settle_kinks_and_unchecked(r, "Jacobian entries", o);
  if (r.verdict == Verdict::fail || r.verdict == Verdict::warning) {
    BlockView jacobian;  // diagnosis reads the Jacobian block's shape; it has no θ to probe
    jacobian.name = input.name;
    jacobian.shape = r.shape;
    Evaluator none;
    diagnose(none, jacobian, kept, o, r, false);
  }
  return r;
}

BlockResult check_block(Evaluator& J, BlockView& b, const Options& o, const std::vector<std::uint8_t>& base,
                        std::mt19937_64& rng, double J0, Comparison* shown) {
  BlockResult r;
  r.name = b.name;
  r.shape = b.shape;
  if (!gradient_fits(b, o, r)) return r;
  const bool by_direction = o.mode == Mode::directional || o.mode == Mode::probes;
  Comparison kept = by_direction ? check_by_direction(J, b, o, base, rng, r)
                                 : check_elements(J, b, elements_to_check(b, o, rng), o, base, r);
  if (r.kinks == 0 && all_zero(b.analytic) && all_zero(kept.numeric)) {
    Figures zero;
    zero.both_zero = true;
    zero.reached = b.reached;
    r.verdict = grade(zero, o);
    r.diagnosis = b.reached ? "both gradients are exactly zero (pass)"
                            : "does not reach the cost: both gradients are exactly zero";
    return r;
  }
  note_coverage(b, r);
  settle_kinks_and_unchecked(r, "element(s)", o);
  if (r.verdict == Verdict::fail || r.verdict == Verdict::warning) {
    if (r.diagnosis.empty()) diagnose(J, b, kept, o, r);
    if (o.taylor && r.verdict == Verdict::fail) r.taylor_slope = taylor_slope(J, b, J0, kept, r.directional, rng);
  }
  warn_if_vanishing(b, r);
  if (shown && !r.directional) *shown = std::move(kept);  // for diagnose_swaps
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
  J.at_theta = J0;
  if (!report.deterministic) {
    for (auto& b : blocks) {
      BlockResult r;
      r.name = b.name;
      r.shape = b.shape;
      Figures noise;
      noise.noisy = true;
      r.verdict = grade(noise, o);
      r.diagnosis = fmt::format("J changed by {:.2e} between evaluations at the same θ: a random source is not "
                                "frozen (dropout?); finite differences would measure noise",
                                spread);
      report.blocks.push_back(std::move(r));
    }
  } else {
    if (std::abs(J0) > 1e4 || (J0 != 0 && std::abs(J0) < 1e-4))
      report.notes.push_back(fmt::format("the cost {:.3e} is far from order 1: relative errors lose meaning", J0));
    std::mt19937_64 rng(o.seed);
    std::vector<Comparison> shown(blocks.size());
    for (std::size_t k = 0; k < blocks.size(); ++k) {
      J.start = blocks[k].first_node;
      report.blocks.push_back(check_block(J, blocks[k], o, base, rng, J0, &shown[k]));
      J.start = 0;
      J();  // every node back at θ before the next block replays from its own first node
    }
    diagnose_swaps(shown, o, report.blocks);
    report.relative_error = overall_relative_error(report.blocks);
  }
  report.evaluations = J.evaluations;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace gc::detail
