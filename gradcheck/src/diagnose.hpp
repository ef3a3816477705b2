// Why a block failed (diagnose.cpp: an ordered table of detectors) and the Taylor slope's second
// opinion (taylor.cpp).
#pragma once

#include <random>
#include <vector>

#include "numeric.hpp"

namespace gc::detail {

// Fills in the diagnosis of a failing (or warning) block. `probe` allows extra evaluations (the
// transposed elements' numeric values) and reading θ through b.get (the L2 fit); without it (a
// Jacobian's blocks, which have no θ) only the compared values are read.
void diagnose(Evaluator& J, BlockView& b, const Comparison& c, const Options& o, BlockResult& r, bool probe = true);

// Two failing blocks of equal shape whose gradients were written to each other: analytic of one
// is numeric of the other (compared at the same elements). Overwrites both diagnoses.
void diagnose_swaps(const std::vector<Comparison>& shown, const Options& o, std::vector<BlockResult>& rows);

// The ε-free second opinion: the slope of log|J(θ+hv) − J(θ) − h∇J·v| against log h, along the
// measured error n − a of `c` (a random direction when `c` is directional), at the smallest steps
// whose remainder stands above rounding (there a wrong gradient's first-order term dominates).
// 0: not enough such steps to decide.
double taylor_slope(Evaluator& J, BlockView& b, double J0, const Comparison& c, bool directional, std::mt19937_64& rng);

}  // namespace gc::detail
