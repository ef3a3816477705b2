// Figures → verdict, in one place (see verdict.cpp).
#pragma once

#include <string>
#include <vector>

#include "numeric.hpp"

namespace gc::detail {

// The one function that turns figures into a verdict: the relative error of `compared` elements
// against the thresholds; nothing compared is "unchecked", never a pass.
Verdict grade(double error, std::size_t compared, const Options& o);
// "db[1] has shape (1, 16) but b[1] is (12, 1): summed over the wrong axis?"
std::string shape_mismatch(const BlockView& b);
// A pass with elements inside their kink intervals is "kink"; both get their diagnosis (`what`
// names the compared things: "element(s)", "Jacobian entries").
void settle_kinks_and_unchecked(BlockResult& r, const char* what);
// The verdict from `c` measured at `eps`, when that is another step than the row's (the sweep's best).
void grade_at(BlockResult& r, const Comparison& c, double eps, const Options& o);

// A block's row from the compared elements `c`, measured at `eps`: its figures, worst element and
// verdict (pass, warning or fail by the thresholds).
void show(BlockResult& r, const Comparison& c, double eps, const Options& o);

// The course's single number over all blocks, ‖n − a‖ / (‖n‖ + ‖a‖) of everything checked, from
// each block's norms and relative error.
double overall_relative_error(const std::vector<BlockResult>& blocks);

}  // namespace gc::detail
