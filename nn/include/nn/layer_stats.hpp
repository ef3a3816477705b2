// Summary statistics of one tensor and of one layer (the course's l) of a model: what
// nn::Inspector reports and the trainer logs per epoch (TrainOptions::layer_stats).
#pragma once

#include <cstddef>

namespace nn {

struct TensorStats {
  double mean = 0;
  double std = 0;   // population standard deviation (divides by the element count)
  double norm = 0;  // Frobenius norm, √Σ x²
};

struct LayerStats {
  std::size_t layer = 0;  // the course's l, from 1
  TensorStats A, Z, dW, db;  // db: all zero for a layer without bias (followed by BatchNorm)
};

}  // namespace nn
