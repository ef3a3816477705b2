// What the engine's own operations share beyond the public kit (autodiff/operation_kit.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "autodiff/operation_kit.hpp"
#include "autodiff/ops.hpp"

namespace ad::detail {

using namespace ad::kit;

// Rows per piece of a parallel elementwise pass over rows of C elements: at least 8192 elements,
// below which handing a piece to another thread (~2 µs) costs more than it saves.
inline std::size_t rows_per_piece(std::size_t C) {
  return std::max<std::size_t>(1, 8192 / std::max<std::size_t>(C, 1));
}

// An axis given by the user: 0 or 1, or ConfigError naming the operation and the caller's line.
inline int checked_axis(const char* op, int axis, std::source_location where) {
  if (axis != 0 && axis != 1)
    throw ConfigError(fmt::format("{}: axis must be 0 or 1, got {}{}", op, axis, site_suffix(where)));
  return axis;
}

// e^a in place, without undefined behaviour: xsimd's vectorized exp converts its argument times
// log2(e) to an integer, which UBSan's float-cast-overflow flags for NaN and |x| ≳ 1e18 (a diverging
// run). Such an array (rare, and exp is 0, ∞ or NaN there anyway) goes through std::exp instead.
template <class T>
void exp_in_place(Tensor<T>& a) {
  T* p = a.data();
  const std::size_t n = a.size();
  bool in_range = true;  // false for NaN too
  for (std::size_t i = 0; i < n; ++i) in_range &= p[i] >= T(-1000) && p[i] <= T(1000);
  if (in_range) {
    xt::noalias(a) = xt::exp(a);
  } else {
    for (std::size_t i = 0; i < n; ++i) p[i] = std::exp(p[i]);
  }
}

}  // namespace ad::detail
