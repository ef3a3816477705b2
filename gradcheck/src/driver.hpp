// The checker's driver, shared by the front ends (tape, closure, Jacobian).
#pragma once

#include "numeric.hpp"

namespace gc::detail {

// One block's row and verdict; `shown`, when given, receives the element comparison the row shows
// (left empty for a directional row).
BlockResult check_block(Evaluator& J, BlockView& b, const Options& o, const std::vector<std::uint8_t>& base,
                        std::mt19937_64& rng, double J0, Comparison* shown = nullptr);
// The whole check of `blocks`: noise floor, then every block. Leaves parameter values as found.
Report run(Evaluator& J, std::vector<BlockView>& blocks, const Options& o);

}  // namespace gc::detail
