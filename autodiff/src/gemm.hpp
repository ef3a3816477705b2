// C = op(A)·op(B) (+ C when accumulating), row-major, through xtensor-blas into a preallocated C
// with transpose flags (no copies of transposed operands).
//
// Measured (bench/autodiff/tiny_mlp_step): with OpenBLAS's SkylakeX kernels, its small-matrix
// path beats plain vectorized loops even on the 2-16-16-1 network (4.5 µs vs 10.4 µs per step),
// so there is no hand-written small-GEMM kernel here. See blas_setup.hpp for getting those kernels.
#pragma once

#include <xtensor-blas/xblas.hpp>

#include "autodiff/tensor.hpp"

namespace ad::detail {

// c must already have the product's shape.
template <class T>
void gemm(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& c, bool ta, bool tb, bool accumulate) {
  xt::blas::gemm(a, b, c, ta, tb, T(1), accumulate ? T(1) : T(0));
}

}  // namespace ad::detail
