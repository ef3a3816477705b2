// What the engine's own operations share beyond the public kit (autodiff/operation_kit.hpp).
#pragma once

#include <algorithm>
#include <cstdint>

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

}  // namespace ad::detail
