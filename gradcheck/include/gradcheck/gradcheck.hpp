// Gradient checking: compares the engine's backward with centered finite differences and says
// which parameter block is wrong, and why it probably is.
//
// The course's recipe, J'(θ_i) ≈ (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε and the relative error
// ‖dθ_approx − dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂), is done per named block (W[1], b[1], ...), and then:
// - every block is checked and reported, failing or not; a gradient of the wrong shape is named first;
// - the step is relative to the value, ε·max(1, |θ_i|); a failing block is re-checked over a sweep
//   of ε and fails only if the best ε fails (the row keeps the requested ε's figures, the graded
//   ε beside them); a Taylor-remainder slope gives an ε-free second opinion;
// - piecewise operations (relu, abs, max, clip: OpDef::branches) report the branch each element
//   took; an element whose perturbation crossed a kink is compared against the interval of its
//   one-sided differences (any subgradient there is right, outside it is a bug);
// - the cost is evaluated repeatedly at the same θ first: a non-deterministic cost (an unfrozen
//   random source) makes the verdict "inconclusive", never a false failure;
// - a failing block gets a diagnosis the numbers support: a constant ratio (a missing 1/m), a sign
//   flip, a transposed gradient, a block cut off from the cost in backward, L2 mistakes (left out,
//   wrong factor, on an unregularized block), a data-term factor under L2, one wrong row or column,
//   two swapped blocks; otherwise "no simple pattern";
// - the model is left exactly as found: parameter values and gradients, the tape's frozen flag and
//   random state; the check runs frozen (dropout masks and batch-norm statistics held).
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <autodiff/autodiff.hpp>

#include "gradcheck/theta.hpp"  // the course's recipe: θ as one vector, one relative error

namespace gc {

enum class Mode {
  all,          // every element of every block (2 evaluations per element)
  sampled,      // a seeded sample of samples_per_block elements per block, stratified to hold every
                // row and column (so at least max(rows, cols)); all of a block no larger than that
                // and all of a vector block, (n, 1) or (1, n): a bias, γ or β
  directional,  // one random unit direction per block: ∇J·v against (J(θ+εv) − J(θ−εv)) / 2ε
  probes,       // a directional probe per block first, then element-level only where it failed
};
// In directional and probes modes a block whose direction disagrees, or crosses a kink (one flag
// for every element moved), is checked element by element: all of it up to whole_recheck_limit
// elements, a sample of a larger one (whose verdict is then the worse of direction and sample).

enum class Verdict {
  pass,          // relative error ≤ pass_threshold (or both gradients exactly zero)
  warning,       // between the thresholds: look closer
  fail,          // above fail_threshold at the best ε, or a gradient of the wrong shape
  kink,          // a pass in which some elements crossed a kink of relu/abs/max/clip, their analytic
                 // values between their one-sided differences (a valid subgradient)
  unused,        // the block does not reach the cost: both gradients are exactly zero
  inconclusive,  // the cost is not deterministic at fixed θ
  unchecked,     // no element could be compared (an empty block): never a pass
};
const char* to_string(Verdict v);
const char* to_string(Mode m);
// Printable (Boost.Test's BOOST_TEST(report.block("b[1]").verdict == gc::Verdict::fail) needs it).
inline std::ostream& operator<<(std::ostream& out, Verdict v) { return out << to_string(v); }
inline std::ostream& operator<<(std::ostream& out, Mode m) { return out << to_string(m); }

struct Options {
  Mode mode = Mode::all;
  double eps = 1e-7;               // relative step: ε·max(1, |θ_i|)
  // The step of directional probes, ε·max(1, max|θ|) along a unit direction. One directional
  // derivative is a single number (no averaging over elements) and is smaller than the gradient's
  // norm by ~√n, so rounding, ~ε_mach·|J|/h, needs a larger h than the course's 1e-7; truncation
  // (~h²) is still far below the thresholds at 1e-5.
  double directional_eps = 1e-5;
  double pass_threshold = 1e-7;    // the course: ~1e-7 is great
  double fail_threshold = 1e-3;    // the course: ~1e-3 means a bug
  std::size_t samples_per_block = 20;  // sampled mode; vector blocks (biases, γ, β) are checked whole
  std::uint64_t seed = 0;          // sampling and directions; printed in the report
  // On a failure, retry over ε ∈ {1e-2 … 1e-9}; the verdict is graded at the best ε when that
  // halves the error or changes the verdict.
  bool sweep_eps = true;
  bool taylor = true;              // on a failure, measure the Taylor-remainder slope
  std::size_t noise_repeats = 3;   // evaluations of J at the unperturbed θ
  // λ/m of an L2 term λ/(2m)·Σ‖W‖² in the cost: lets the diagnosis name backward's L2 gradient
  // against it (left out, 2×, ½×). 0: unknown; the L2 patterns are then recognised by fits
  // (numeric − analytic ≈ c·W, numeric ≈ c·analytic + k·W), which also estimate λ/m.
  double l2_scale = 0;
  bool contract_checks = true;     // zero seed, seed linearity, repeated backward (engine contract)
  // Directional and probes modes: a block a direction flagged is checked whole up to this many
  // elements (2 replays each, from the block's first consumer); a sample of a larger block.
  std::size_t whole_recheck_limit = 4096;
};

// One parameter block's result.
struct BlockResult {
  std::string name;
  ad::Shape shape{0, 0};
  std::size_t checked = 0;         // elements (or directions) compared
  bool directional = false;        // compared along one random direction (the worst "element" is it)
  double relative_error = 0;       // ‖n − a‖ / (‖n‖ + ‖a‖) over the checked elements, at the requested ε
  double max_abs_diff = 0;
  std::size_t worst_index = 0;     // flat (row-major) index of the worst element
  double worst_numeric = 0, worst_analytic = 0;
  double analytic_norm = 0, numeric_norm = 0;
  std::size_t kinks = 0;           // checked elements across a kink, inside their one-sided interval
  double best_eps = 0;             // the ε the verdict is graded at (the sweep's best, else the requested)
  double best_relative_error = 0;  // the relative error at best_eps
  std::vector<std::pair<double, double>> eps_sweep;  // (ε, relative error) when swept
  std::size_t sweep_checked = 0;   // elements (or directions) the sweep compared: a sample of a large block
  double taylor_slope = 0;         // ~2: no first-order error, ~1: wrong (0: not measured or undecided)
  Verdict verdict = Verdict::pass;
  std::string coverage;            // sampled: "20 of 192 elements, every row and column"
  std::string diagnosis;           // why it probably failed, or a note ("both zero")
  std::vector<std::string> warnings;
};

struct Report {
  std::vector<BlockResult> blocks;
  Options options;
  std::string term;                // the term of the cost checked (check_terms), empty: the whole cost
  double cost = 0;                 // J at θ
  std::size_t jacobian_outputs = 0;  // check_jacobian: the operation's output elements (0: a cost)
  double relative_error = 0;       // over all checked elements of all blocks
  std::size_t evaluations = 0;     // cost evaluations used
  double seconds = 0;
  std::vector<std::string> notes;  // warnings about the whole check (float graph, cost magnitude, ...)
  bool deterministic = true;
  std::vector<std::string> contract_failures;  // engine contract checks that failed (tape form)

  // True when the check was conclusive, no block failed (pass, warning, kink or unused) and the
  // engine contract held.
  bool passed() const;
  const BlockResult* block(const std::string& name) const;
  std::string table() const;       // an aligned table (fmt)
  nlohmann::json to_json() const;
};

// Checks the gradients of `cost` (a (1, 1) node of `tape`) with respect to `params` (all the
// tape's parameters when empty) by replaying the tape. Float tapes are checked with ε and
// thresholds scaled for float and a note in the report; prefer double (or the closure form).
template <class T>
Report check(ad::Tape<T>& tape, ad::Var<T> cost, std::vector<ad::Parameter<T>*> params = {},
             const Options& options = {});

// The terms of a cost checked separately, e.g. {{"data", cross_entropy}, {"L2", l2}} for
// J = cross_entropy + l2: each term is a (1, 1) node of `tape`, and gets its own report (its
// `term` set). A block that a term does not depend on is "unused" in that term's report.
template <class T>
std::vector<Report> check_terms(ad::Tape<T>& tape, const std::vector<std::pair<std::string, ad::Var<T>>>& terms,
                                std::vector<ad::Parameter<T>*> params = {}, const Options& options = {});

// For graphs whose shape changes: `build` records the cost on the fresh tape it is given, once per
// evaluation.
Report check(const std::function<ad::Var<double>(ad::Tape<double>&)>& build,
             std::vector<ad::Parameter<double>*> params, const Options& options = {});

// Checks at random initialization and again after `steps` training steps (each a call of
// `train_step`, which updates the parameters): both reports, in that order.
template <class T>
std::vector<Report> check_during_training(ad::Tape<T>& tape, ad::Var<T> cost, std::vector<ad::Parameter<T>*> params,
                                          const std::function<void()>& train_step, std::size_t steps,
                                          const Options& options = {});

// For a user's own operation: the full Jacobian of `op` (inputs → a matrix output) by backward
// with one unit seed per output element, against centered differences; one block per input
// (outputs × the input's elements), always checked whole (options.mode is not used). Entries
// moved by a step across a kink of relu/abs/max/clip are excused as in check(). The inputs are
// left as found, also when `op` throws at a perturbed value.
Report check_jacobian(const std::function<ad::Var<double>(ad::Tape<double>&, const std::vector<ad::Var<double>>&)>& op,
                      std::vector<ad::Parameter<double>*> inputs, const Options& options = {});

}  // namespace gc
