#include "nn/schedule.hpp"

#include <cmath>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

namespace {
const char* const kind_names[] = {"constant", "inverse_time", "exponential", "step"};
}

void Schedule::validate() const {
  const char* name = kind_names[int(kind)];
  if (kind == Kind::inverse_time && !(rate >= 0 && std::isfinite(rate)))
    throw ConfigError(fmt::format("schedule {}: decay rate must be >= 0, got {}", name, rate));
  if ((kind == Kind::exponential || kind == Kind::step) && !(rate > 0 && rate <= 1))
    throw ConfigError(fmt::format("schedule {}: {} must be in (0, 1], got {}", name,
                                  kind == Kind::exponential ? "base" : "factor", rate));
  if ((kind == Kind::inverse_time || kind == Kind::step) && interval == 0)
    throw ConfigError(fmt::format("schedule {}: interval must be at least 1 epoch", name));
}

double Schedule::at(double alpha0, std::size_t epoch) const {
  const std::size_t every = interval;
  switch (kind) {
    case Kind::constant: return alpha0;
    case Kind::inverse_time: return alpha0 / (1.0 + rate * double(epoch / every));
    case Kind::exponential: return alpha0 * std::pow(rate, double(epoch));
    case Kind::step: return alpha0 * std::pow(rate, double(epoch / every));
  }
  return alpha0;
}

nlohmann::json Schedule::to_json() const {
  return {{"kind", kind_names[int(kind)]}, {"rate", rate}, {"interval", interval}};
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
  s.validate();
  return s;
}

}  // namespace nn
