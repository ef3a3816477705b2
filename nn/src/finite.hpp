// Finiteness scans over raw arrays, cheap enough for every training step: one pass that keeps the
// largest exponent field seen (integer AND and MAX, which GCC vectorizes; the exponent is all ones
// exactly for NaN and ±Inf), and a second, locating pass only once the first has failed.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace nn::detail {

template <class T>
bool all_finite(const T* p, std::size_t begin, std::size_t end) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr Bits exponent = sizeof(T) == 4 ? Bits(0x7f800000u) : Bits(0x7ff0000000000000ull);
  Bits largest = 0;
  for (std::size_t i = begin; i < end; ++i) largest = std::max(largest, Bits(std::bit_cast<Bits>(p[i]) & exponent));
  return largest != exponent;
}

// The index of the first NaN or ±Inf in [0, n), or n when there is none.
template <class T>
std::size_t first_non_finite(const T* p, std::size_t n) {
  if (all_finite(p, 0, n)) return n;
  return std::size_t(std::find_if(p, p + n, [](T v) { return !std::isfinite(v); }) - p);
}

}  // namespace nn::detail
