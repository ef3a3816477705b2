#include "checkpoint_manifest.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "nn/checkpoint.hpp"
#include "nn/errors.hpp"
#include "nn/optimizer.hpp"
#include "nn/sequential.hpp"

namespace nn::detail {

namespace {

using json = nlohmann::json;

// Step counts and epochs go through double arithmetic (bias correction, schedules): integers
// beyond 2^53 are not counts any run reaches.
constexpr std::uint64_t max_count = std::uint64_t(1) << 53;

class ManifestChecker {
 public:
  ManifestChecker(const json& manifest, const std::map<std::string, std::string>& entries, const std::string& path)
      : man_(manifest), entries_(entries), path_(path) {}

  std::map<std::string, NpyHeader> check() {
    if (!man_.is_object()) throw fail(fmt::format("manifest.json is not a JSON object (it is {})", a_type(man_)));
    const json* format = man_.contains("format") ? &man_["format"] : nullptr;
    if (!format || !format->is_string() || *format != checkpoint_format_name)
      throw fail(fmt::format("format {} is not '{}'", format ? format->dump() : "(missing)", checkpoint_format_name));
    if (const json* v = man_.contains("version") ? &man_["version"] : nullptr;
        !v || !v->is_number_integer() || *v < 1 || *v > checkpoint_version)
      throw fail(fmt::format("format version {} is not supported (this build reads 1..{})",
                             v ? v->dump() : "(missing)", checkpoint_version));
    dtype_ = string(man_, "dtype", "");
    if (dtype_ != "float32" && dtype_ != "float64")
      throw fail(fmt::format("manifest.json: dtype '{}' is not float32 or float64", dtype_));
    const auto params = tensor_list("parameters"), buffers = tensor_list("buffers");
    tensor_list("optimizer_state");
    const bool normalizer = boolean(man_, "normalizer", "");
    if (normalizer)
      for (const char* name : {"normalizer/mean", "normalizer/stddev"}) add_tensor(name, "normalizer");
    check_model(values_of(params), values_of(buffers));
    if (normalizer) {
      const ad::Shape column{inputs_, 1};
      for (const char* name : {"normalizer/mean", "normalizer/stddev"})
        if (headers_.at(name).shape != column)
          throw fail(fmt::format("its {} is {} but the model takes {} inputs: expected {}", name,
                                 ad::to_string(headers_.at(name).shape), inputs_, ad::to_string(column)));
    }
    check_optimizer();
    return std::move(headers_);
  }

 private:
  CheckpointError fail(const std::string& why) const {
    return CheckpointError(fmt::format("checkpoint {}: {}; the model was not changed", path_, why));
  }
  static std::string a_type(const json& j) {
    const std::string t = j.type_name();
    return (t == "array" || t == "object" ? "an " : "a ") + t;
  }
  static std::string field_name(const std::string& context, const std::string& key) {
    return context.empty() ? key : context + "." + key;
  }
  const json& field(const json& object, const std::string& key, const std::string& context) const {
    if (!object.is_object())
      throw fail(fmt::format("manifest.json: {} is {}, not an object", context, a_type(object)));
    const auto it = object.find(key);
    if (it == object.end()) throw fail(fmt::format("manifest.json: {} is missing", field_name(context, key)));
    return *it;
  }
  std::string string(const json& object, const std::string& key, const std::string& context) const {
    const json& v = field(object, key, context);
    if (!v.is_string())
      throw fail(fmt::format("manifest.json: {} must be a string, got {}", field_name(context, key), v.dump()));
    return v.get<std::string>();
  }
  bool boolean(const json& object, const std::string& key, const std::string& context) const {
    const json& v = field(object, key, context);
    if (!v.is_boolean())
      throw fail(fmt::format("manifest.json: {} must be true or false, got {}", field_name(context, key), v.dump()));
    return v.get<bool>();
  }
  // A JSON integer (1e30 is a float: converting it to size_t would be undefined) in [low, high].
  std::uint64_t integer(const json& object, const std::string& key, const std::string& context, std::uint64_t low,
                        std::uint64_t high) const {
    const json& v = field(object, key, context);
    const bool in_range = v.is_number_unsigned()  ? v.get<std::uint64_t>() >= low && v.get<std::uint64_t>() <= high
                          : v.is_number_integer() ? v.get<std::int64_t>() >= 0 && std::uint64_t(v.get<std::int64_t>()) >= low &&
                                                        std::uint64_t(v.get<std::int64_t>()) <= high
                                                  : false;
    if (!in_range)
      throw fail(fmt::format("manifest.json: {} must be an integer in [{}, {}], got {}", field_name(context, key), low,
                             high, v.dump()));
    return v.is_number_unsigned() ? v.get<std::uint64_t>() : std::uint64_t(v.get<std::int64_t>());
  }
  double number(const json& object, const std::string& key, const std::string& context) const {
    const json& v = field(object, key, context);
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      throw fail(fmt::format("manifest.json: {} must be a finite number, got {}", field_name(context, key), v.dump()));
    return v.get<double>();
  }

  // A list of tensor names, each with a valid entry of the manifest's dtype.
  std::vector<std::string> tensor_list(const std::string& key) {
    const json& list = field(man_, key, "");
    if (!list.is_array()) throw fail(fmt::format("manifest.json: {} must be a list of names, got {}", key, a_type(list)));
    std::vector<std::string> names;
    for (std::size_t k = 0; k < list.size(); ++k) {
      if (!list[k].is_string())
        throw fail(fmt::format("manifest.json: {}[{}] must be a name, got {}", key, k, list[k].dump()));
      names.push_back(list[k].get<std::string>());
      add_tensor(names.back(), key);
    }
    return names;
  }
  void add_tensor(const std::string& name, const std::string& list) {
    if (headers_.count(name)) throw fail(fmt::format("manifest.json: {} lists {} twice", list, name));
    const auto it = entries_.find(name + ".npy");
    if (it == entries_.end()) throw fail(fmt::format("manifest.json lists {} but the file has no entry {}.npy", name, name));
    const auto header = read_npy_header(it->second, fmt::format("checkpoint {}: entry {}", path_, it->first));
    if (dtype_of(header) != dtype_)
      throw fail(fmt::format("entry {} holds {} values but the manifest says {}", it->first, dtype_of(header), dtype_));
    headers_[name] = header;
  }
  std::uint64_t values_of(const std::vector<std::string>& names) const {
    std::uint64_t total = 0;  // each entry's values are bounded by its bytes: no overflow
    for (const auto& n : names) total += headers_.at(n).shape[0] * headers_.at(n).shape[1];
    return total;
  }

  // Types and ranges of the model description, and its sizes against the file's arrays.
  void check_model(std::uint64_t parameter_values, std::uint64_t buffer_values) {
    const json& model = field(man_, "model", "");
    inputs_ = integer(model, "inputs", "model", 1, std::numeric_limits<std::uint32_t>::max());
    integer(model, "seed", "model", 0, std::numeric_limits<std::uint64_t>::max());
    const json& layers = field(model, "layers", "model");
    if (!layers.is_array() || layers.empty())
      throw fail(fmt::format("manifest.json: model.layers must be a non-empty list, got {}", layers.dump()));
    // Values the architecture needs, in 64 bits with overflow checks, for the inputs given.
    std::uint64_t width = inputs_, needed = 0, needed_buffers = 0;
    auto add = [&](std::uint64_t& total, std::uint64_t a, std::uint64_t b, const std::string& layer) {
      std::uint64_t product = 0;
      if (__builtin_mul_overflow(a, b, &product) || __builtin_add_overflow(total, product, &total))
        throw fail(fmt::format("manifest.json: {} makes the model larger than 2^64 values", layer));
    };
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const std::string at = fmt::format("model.layers[{}]", i);
      const std::string type = string(layers[i], "type", at);
      if (type == "dense") {
        const auto units = integer(layers[i], "units", at, 1, std::numeric_limits<std::uint32_t>::max());
        const auto declared = integer(layers[i], "inputs", at, 0, std::numeric_limits<std::uint32_t>::max());
        if (declared != 0 && declared != width)
          throw fail(fmt::format("manifest.json: {}.inputs is {} but the layer before gives {}", at, declared, width));
        string(layers[i], "activation", at);
        number(layers[i], "leaky_slope", at);
        const bool bias = boolean(layers[i], "bias", at);
        const json& init = field(layers[i], "init", at);
        string(init, "kind", at + ".init");
        string(init, "distribution", at + ".init");
        number(init, "scale", at + ".init");
        add(needed, units, width + (bias ? 1 : 0), at);
        width = units;
      } else if (type == "activation") {
        string(layers[i], "activation", at);
        number(layers[i], "leaky_slope", at);
      } else if (type == "dropout") {
        number(layers[i], "keep_prob", at);
      } else if (type == "batch_norm") {
        number(layers[i], "momentum", at);
        number(layers[i], "epsilon", at);
        add(needed, width, 2, at);
        add(needed_buffers, width, 2, at);
      } else {
        throw fail(fmt::format("manifest.json: {}.type '{}' is not a layer type", at, type));
      }
    }
    if (needed != parameter_values || needed_buffers != buffer_values)
      throw fail(fmt::format("its model description ({} inputs, {} layers) needs {} parameter and {} buffer values but "
                             "its entries hold {} and {}",
                             inputs_, layers.size(), needed, needed_buffers, parameter_values, buffer_values));
    // The ranges of the layers' own settings (activation names, keep_prob, ε...), checked by
    // their constructors: an unbuilt model (inputs 0) allocates nothing.
    try {
      json unbuilt = model;
      unbuilt["inputs"] = 0;
      Sequential<double>::from_spec(unbuilt);
    } catch (const ad::Error& e) {
      throw fail(fmt::format("its model description cannot be rebuilt: {}", e.what()));
    }
  }

  void check_optimizer() {
    const json& cfg = field(man_, "optimizer", "");
    if (cfg.is_null()) return;
    string(cfg, "name", "optimizer");
    number(cfg, "learning_rate", "optimizer");
    integer(cfg, "t", "optimizer", 0, max_count);
    integer(cfg, "epoch", "optimizer", 0, max_count);
    const json& schedule = field(cfg, "schedule", "optimizer");
    string(schedule, "kind", "optimizer.schedule");
    number(schedule, "rate", "optimizer.schedule");
    integer(schedule, "interval", "optimizer.schedule", 1, max_count);
    for (const char* key : {"beta", "beta1", "beta2", "epsilon"})
      if (cfg.contains(key)) number(cfg, key, "optimizer");
    try {
      make_optimizer<double>(cfg)->configure(cfg);  // names and ranges, as the optimizers check them
    } catch (const ad::Error& e) {
      throw fail(fmt::format("its optimizer configuration is refused: {}", e.what()));
    }
  }

  const json& man_;
  const std::map<std::string, std::string>& entries_;
  const std::string& path_;
  std::string dtype_;
  std::size_t inputs_ = 0;
  std::map<std::string, NpyHeader> headers_;
};

}  // namespace

std::map<std::string, NpyHeader> check_manifest(const nlohmann::json& manifest,
                                                const std::map<std::string, std::string>& entries,
                                                const std::string& path) {
  return ManifestChecker(manifest, entries, path).check();
}

}  // namespace nn::detail
