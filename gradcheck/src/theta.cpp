// θ as one vector and the one relative error: the course's recipe (see theta.hpp).
#include "gradcheck/theta.hpp"

#include <cmath>

#include <fmt/format.h>

namespace gc {
namespace {

template <class T>
std::size_t count(const std::vector<ad::Parameter<T>*>& params) {
  std::size_t n = 0;
  for (const auto* p : params) n += p->value.size();
  return n;
}

template <class T, class Of>
ad::Tensor<T> concatenate(const std::vector<ad::Parameter<T>*>& params, Of of) {
  ad::Tensor<T> v = ad::Tensor<T>::from_shape({count(params), std::size_t(1)});
  std::size_t k = 0;
  for (auto* p : params) {
    const ad::Tensor<T>& t = of(*p);
    if (t.size() != p->value.size())
      throw ad::ShapeError(fmt::format("gradients_to_vector: the gradient of {} is {} but {} is {}", p->name,
                                       ad::to_string(ad::shape_of(t)), p->name, ad::to_string(ad::shape_of(p->value))));
    for (T x : t) v.data()[k++] = x;
  }
  return v;
}

}  // namespace

template <class T>
ad::Tensor<T> to_vector(const std::vector<ad::Parameter<T>*>& params) {
  return concatenate(params, [](ad::Parameter<T>& p) -> const ad::Tensor<T>& { return p.value; });
}

template <class T>
ad::Tensor<T> gradients_to_vector(const std::vector<ad::Parameter<T>*>& params) {
  return concatenate(params, [](ad::Parameter<T>& p) -> const ad::Tensor<T>& { return p.grad; });
}

template <class T>
void from_vector(const ad::Tensor<T>& theta, const std::vector<ad::Parameter<T>*>& params) {
  const std::size_t n = count(params);
  if (ad::shape_of(theta) != ad::Shape{n, 1})
    throw ad::ShapeError(fmt::format("from_vector: θ is {} but the {} parameters have {} elements: expected ({}, 1)",
                                     ad::to_string(ad::shape_of(theta)), params.size(), n, n));
  std::size_t k = 0;
  for (auto* p : params)
    for (T& x : p->value) x = theta.data()[k++];
}

template <class T>
double relative_error(const ad::Tensor<T>& numeric, const ad::Tensor<T>& analytic) {
  if (ad::shape_of(numeric) != ad::shape_of(analytic))
    throw ad::ShapeError(fmt::format("relative_error: numeric is {} but analytic is {}", ad::to_string(ad::shape_of(numeric)),
                                     ad::to_string(ad::shape_of(analytic))));
  double diff = 0, nn = 0, aa = 0;
  for (std::size_t k = 0; k < numeric.size(); ++k) {
    const double n = double(numeric.data()[k]), a = double(analytic.data()[k]);
    diff += (n - a) * (n - a);
    nn += n * n;
    aa += a * a;
  }
  const double denominator = std::sqrt(nn) + std::sqrt(aa);
  return denominator == 0 ? 0 : std::sqrt(diff) / denominator;
}

#define GC_THETA(T)                                                                          \
  template ad::Tensor<T> to_vector(const std::vector<ad::Parameter<T>*>&);                  \
  template ad::Tensor<T> gradients_to_vector(const std::vector<ad::Parameter<T>*>&);        \
  template void from_vector(const ad::Tensor<T>&, const std::vector<ad::Parameter<T>*>&);   \
  template double relative_error(const ad::Tensor<T>&, const ad::Tensor<T>&);
GC_THETA(float)
GC_THETA(double)

}  // namespace gc
