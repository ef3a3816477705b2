// Figures → verdict, in one place (see verdict.cpp).
#pragma once

#include <string>
#include <vector>

#include "numeric.hpp"

namespace gc::detail {

// What a block's verdict is decided from: its measured figures and the facts that overrule them.
struct Figures {
  double error = 0;           // relative error of the compared elements
  std::size_t compared = 0;   // how many were compared
  bool wrong_shape = false;   // the gradient does not fit its block: nothing can be compared
  bool noisy = false;         // J changed at a fixed θ: finite differences would measure noise
  bool both_zero = false;     // analytic and numeric gradients exactly zero everywhere
  bool reached = true;        // did the backward sweep reach the block
  std::size_t kinks = 0;      // compared elements inside their kink interval: a pass is "kink"
  // The verdict of a direction over the block, when only a sample of its elements was compared
  // after it: the sample may have missed the wrong elements, so the block is never graded milder.
  Verdict direction = Verdict::pass;
};
// The one function that turns figures into a verdict: a wrong-shaped gradient fails, a noisy cost
// is inconclusive, both gradients zero pass (or are unused when backward never reached the block),
// else the relative error against the thresholds — nothing compared is "unchecked", never a pass,
// and a pass with kinks is "kink" — and never milder than a direction a sample may have missed.
Verdict grade(const Figures& f, const Options& o);
// fail 2, warning 1, anything else 0: which of two verdicts is the worse.
int severity(Verdict v);
// The thresholds alone: grade({error, compared}).
Verdict grade(double error, std::size_t compared, const Options& o);
// "db[1] has shape (1, 16) but b[1] is (12, 1): summed over the wrong axis?"
std::string shape_mismatch(const BlockView& b);
// A pass with elements inside their kink intervals is graded again with its kinks ("kink"); a
// kink or unchecked row gets its diagnosis (`what` names the compared things: "element(s)",
// "Jacobian entries").
void settle_kinks_and_unchecked(BlockResult& r, const char* what, const Options& o);
// The verdict from `c` measured at `eps`, when that is another step than the row's (the sweep's best).
void grade_at(BlockResult& r, const Comparison& c, double eps, const Options& o);

// A block's row from the compared elements `c`, measured at `eps`: its figures, worst element and
// verdict (pass, warning or fail by the thresholds).
void show(BlockResult& r, const Comparison& c, double eps, const Options& o);

// The course's single number over all blocks, ‖n − a‖ / (‖n‖ + ‖a‖) of everything checked, from
// each block's norms and relative error.
double overall_relative_error(const std::vector<BlockResult>& blocks);

}  // namespace gc::detail
