#include "nn/normalize.hpp"

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

template <class T>
void Normalizer<T>::fit(const Dataset<T>& train) {
  fit(train.x);
}

template <class T>
void Normalizer<T>::fit(const ad::Tensor<T>& x) {
  const std::size_t m = x.shape()[0], n = x.shape()[1];
  if (m == 0) throw DataError("Normalizer::fit: no training examples");
  check_finite_features(x, "Normalizer::fit");  // else μ and σ of the feature are NaN
  std::vector<double> sum(n, 0), sq(n, 0);
  for (std::size_t i = 0; i < m; ++i) {
    const T* row = x.data() + i * n;
    for (std::size_t k = 0; k < n; ++k) sum[k] += double(row[k]);
  }
  for (std::size_t k = 0; k < n; ++k) sum[k] /= double(m);
  for (std::size_t i = 0; i < m; ++i) {
    const T* row = x.data() + i * n;
    for (std::size_t k = 0; k < n; ++k) sq[k] += (double(row[k]) - sum[k]) * (double(row[k]) - sum[k]);
  }
  mean = ad::Tensor<T>::from_shape({n, std::size_t(1)});
  stddev = ad::Tensor<T>::from_shape({n, std::size_t(1)});
  for (std::size_t k = 0; k < n; ++k) {
    const double sd = std::sqrt(sq[k] / double(m));
    mean(k, 0) = T(sum[k]);
    // A (nearly) constant feature in training, e.g. an always-black border pixel: dividing by a
    // tiny σ would turn one non-zero test pixel into a huge input.
    stddev(k, 0) = sd < 1e-6 ? T(1) : T(sd);
  }
}

template <class T>
void Normalizer<T>::apply(Dataset<T>& data) const {
  apply(data.x);
}

template <class T>
void Normalizer<T>::apply(ad::Tensor<T>& x) const {
  if (!fitted()) throw DataError("Normalizer::apply: not fitted (call fit on the training set first)");
  const std::size_t m = x.shape()[0], n = x.shape()[1];
  if (n != mean.shape()[0])
    throw DataError(fmt::format("Normalizer::apply: fitted on {} features but the data has {}", mean.shape()[0], n));
  check_finite_features(x, "Normalizer::apply");  // before anything is changed
  std::vector<T> inv(n);
  for (std::size_t k = 0; k < n; ++k) inv[k] = T(1) / stddev(k, 0);
  const T* mu = mean.data();
  for (std::size_t i = 0; i < m; ++i) {
    T* row = x.data() + i * n;
    for (std::size_t k = 0; k < n; ++k) row[k] = (row[k] - mu[k]) * inv[k];
  }
}

template struct Normalizer<float>;
template struct Normalizer<double>;

}  // namespace nn
