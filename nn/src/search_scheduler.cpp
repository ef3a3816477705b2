#include "nn/search_scheduler.hpp"

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

std::string to_string(Outcome o) {
  switch (o) {
    case Outcome::finished: return "finished";
    case Outcome::stopped_early: return "stopped_early";
    case Outcome::diverged: return "diverged";
    case Outcome::failed: return "failed";
    case Outcome::interrupted: return "interrupted";
  }
  return "?";
}

Outcome outcome_from_string(const std::string& s) {
  for (auto o : {Outcome::finished, Outcome::stopped_early, Outcome::diverged, Outcome::failed, Outcome::interrupted})
    if (to_string(o) == s) return o;
  throw DataError(fmt::format("unknown trial outcome '{}' (expected finished, stopped_early, diverged or failed)", s));
}

namespace {
const char* scale_name(Scale s) {
  switch (s) {
    case Scale::log: return "log";
    case Scale::one_minus_log: return "one_minus_log";
    case Scale::linear: break;
  }
  return "linear";
}
}  // namespace

nlohmann::json to_json(const std::vector<SearchDimension>& space) {
  auto out = nlohmann::json::array();
  for (const auto& d : space)
    out.push_back({{"name", d.name}, {"lo", d.lo}, {"hi", d.hi}, {"scale", scale_name(d.scale)}, {"integer", d.integer}});
  return out;
}

std::vector<SearchDimension> space_from_json(const nlohmann::json& j) {
  if (!j.is_array()) throw ConfigError("search space: expected an array of dimensions");
  std::vector<SearchDimension> space;
  for (std::size_t k = 0; k < j.size(); ++k) {
    const auto& e = j[k];
    auto field = [&](const char* name) -> const nlohmann::json& {
      if (!e.is_object() || !e.contains(name))
        throw ConfigError(fmt::format("search space: dimension {} has no field '{}'", k, name));
      return e[name];
    };
    SearchDimension d;
    if (!field("name").is_string()) throw ConfigError(fmt::format("search space: dimension {}: 'name' must be a string", k));
    d.name = field("name").get<std::string>();
    for (auto [key, target] : {std::pair{"lo", &d.lo}, std::pair{"hi", &d.hi}}) {
      if (!field(key).is_number())
        throw ConfigError(fmt::format("search space: dimension '{}': '{}' must be a number, got {}", d.name, key,
                                      field(key).dump()));
      *target = field(key).get<double>();
    }
    const std::string scale = e.value("scale", "linear");
    if (scale == "log") d.scale = Scale::log;
    else if (scale == "one_minus_log") d.scale = Scale::one_minus_log;
    else if (scale == "linear") d.scale = Scale::linear;
    else
      throw ConfigError(fmt::format("search space: dimension '{}': 'scale' must be linear, log or one_minus_log, got '{}'",
                                    d.name, scale));
    const auto integer = e.value("integer", nlohmann::json(false));
    if (!integer.is_boolean())
      throw ConfigError(fmt::format("search space: dimension '{}': 'integer' must be true or false", d.name));
    d.integer = integer.get<bool>();
    space.push_back(d);
  }
  validate_space(space);
  return space;
}

RandomScheduler::RandomScheduler(std::vector<SearchDimension> space, std::uint64_t seed, std::size_t trials,
                                 std::size_t budget)
    : space_(std::move(space)), seed_(seed), trials_(trials), budget_(budget), started_(trials, false) {
  validate_space(space_);
  if (budget_ == 0) throw ConfigError("random search: the budget must be at least 1 epoch");
}

nlohmann::json RandomScheduler::identity() const {
  // The number of trials is left out: a resumed search may be asked for more.
  return {{"method", "random"}, {"seed", seed_}, {"space", to_json(space_)}, {"budget", budget_}};
}

std::optional<TrialJob> RandomScheduler::next() {
  for (std::size_t t = 0; t < trials_; ++t)
    if (!started_[t]) {
      started_[t] = true;
      const auto seed = trial_seed(seed_, t);
      return TrialJob{t, 0, budget_, seed, sample_point(space_, seed)};
    }
  return std::nullopt;
}

void RandomScheduler::report(const TrialRecord& record) {
  if (record.job.trial < trials_) started_[record.job.trial] = true;
}

bool RandomScheduler::done() const {
  for (bool s : started_)
    if (!s) return false;
  return true;
}

}  // namespace nn
