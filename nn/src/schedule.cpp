#include "nn/schedule.hpp"

#include <cmath>

#include "nn/errors.hpp"

namespace nn {

double Schedule::at(double alpha0, std::size_t epoch) const {
  const std::size_t every = std::max<std::size_t>(interval, 1);
  switch (kind) {
    case Kind::constant: return alpha0;
    case Kind::inverse_time: return alpha0 / (1.0 + rate * double(epoch / every));
    case Kind::exponential: return alpha0 * std::pow(rate, double(epoch));
    case Kind::step: return alpha0 * std::pow(rate, double(epoch / every));
  }
  return alpha0;
}

nlohmann::json Schedule::to_json() const {
  static const char* names[] = {"constant", "inverse_time", "exponential", "step"};
  return {{"kind", names[int(kind)]}, {"rate", rate}, {"interval", interval}};
}

Schedule Schedule::from_json(const nlohmann::json& j) {
  const std::string k = j.at("kind");
  Schedule s;
  if (k == "constant") s.kind = Kind::constant;
  else if (k == "inverse_time") s.kind = Kind::inverse_time;
  else if (k == "exponential") s.kind = Kind::exponential;
  else if (k == "step") s.kind = Kind::step;
  else throw ConfigError("schedule: unknown kind '" + k + "'");
  s.rate = j.at("rate");
  s.interval = j.at("interval");
  return s;
}

}  // namespace nn
