#include "nn/ewa.hpp"

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

ExponentiallyWeightedAverage::ExponentiallyWeightedAverage(double beta) : beta_(beta) {
  if (!(beta >= 0 && beta < 1))
    throw ConfigError(fmt::format("ExponentiallyWeightedAverage: beta must be in [0, 1), got {}", beta));
}

double ExponentiallyWeightedAverage::add(double theta) {
  v_ = beta_ * v_ + (1 - beta_) * theta;
  beta_power_ *= beta_;
  ++t_;
  return v_;
}

double ExponentiallyWeightedAverage::corrected() const {
  if (t_ == 0) throw ConfigError("ExponentiallyWeightedAverage::corrected: no value added yet (t = 0)");
  return v_ / (1 - beta_power_);
}

}  // namespace nn
