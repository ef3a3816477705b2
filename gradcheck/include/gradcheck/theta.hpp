// The course's recipe, step by step: all parameters as one vector θ (dictionary_to_vector /
// vector_to_dictionary), the gradients as one vector in the same order, and the one relative error
// ‖dθ_approx − dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂) over all of θ. gc::check does all of this per block;
// these let a learner follow the lecture with the library.
#pragma once

#include <vector>

#include <autodiff/autodiff.hpp>

namespace gc {

// Every element of `params`, block after block, each row-major: θ as one (n, 1) column.
template <class T>
ad::Tensor<T> to_vector(const std::vector<ad::Parameter<T>*>& params);
// The gradients of `params` in the same order as to_vector.
template <class T>
ad::Tensor<T> gradients_to_vector(const std::vector<ad::Parameter<T>*>& params);
// Writes θ back into `params` (the inverse of to_vector). Throws ad::ShapeError when θ is not a
// column of exactly as many elements as the parameters have (naming both counts).
template <class T>
void from_vector(const ad::Tensor<T>& theta, const std::vector<ad::Parameter<T>*>& params);

// ‖numeric − analytic‖₂ / (‖numeric‖₂ + ‖analytic‖₂), 0 when both are zero. Throws ad::ShapeError
// when the shapes differ.
template <class T>
double relative_error(const ad::Tensor<T>& numeric, const ad::Tensor<T>& analytic);

}  // namespace gc
