// The value type of the engine: every value is a row-major matrix (the course's world is
// matrices: X is (n_x, m), b is (n, 1), a cost is (1, 1)). xt::xtensor<T, 2> has a fixed rank,
// so shape handling costs nothing at run time.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include <fmt/format.h>
#include <xtensor/xtensor.hpp>

namespace ad {

template <class T>
using Tensor = xt::xtensor<T, 2>;

using Shape = std::array<std::size_t, 2>;

inline Shape shape_of(const auto& tensor) { return {tensor.shape()[0], tensor.shape()[1]}; }

inline std::string to_string(const Shape& s) { return fmt::format("({}, {})", s[0], s[1]); }

// Resizes only when the shape differs, so replaying a graph with the same shapes never allocates.
template <class T>
inline void ensure_shape(Tensor<T>& tensor, const Shape& shape) {
  if (tensor.shape()[0] != shape[0] || tensor.shape()[1] != shape[1]) tensor.resize({shape[0], shape[1]});
}

}  // namespace ad
