// GradSink's contributions that need the engine's private kernels (BLAS, the reduction loops).
#include "autodiff/operation_kit.hpp"
#include "gemm.hpp"

namespace ad {

template <class T>
void GradSink<T>::gemm(const Tensor<T>& a, const Tensor<T>& b, bool transpose_a, bool transpose_b) {
  detail::gemm(a, b, grad_, transpose_a, transpose_b, !first_);
  first_ = false;
}

template <class T>
void GradSink<T>::reduce_from(const T* full, const Shape& full_shape) {
  const std::size_t R = full_shape[0], C = full_shape[1];
  const std::size_t r = grad_.shape()[0], c = grad_.shape()[1];
  if (r == R && c == C) {
    each([full](std::size_t i) { return full[i]; });
    return;
  }
  T* g = accumulator();
  if (c == 1 && r == R) {
    for (std::size_t i = 0; i < R; ++i) g[i] += kit::sum_contiguous(full + i * C, C);
  } else if (r == 1 && c == C) {
    for (std::size_t i = 0; i < R; ++i) {
      const T* row = full + i * C;
      for (std::size_t j = 0; j < C; ++j) g[j] += row[j];
    }
  } else {
    g[0] += kit::sum_contiguous(full, R * C);
  }
}

template class GradSink<float>;
template class GradSink<double>;

}  // namespace ad
