// Learning-rate decay by epoch (the course's schedules), counted by the course's epoch_num: the
// trainer runs its epoch e (from 1, EpochRecord::epoch) at at(α0, e), so its first epoch already
// runs at α0/(1 + decay_rate) as in the course's table (α0 = 0.2, decay_rate = 1: 0.1, 0.067,
// 0.05, 0.04). at(α0, 0) = α0 is the rate before any epoch (an optimizer used on its own).
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

namespace nn {

struct Schedule {
  enum class Kind { constant, inverse_time, exponential, step };
  Kind kind = Kind::constant;
  double rate = 0;           // inverse_time: decay rate; exponential: base (e.g. 0.95); step: factor
  std::size_t interval = 1;  // inverse_time and step: epochs per decay step

  static Schedule constant() { return {}; }
  // α = α0 / (1 + rate · ⌊epoch_num / interval⌋)   (interval 1: the course's 1/(1 + decay_rate · epoch_num))
  static Schedule inverse_time(double rate, std::size_t interval = 1) { return {Kind::inverse_time, rate, interval}; }
  // α = α0 · base^epoch_num
  static Schedule exponential(double base) { return {Kind::exponential, base, 1}; }
  // α = α0 · factor^⌊epoch_num / interval⌋
  static Schedule step(std::size_t interval, double factor) { return {Kind::step, factor, interval}; }

  // Throws ConfigError naming the schedule and the value out of range: a decay rate < 0, a base or
  // factor outside (0, 1] (it would grow the learning rate), an interval of 0.
  void validate() const;
  // The learning rate for the course's epoch_num `epoch` (the trainer's epoch number, from 1).
  double at(double alpha0, std::size_t epoch) const;
  nlohmann::json to_json() const;
  static Schedule from_json(const nlohmann::json& j);
};

}  // namespace nn
