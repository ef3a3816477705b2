// What the checker's parts share: the cost as a function of the parameters' current values, and
// the per-block comparison data the diagnosis reads.
#pragma once

#include <functional>
#include <random>
#include <vector>

#include "gradcheck/gradcheck.hpp"

namespace gc::detail {

// J at the parameters' current values, and (when the graph has piecewise operations) the branch
// bytes of that evaluation.
struct Evaluator {
  std::function<double()> cost;
  std::function<void(std::vector<std::uint8_t>&)> branches;  // empty: no piecewise operations
  std::size_t evaluations = 0;
  // Where a replay may start: the first node that reads the block being perturbed (0: all).
  // Everything before it is unchanged by the perturbation, so the tape front end skips it.
  std::uint32_t start = 0;
  std::vector<std::uint8_t> scratch;  // reused: no allocation per evaluation

  double operator()() {
    ++evaluations;
    return cost();
  }
  // Did the last evaluation take another branch than `base` somewhere?
  bool crossed(const std::vector<std::uint8_t>& base) {
    if (!branches) return false;
    branches(scratch);
    return scratch != base;
  }
};

// A block seen as doubles, whatever the scalar type of its parameter.
struct BlockView {
  std::string name;
  ad::Shape shape;
  std::function<double(std::size_t)> get;
  std::function<void(std::size_t, double)> set;
  std::vector<double> analytic;  // the backward's gradient, flat
  bool reached = true;           // did the backward sweep reach it
  std::uint32_t first_node = 0;  // the first tape node reading it (replays start there)
  std::size_t size() const { return shape[0] * shape[1]; }
};

// The checked elements of one block: their flat indices, numeric and analytic values, kink flags.
struct Comparison {
  std::vector<std::size_t> index;
  std::vector<double> numeric, analytic;
  std::vector<bool> kink;

  void reserve(std::size_t n) {  // one allocation per array, not log(n) as the comparison grows
    index.reserve(n);
    numeric.reserve(n);
    analytic.reserve(n);
    kink.reserve(n);
  }
};

// ‖n − a‖ / (‖n‖ + ‖a‖), 0 when both are zero; and the norms.
struct Errors {
  double relative = 0, max_abs = 0, numeric_norm = 0, analytic_norm = 0;
  std::size_t worst = 0;  // position in the comparison
};
Errors compare(const Comparison& c);

// Centered difference of element i: the step is eps·max(1, |θ_i|), measured back from the values
// actually stored (a float parameter rounds θ ± h). Sets *kink when a branch flipped.
double numeric_element(Evaluator& J, BlockView& b, std::size_t i, double eps, const std::vector<std::uint8_t>& base,
                       bool* kink);

// Elements whose own error is large and whose perturbation crossed a kink are excluded from the
// block's error (counted in `kinks`); returns the comparison without them.
Comparison without_kinks(const Comparison& c, const Options& o, std::size_t& kinks);

// A block's row from the compared elements `c`, measured at `eps`: its figures, worst element and
// verdict (pass, warning or fail by the thresholds).
void show(BlockResult& r, const Comparison& c, double eps, const Options& o);

// The course's single number over all blocks, ‖n − a‖ / (‖n‖ + ‖a‖) of everything checked, from
// each block's norms and relative error.
double overall_relative_error(const std::vector<BlockResult>& blocks);

// Fills in the diagnosis of a failing (or warning) block. `probe` allows extra evaluations (the
// transposed elements' numeric values) and reading θ through b.get (the L2 fit); without it (a
// Jacobian's blocks, which have no θ) only the compared values are read.
void diagnose(Evaluator& J, BlockView& b, const Comparison& c, const Options& o, BlockResult& r, bool probe = true);

// The ε-free second opinion: the slope of log|J(θ+hv) − J(θ) − h∇J·v| against log h.
double taylor_slope(Evaluator& J, BlockView& b, double J0, std::mt19937_64& rng);

}  // namespace gc::detail
