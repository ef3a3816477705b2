// The course's exponentially weighted average (course 2, week 2):
//   v_0 = 0,  v_t = β·v_{t−1} + (1 − β)·θ_t,  bias-corrected v_t / (1 − β^t),
// roughly the mean of the last 1/(1 − β) values. What Momentum, RMSProp and Adam keep per
// parameter and batch norm keeps for test time, as a helper for a series of numbers.
#pragma once

#include <cstddef>

namespace nn {

class ExponentiallyWeightedAverage {
 public:
  // Throws ConfigError unless 0 <= β < 1.
  explicit ExponentiallyWeightedAverage(double beta);

  // Takes θ_t and returns v_t (without bias correction).
  double add(double theta);
  double value() const { return v_; }  // v_t; 0 before the first value
  // v_t / (1 − β^t): unbiased while t is small. Throws ConfigError before the first value (t = 0).
  double corrected() const;
  std::size_t count() const { return t_; }  // t
  double beta() const { return beta_; }

 private:
  double beta_;
  double v_ = 0;
  double beta_power_ = 1;  // β^t
  std::size_t t_ = 0;
};

}  // namespace nn
