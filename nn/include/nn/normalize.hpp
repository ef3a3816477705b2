// Input normalization x ← (x − μ) / σ per feature, fitted on the training set only and applied
// unchanged to dev, test and new inputs (μ and σ go into checkpoints with the model).
#pragma once

#include "nn/dataset.hpp"

namespace nn {

template <class T>
struct Normalizer {
  ad::Tensor<T> mean;    // (n_x, 1), the course's μ
  ad::Tensor<T> stddev;  // (n_x, 1); a constant feature gets 1 (it is centred, not blown up)

  bool fitted() const { return mean.size() != 0; }
  // μ and σ of each feature (column of x) over the training examples, accumulated in double.
  void fit(const Dataset<T>& train);
  void fit(const ad::Tensor<T>& x_rows);
  // In place; throws DataError when not fitted or the feature count differs.
  void apply(Dataset<T>& data) const;
  void apply(ad::Tensor<T>& x_rows) const;
};

extern template struct Normalizer<float>;
extern template struct Normalizer<double>;

}  // namespace nn
