// C = op(A)·op(B) (+ C when accumulating), row-major, through xtensor-blas into a preallocated C
// with transpose flags (no copies of transposed operands). BLAS even for small products, and C
// cleared here rather than by OpenBLAS: both measured, see docs/design.md. See blas_setup.hpp for
// getting OpenBLAS's fast kernels.
#pragma once

#include <cstring>

#include <xtensor-blas/xblas.hpp>

#include "autodiff/parallel.hpp"
#include "autodiff/tensor.hpp"

namespace ad::detail {

// Products of at least this many elements are written as C = 0, then C += A·B (see gemm).
inline constexpr std::size_t zero_here_from = 4096;

// c must already have the product's shape.
//
// For C = A·B (beta = 0) OpenBLAS first clears C in a pass of its own, slower than clearing C here
// over the same threads and asking for C += A·B. Small products keep beta = 0: OpenBLAS's
// small-matrix kernels for beta = 0 never read C.
template <class T>
void gemm(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& c, bool ta, bool tb, bool accumulate) {
  if (!accumulate && c.size() >= zero_here_from) {
    T* out = c.data();
    parallel_for(c.size(), 16384,
                 [=](std::size_t first, std::size_t last) { std::memset(out + first, 0, (last - first) * sizeof(T)); });
    accumulate = true;
  }
  xt::blas::gemm(a, b, c, ta, tb, T(1), accumulate ? T(1) : T(0));
}

}  // namespace ad::detail
