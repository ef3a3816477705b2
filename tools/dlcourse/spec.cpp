#include "spec.hpp"

#include <fstream>

#include <fmt/format.h>

#include <nn/errors.hpp>
#include <nn/init.hpp>
#include <nn/layer.hpp>
#include <nn/schedule.hpp>

namespace dlcourse {
namespace {

using json = nlohmann::json;

// Reads the fields of one JSON object, naming the file and the path of a field in every error.
class Fields {
 public:
  Fields(const json& j, std::string origin, std::string where) : j_(j), origin_(std::move(origin)), where_(std::move(where)) {
    if (!j_.is_object()) fail("", "an object {...}");
  }
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const {
    const std::string field = key.empty() ? (where_.empty() ? "the spec" : where_) : path(key);
    const std::string got = key.empty() ? j_.dump() : j_.contains(key) ? j_[key].dump() : "nothing";
    throw nn::ConfigError(fmt::format("{}: field '{}': expected {}, got {}", origin_, field, expected, got));
  }
  const std::string& origin() const { return origin_; }
  std::string path(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }
  bool has(const std::string& key) const { return j_.contains(key); }
  const json& at(const std::string& key) const {
    if (!has(key)) fail(key, "a value (the field is required)");
    return j_[key];
  }
  double number(const std::string& key, double fallback, double lo, double hi, const char* range) const {
    if (!has(key)) return fallback;
    const auto& v = j_[key];
    if (!v.is_number() || !(v.get<double>() >= lo && v.get<double>() <= hi)) fail(key, fmt::format("a number {}", range));
    return v.get<double>();
  }
  std::uint64_t count(const std::string& key, std::uint64_t fallback, std::uint64_t lo) const {
    if (!has(key)) return fallback;
    const auto& v = j_[key];
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < lo) fail(key, fmt::format("an integer >= {}", lo));
    return v.get<std::uint64_t>();
  }
  bool flag(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_boolean()) fail(key, "true or false");
    return j_[key].get<bool>();
  }
  std::string text(const std::string& key, const std::string& fallback, const std::string& choices) const {
    if (!has(key)) return fallback;
    if (!j_[key].is_string()) fail(key, "a string: " + choices);
    return j_[key].get<std::string>();
  }
  // Refuses a field the reader does not know: a typo ("keep_porb") must not be silently ignored.
  void only(std::initializer_list<const char*> known) const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      bool ok = false;
      for (const char* k : known) ok |= it.key() == k;
      if (!ok) {
        std::string list;
        for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        throw nn::ConfigError(fmt::format("{}: unknown field '{}' (known here: {})", origin_, path(it.key()), list));
      }
    }
  }

 private:
  const json& j_;
  std::string origin_, where_;
};

// A name from a fixed list, through the library's own parser, with the field named on failure.
template <class F>
auto choice(const Fields& f, const std::string& key, const std::string& fallback, const std::string& choices, F parse) {
  const std::string s = f.text(key, fallback, choices);
  try {
    return parse(s);
  } catch (const nn::ConfigError&) {
    f.fail(key, "one of " + choices);
  }
}

json dense_layer(const Fields& f, bool batch_norm_next) {
  f.only({"type", "units", "inputs", "activation", "leaky_slope", "bias", "init"});
  const auto activation = choice(f, "activation", "linear", "linear, relu, leaky_relu, tanh, sigmoid, softmax",
                                 [](const std::string& s) { return nn::activation_from_string(s); });
  json init;
  const char* kinds = "zeros, small_random, he, xavier, glorot";
  const std::string default_kind = activation == nn::Activation::relu || activation == nn::Activation::leaky_relu ||
                                           activation == nn::Activation::linear
                                       ? "he"
                                       : "xavier";
  if (!f.has("init") || f.at("init").is_string()) {
    const auto kind = choice(f, "init", default_kind, kinds, [](const std::string& s) { return nn::init_kind_from_string(s); });
    init = {{"kind", nn::to_string(kind)}, {"distribution", "normal"}, {"scale", 1.0}};
  } else {
    Fields g(f.at("init"), f.origin(), f.path("init"));
    g.only({"kind", "distribution", "scale"});
    const auto kind = choice(g, "kind", default_kind, kinds, [](const std::string& s) { return nn::init_kind_from_string(s); });
    const auto dist = choice(g, "distribution", "normal", "normal, uniform",
                             [](const std::string& s) { return nn::distribution_from_string(s); });
    init = {{"kind", nn::to_string(kind)},
            {"distribution", nn::to_string(dist)},
            {"scale", g.number("scale", 1.0, 0, 1e6, "in [0, 1e6]")}};
  }
  if (!f.has("units")) f.fail("units", "an integer >= 1 (the field is required)");
  return {{"type", "dense"},
          {"units", f.count("units", 0, 1)},
          {"inputs", f.count("inputs", 0, 0)},
          {"activation", ad::to_string(activation)},
          {"leaky_slope", f.number("leaky_slope", 0.01, 0, 1, "in [0, 1]")},
          {"bias", f.flag("bias", !batch_norm_next)},  // batch norm's β replaces the bias
          {"init", init}};
}

}  // namespace

TrainingSpec parse_spec(const json& j, const std::string& origin) {
  Fields top(j, origin, "");
  top.only({"inputs", "seed", "layers", "loss", "optimizer", "schedule", "l2", "epochs", "batch_size", "normalize"});
  TrainingSpec spec;
  const auto& layers = top.at("layers");
  if (!layers.is_array() || layers.empty()) top.fail("layers", "a non-empty array of layers");
  json model_layers = json::array();
  for (std::size_t k = 0; k < layers.size(); ++k) {
    Fields f(layers[k], origin, fmt::format("layers[{}]", k));
    const std::string type = f.text("type", "", "dense, activation, dropout, batch_norm");
    const bool batch_norm_next = k + 1 < layers.size() && layers[k + 1].is_object() &&
                                 layers[k + 1].value("type", json("")) == json("batch_norm");
    if (type == "dense") {
      model_layers.push_back(dense_layer(f, batch_norm_next));
    } else if (type == "activation") {
      f.only({"type", "activation", "leaky_slope"});
      if (!f.has("activation")) f.fail("activation", "one of relu, leaky_relu, tanh, sigmoid, softmax, linear");
      const auto a = choice(f, "activation", "", "linear, relu, leaky_relu, tanh, sigmoid, softmax",
                            [](const std::string& s) { return nn::activation_from_string(s); });
      model_layers.push_back({{"type", "activation"},
                              {"activation", ad::to_string(a)},
                              {"leaky_slope", f.number("leaky_slope", 0.01, 0, 1, "in [0, 1]")}});
    } else if (type == "dropout") {
      f.only({"type", "keep_prob"});
      if (!f.has("keep_prob")) f.fail("keep_prob", "a number in (0, 1] (the field is required)");
      model_layers.push_back({{"type", "dropout"}, {"keep_prob", f.number("keep_prob", 1, 1e-9, 1, "in (0, 1]")}});
    } else if (type == "batch_norm") {
      f.only({"type", "momentum", "epsilon"});
      model_layers.push_back({{"type", "batch_norm"},
                              {"momentum", f.number("momentum", 0.9, 0, 1, "in [0, 1]")},
                              {"epsilon", f.number("epsilon", 1e-5, 1e-300, 1, "in (0, 1]")}});
    } else {
      f.fail("type", "one of dense, activation, dropout, batch_norm");
    }
  }
  spec.model = {{"inputs", top.count("inputs", 0, 0)}, {"seed", top.count("seed", 0, 0)}, {"layers", model_layers}};
  spec.seed = top.count("seed", 0, 0);
  spec.loss = choice(top, "loss", "softmax_cross_entropy", "softmax_cross_entropy, sigmoid_cross_entropy, mean_squared_error",
                     [](const std::string& s) { return nn::loss_from_string(s); });
  spec.l2 = top.number("l2", 0, 0, 1e6, ">= 0");
  spec.epochs = top.count("epochs", 10, 1);
  spec.batch_size = top.count("batch_size", 64, 1);
  spec.normalize = top.flag("normalize", true);

  // The schedule: {"kind": ..., "rate": ..., "interval": ...}, checked by Schedule::validate.
  json schedule = {{"kind", "constant"}, {"rate", 0.0}, {"interval", 1}};
  if (top.has("schedule")) {
    Fields s(top.at("schedule"), origin, "schedule");
    s.only({"kind", "rate", "interval"});
    const std::string kind = s.text("kind", "constant", "constant, inverse_time, exponential, step");
    if (kind != "constant" && kind != "inverse_time" && kind != "exponential" && kind != "step")
      s.fail("kind", "one of constant, inverse_time, exponential, step");
    schedule = {{"kind", kind}, {"rate", s.number("rate", 0, 0, 1e6, ">= 0")}, {"interval", s.count("interval", 1, 1)}};
    try {
      nn::Schedule::from_json(schedule);
    } catch (const nn::ConfigError& e) {
      throw nn::ConfigError(fmt::format("{}: field 'schedule': {}", origin, e.what()));
    }
  }
  // The optimizer: {"name": ..., "learning_rate": ..., and its own β's and ε}.
  json optimizer = json::object();
  if (top.has("optimizer")) optimizer = top.at("optimizer");
  Fields o(optimizer, origin, "optimizer");
  const std::string name = o.text("name", "adam", "gradient_descent, momentum, rmsprop, adam");
  const double lr = o.number("learning_rate", name == "adam" ? 0.001 : 0.01, 1e-300, 1e6, "in (0, 1e6]");
  const char* beta_range = "in [0, 1)";
  if (name == "gradient_descent") {
    o.only({"name", "learning_rate"});
    spec.optimizer = {{"name", name}, {"learning_rate", lr}};
  } else if (name == "momentum") {
    o.only({"name", "learning_rate", "beta"});
    spec.optimizer = {{"name", name}, {"learning_rate", lr}, {"beta", o.number("beta", 0.9, 0, 0.999999999, beta_range)}};
  } else if (name == "rmsprop") {
    o.only({"name", "learning_rate", "beta2", "epsilon"});
    spec.optimizer = {{"name", name},
                      {"learning_rate", lr},
                      {"beta2", o.number("beta2", 0.999, 0, 0.999999999, beta_range)},
                      {"epsilon", o.number("epsilon", 1e-8, 1e-300, 1, "in (0, 1]")}};
  } else if (name == "adam") {
    o.only({"name", "learning_rate", "beta1", "beta2", "epsilon"});
    spec.optimizer = {{"name", name},
                      {"learning_rate", lr},
                      {"beta1", o.number("beta1", 0.9, 0, 0.999999999, beta_range)},
                      {"beta2", o.number("beta2", 0.999, 0, 0.999999999, beta_range)},
                      {"epsilon", o.number("epsilon", 1e-8, 1e-300, 1, "in (0, 1]")}};
  } else {
    o.fail("name", "one of gradient_descent, momentum, rmsprop, adam");
  }
  spec.optimizer["schedule"] = schedule;
  return spec;
}

TrainingSpec read_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw nn::ConfigError(fmt::format("{}: cannot read the spec file", path));
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    throw nn::ConfigError(fmt::format("{}: not JSON: {}", path, e.what()));
  }
  return parse_spec(j, path);
}

json to_json(const TrainingSpec& s) {
  json optimizer = s.optimizer;
  json schedule = optimizer["schedule"];
  optimizer.erase("schedule");
  return {{"inputs", s.model["inputs"]}, {"seed", s.seed},        {"layers", s.model["layers"]},
          {"loss", nn::to_string(s.loss)}, {"optimizer", optimizer}, {"schedule", schedule},
          {"l2", s.l2},                    {"epochs", s.epochs},     {"batch_size", s.batch_size},
          {"normalize", s.normalize}};
}

TrainingSpec with_hyperparameters(TrainingSpec spec, const nn::Hyperparameters& values) {
  auto& layers = spec.model["layers"];
  std::size_t last_dense = 0;
  for (std::size_t k = 0; k < layers.size(); ++k)
    if (layers[k]["type"] == "dense") last_dense = k;
  const std::string optimizer = spec.optimizer["name"];
  for (const auto& [name, v] : values) {
    if (name == "learning_rate" || name == "alpha") spec.optimizer["learning_rate"] = v;
    else if ((name == "beta1" || name == "beta") && optimizer == "adam") spec.optimizer["beta1"] = v;
    else if (name == "beta" && optimizer == "momentum") spec.optimizer["beta"] = v;
    else if (name == "beta2" && (optimizer == "adam" || optimizer == "rmsprop")) spec.optimizer["beta2"] = v;
    else if (name == "l2" || name == "lambda") spec.l2 = v;
    else if (name == "batch_size") spec.batch_size = std::size_t(v);
    else if (name == "decay") spec.optimizer["schedule"]["rate"] = v;
    else if (name == "keep_prob") {
      for (auto& l : layers)
        if (l["type"] == "dropout") l["keep_prob"] = v;
    } else if (name == "hidden_units") {
      for (std::size_t k = 0; k < last_dense; ++k)
        if (layers[k]["type"] == "dense") layers[k]["units"] = std::size_t(v);
    } else {
      throw nn::ConfigError(fmt::format(
          "search: the hyperparameter '{}' is not one the spec can take (learning_rate, beta1, beta2, beta, l2, "
          "keep_prob, hidden_units, batch_size, decay; beta1/beta2 with the optimizer that has them, here {})",
          name, optimizer));
    }
  }
  return spec;
}

}  // namespace dlcourse
