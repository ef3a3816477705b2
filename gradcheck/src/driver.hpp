// The checker's driver, shared by the front ends (tape, closure, Jacobian).
#pragma once

#include "numeric.hpp"

namespace gc::detail {

// One block's row and verdict; `shown`, when given, receives the element comparison the row shows
// (left empty for a directional row).
BlockResult check_block(Evaluator& J, BlockView& b, const Options& o, const std::vector<std::uint8_t>& base,
                        std::mt19937_64& rng, double J0, Comparison* shown = nullptr);
// One block of a single operation's Jacobian: entry (k, i) = ∂out_k/∂input_i, measured by the
// same element step and differences as a parameter block, judged by the same kink rule, graded
// and diagnosed alike. `input.analytic` holds the Jacobian's rows (outputs × elements), and
// `outputs_at` evaluates the operation at the input's current values into its argument,
// returning whether a kink was crossed; `at_theta` are the outputs at the inputs as given.
BlockResult check_jacobian_block(BlockView& input, const std::vector<double>& at_theta,
                                 const std::function<bool(std::vector<double>&)>& outputs_at, const Options& o,
                                 std::size_t& evaluations);
// The whole check of `blocks`: noise floor, then every block. Leaves parameter values as found.
Report run(Evaluator& J, std::vector<BlockView>& blocks, const Options& o);

}  // namespace gc::detail
