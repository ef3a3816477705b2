// The numeric primitives and what every stage shares: the cost as a function of the parameters'
// current values (Evaluator), a block seen as doubles (BlockView), the compared elements
// (Comparison), and the finite differences that fill them.
#pragma once

#include <algorithm>
#include <cmath>
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
  double at_theta = 0;              // J at the unperturbed θ: the one-sided differences' midpoint
  double unit_roundoff = 0x1p-52;   // of the cost's scalar type (float: 2^-23)
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
  ad::Shape grad_shape{0, 0};    // the backward's gradient's shape: `shape` unless backward is wrong
  bool reached = true;           // did the backward sweep reach it
  std::uint32_t first_node = 0;  // the first tape node reading it (replays start there)
  std::size_t size() const { return shape[0] * shape[1]; }
};

// The checked elements of one block: their flat indices, numeric and analytic values, kink flags,
// and the one-sided differences (left: (J(θ) − J(θ−h))/h, right: (J(θ+h) − J(θ))/h), whose
// interval holds every subgradient when the step crossed a kink.
struct Comparison {
  std::vector<std::size_t> index;
  std::vector<double> numeric, analytic, left, right;
  std::vector<bool> kink;
  std::size_t centered = 0;  // elements compared by their centered difference (not across a kink)

  void reserve(std::size_t n) {  // one allocation per array, not log(n) as the comparison grows
    index.reserve(n);
    numeric.reserve(n);
    analytic.reserve(n);
    left.reserve(n);
    right.reserve(n);
    kink.reserve(n);
  }
  void push(std::size_t i, double n, double a, double l, double r, bool k) {
    index.push_back(i);
    numeric.push_back(n);
    analytic.push_back(a);
    left.push_back(l);
    right.push_back(r);
    kink.push_back(k);
  }
};

// One element's finite differences at step h.
struct Difference {
  double centered, left, right;
  bool kink;
};

// Element i of b as stepped: its value, the values actually stored at θ_i ± h (a float parameter
// rounds them), and whether either step crossed a kink.
struct ElementStep {
  double original = 0, up = 0, down = 0;
  bool kink = false;
};

// Steps element i of b to θ_i + h, then θ_i − h (h = ε·max(1, |θ_i|)), calls evaluate(+1) and
// evaluate(−1) there (each returns whether the evaluation crossed a kink), and puts it back. The
// one step every front end measures by, whatever it evaluates (a cost, an operation's outputs).
template <class Evaluate>
ElementStep step_element(BlockView& b, std::size_t i, double eps, Evaluate evaluate) {
  ElementStep s;
  s.original = b.get(i);
  const double h = eps * std::max(1.0, std::abs(s.original));
  b.set(i, s.original + h);
  s.up = b.get(i);
  s.kink = evaluate(+1);
  b.set(i, s.original - h);
  s.down = b.get(i);
  s.kink = evaluate(-1) || s.kink;
  b.set(i, s.original);
  return s;
}

// The one centered difference and the one-sided ones, of a function whose values at the stored
// θ − h, θ and θ + h of step `s` are jm, j0 and jp. NaN where a step was below the parameter's
// precision (float at ε ≤ 1e-8 stores θ ± h as θ): no derivative there.
Difference difference(double jm, double j0, double jp, const ElementStep& s);

// The cost's differences at element i.
Difference differences(Evaluator& J, BlockView& b, std::size_t i, double eps, const std::vector<std::uint8_t>& base);

// ‖n − a‖ / (‖n‖ + ‖a‖), 0 when both are zero; and the norms.
struct Errors {
  double relative = 0, max_abs = 0, numeric_norm = 0, analytic_norm = 0;
  std::size_t worst = 0;  // position in the comparison
};
Errors compare(const Comparison& c);

// Centered difference of element i: the step is eps·max(1, |θ_i|), measured back from the values
// actually stored (a float parameter rounds θ ± h).
double numeric_element(Evaluator& J, BlockView& b, std::size_t i, double eps, const std::vector<std::uint8_t>& base);

// An element whose perturbation crossed a kink and whose centered difference disagrees is compared
// against the interval of its one-sided differences (any subgradient is right): its numeric value
// becomes the point of that interval nearest the analytic one (widened by the differences'
// truncation and rounding), so it adds to the error only when outside. Those inside are counted in
// `kinks`; `unit_roundoff` and `cost` size the rounding allowance.
Comparison judge_kinks(Comparison c, const Options& o, double eps, double unit_roundoff, double cost,
                       std::size_t& kinks);

// The elements `idx` of block b at ε: numeric (centered and one-sided) and analytic values, kink flags.
Comparison elements(Evaluator& J, BlockView& b, const std::vector<std::size_t>& idx, double eps,
                    const std::vector<std::uint8_t>& base);
// The same, those across a kink judged by their one-sided interval (judge_kinks).
Comparison judged_elements(Evaluator& J, BlockView& b, const std::vector<std::size_t>& idx, double eps, const Options& o,
                           const std::vector<std::uint8_t>& base, std::size_t& kinks);
// One unit direction v on the block: (J(θ+hv) − J(θ−hv)) / 2h against ∇J·v, h = ε·max(1, max|θ|).
Comparison directional(Evaluator& J, BlockView& b, const std::vector<double>& v, double eps,
                       const std::vector<std::uint8_t>& base);
// A seeded random unit vector of n elements.
std::vector<double> random_unit(std::size_t n, std::mt19937_64& rng);

}  // namespace gc::detail
