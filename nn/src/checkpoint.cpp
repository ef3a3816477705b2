#include "nn/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "nn/errors.hpp"
#include "atomic_file.hpp"
#include "checkpoint_manifest.hpp"
#include "checkpoint_npy.hpp"
#include "zip.hpp"

namespace nn {

namespace {

template <class T>
std::string dtype_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

std::string npy_name(const std::string& name) { return name + ".npy"; }

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw CheckpointError(fmt::format("load_checkpoint: cannot open {}: it is a directory", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(fmt::format("load_checkpoint: cannot open {}: {}", path, std::strerror(errno)));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw CheckpointError(fmt::format("load_checkpoint: cannot read {}: {}", path, std::strerror(errno)));
  return s.str();
}

// The archive, integrity-checked, with its manifest parsed and checked field by field and the
// header of every tensor it lists validated (nothing is built or decoded yet).
struct Archive {
  nlohmann::json manifest;
  std::map<std::string, std::string> entries;      // "W[1].npy" → bytes
  std::map<std::string, detail::NpyHeader> headers;  // "W[1]" → its validated header
};

Archive open_archive(const std::string& path) {
  Archive a;
  for (auto& e : detail::read_zip(read_file(path), path)) a.entries[e.name] = std::move(e.data);
  auto it = a.entries.find("manifest.json");
  if (it == a.entries.end())
    throw CheckpointError(fmt::format("checkpoint {}: no manifest.json: not a checkpoint of this library", path));
  try {
    a.manifest = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(fmt::format("checkpoint {}: manifest.json is not valid JSON: {}", path, e.what()));
  }
  a.headers = detail::check_manifest(a.manifest, a.entries, path);
  return a;
}

// One listed tensor (its header validated by open_archive) as a matrix of the expected shape
// (any shape when expected is null).
template <class T>
ad::Tensor<T> decode(const Archive& a, const std::string& name, const ad::Shape* expected, const std::string& path) {
  const auto header = a.headers.find(name);
  if (header == a.headers.end())
    throw CheckpointError(fmt::format("checkpoint {}: manifest.json does not list {}; the model was not changed", path, name));
  const ad::Shape got = header->second.shape;
  if (expected && got != *expected)
    throw CheckpointError(fmt::format("checkpoint {}: {} is {} in the file but {} in the model", path, name,
                                      ad::to_string(got), ad::to_string(*expected)));
  return detail::decode_npy<T>(a.entries.at(npy_name(name)), header->second);
}

std::string names_of(const nlohmann::json& list) {
  std::string s;
  for (const auto& n : list) s += (s.empty() ? "" : ", ") + n.get<std::string>();
  return s;
}

// "optimizer/v/W[1]" → {"v", "W[1]"}; an empty parameter when the name has another form.
std::pair<std::string, std::string> optimizer_slot_of(const std::string& entry) {
  const std::string prefix = "optimizer/";
  const auto slash = entry.find('/', prefix.size());
  if (entry.rfind(prefix, 0) != 0 || slash == std::string::npos || slash == prefix.size()) return {};
  return {entry.substr(prefix.size(), slash - prefix.size()), entry.substr(slash + 1)};
}

// What a layer's spec says about its behaviour that its parameters' names and shapes (compared
// entry by entry) do not: the activation, dropout's keep_prob, batch norm's ε and momentum.
std::vector<std::string> behaviour_fields(const nlohmann::json& layer) {
  const std::string type = layer.at("type");
  if (type == "dense" || type == "activation") {
    if (layer.at("activation") == "leaky_relu") return {"activation", "leaky_slope"};
    return {"activation"};
  }
  if (type == "dropout") return {"keep_prob"};
  if (type == "batch_norm") return {"momentum", "epsilon"};
  return {};
}

std::string text_of(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// The first way the file's architecture differs from the model's (layers numbered as in
// Sequential::summary), or "" when they agree. Sizes are left to the parameters' shapes.
std::string architecture_difference(const nlohmann::json& file_spec, const nlohmann::json& model_spec) {
  const auto& file = file_spec.at("layers");
  const auto& model = model_spec.at("layers");
  for (std::size_t i = 0; i < std::min(file.size(), model.size()); ++i) {
    const std::string type = file[i].at("type"), model_type = model[i].at("type");
    if (type != model_type) return fmt::format("its layer {} is {} but the model's is {}", i, type, model_type);
    for (const auto& field : behaviour_fields(model[i]))
      if (file[i].at(field) != model[i].at(field))
        return fmt::format("its layer {} ({}) has {} {} but the model's has {}", i, type, field,
                           text_of(file[i].at(field)), text_of(model[i].at(field)));
  }
  if (file.size() != model.size())
    return fmt::format("it has {} layers but the model has {}", file.size(), model.size());
  return "";
}

// The first Dense layer whose width differs, or "": checked before an unbuilt model is built for
// the file's inputs, so that the trial build is no larger than the file's own arrays.
std::string width_difference(const nlohmann::json& file_spec, const nlohmann::json& model_spec) {
  const auto& file = file_spec.at("layers");
  const auto& model = model_spec.at("layers");
  for (std::size_t i = 0; i < std::min(file.size(), model.size()); ++i)
    if (file[i].at("type") == "dense" && file[i].at("units") != model[i].at("units"))
      return fmt::format("its layer {} (dense) has {} units but the model's has {}", i, file[i].at("units").dump(),
                         model[i].at("units").dump());
  return "";
}

// Runs a loader and gives any error it lets through the documented type, CheckpointError.
template <class F>
auto as_checkpoint_error(const std::string& path, F load) -> decltype(load()) {
  try {
    return load();
  } catch (const CheckpointError&) {
    throw;
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(fmt::format("checkpoint {}: manifest.json lacks a field or has a wrong type ({}); the model "
                                      "was not changed", path, e.what()));
  } catch (const ad::Error& e) {
    throw CheckpointError(fmt::format("checkpoint {}: {}; the model was not changed", path, e.what()));
  }
}

}  // namespace

template <class T>
void save_checkpoint(const std::string& path, const Sequential<T>& model, const Optimizer<T>* optimizer,
                     const Normalizer<T>* normalizer, const nlohmann::json& extra) {
  if (!model.built()) throw CheckpointError(fmt::format("save_checkpoint {}: the model is not built", path));
  std::vector<detail::ZipEntry> entries(1);
  nlohmann::json params = nlohmann::json::array(), buffers = nlohmann::json::array(),
                 opt_state = nlohmann::json::array();
  for (auto* p : model.parameters()) {
    params.push_back(p->name);
    entries.push_back({npy_name(p->name), detail::encode_npy(p->value)});
  }
  for (auto& b : model.buffers()) {
    buffers.push_back(b.name);
    entries.push_back({npy_name(b.name), detail::encode_npy(*b.value)});
  }
  if (optimizer)
    for (const auto& [key, value] : optimizer->state()) {
      opt_state.push_back("optimizer/" + key);
      entries.push_back({npy_name("optimizer/" + key), detail::encode_npy(value)});
    }
  if (normalizer) {
    if (!normalizer->fitted()) throw CheckpointError(fmt::format("save_checkpoint {}: the normalizer is not fitted", path));
    const ad::Shape column{model.input_size(), 1};
    if (ad::shape_of(normalizer->mean) != column || ad::shape_of(normalizer->stddev) != column)
      throw CheckpointError(fmt::format("save_checkpoint {}: the normalizer's statistics are {} and {} but the model "
                                        "takes {} inputs (expected {} each)", path,
                                        ad::to_string(ad::shape_of(normalizer->mean)),
                                        ad::to_string(ad::shape_of(normalizer->stddev)), model.input_size(),
                                        ad::to_string(column)));
    entries.push_back({npy_name("normalizer/mean"), detail::encode_npy(normalizer->mean)});
    entries.push_back({npy_name("normalizer/stddev"), detail::encode_npy(normalizer->stddev)});
  }
  nlohmann::json manifest{{"format", detail::checkpoint_format_name},
                          {"version", checkpoint_version},
                          {"dtype", dtype_name<T>()},
                          {"model", model.spec()},
                          {"parameters", params},
                          {"buffers", buffers},
                          {"optimizer", optimizer ? optimizer->config() : nlohmann::json()},
                          {"optimizer_state", opt_state},
                          {"normalizer", normalizer != nullptr},
                          {"extra", extra}};
  entries[0] = {"manifest.json", manifest.dump(2)};
  detail::replace_file_atomically(path, detail::write_zip(entries), "save_checkpoint");
}

namespace {

// A refusal of the checkpoint at `path`, which says that the model was not changed.
struct Fail {
  const std::string& path;
  CheckpointError operator()(const std::string& why) const {
    return CheckpointError(fmt::format("checkpoint {}: {}; the model was not changed", path, why));
  }
};

// A checkpoint's contents decoded and checked against the model, not yet applied: load_into
// decodes everything first and commits only when all of it fits, so a refused file changes nothing.
template <class T>
struct Decoded {
  std::vector<ad::Tensor<T>> parameters, buffers;
  std::map<std::string, ad::Tensor<T>> optimizer_state;
  std::size_t optimizer_t = 0, optimizer_epoch = 0;
  Normalizer<T> normalizer;
};

// The model the checkpoint's arrays are checked against: the model itself when built, otherwise a
// built copy of its architecture (the model is built only at commit).
template <class T>
Sequential<T> probe_for(const nlohmann::json& man, const Sequential<T>& model, std::size_t n_x, const Fail& fail) {
  Sequential<T> probe;
  if (model.built()) return probe;
  if (auto difference = architecture_difference(man.at("model"), model.spec()); !difference.empty()) throw fail(difference);
  if (auto difference = width_difference(man.at("model"), model.spec()); !difference.empty()) throw fail(difference);
  try {
    probe = Sequential<T>::from_spec(model.spec());
    probe.build(n_x);
  } catch (const ad::Error& e) {
    throw fail(fmt::format("the model cannot be built for its {} inputs: {}", n_x, e.what()));
  }
  return probe;
}

template <class T>
void decode_model(const Archive& a, const Sequential<T>& reference, const std::string& path, const Fail& fail,
                  Decoded<T>& d) {
  const auto& man = a.manifest;
  auto params = reference.parameters();
  auto buffers = reference.buffers();
  std::vector<std::string> model_names;
  for (auto* p : params) model_names.push_back(p->name);
  std::vector<std::string> file_names = man.at("parameters").get<std::vector<std::string>>();
  if (file_names != model_names)
    throw fail(fmt::format("its parameters are [{}] but the model's are [{}]", names_of(man.at("parameters")),
                           names_of(nlohmann::json(model_names))));
  std::vector<std::string> model_buffers;
  for (auto& b : buffers) model_buffers.push_back(b.name);
  if (man.at("buffers").get<std::vector<std::string>>() != model_buffers)
    throw fail(fmt::format("its buffers are [{}] but the model's are [{}]", names_of(man.at("buffers")),
                           names_of(nlohmann::json(model_buffers))));
  if (const auto difference = architecture_difference(man.at("model"), reference.spec()); !difference.empty())
    throw fail(difference);
  for (auto* p : params) {
    const auto s = ad::shape_of(p->value);
    d.parameters.push_back(decode<T>(a, p->name, &s, path));
  }
  for (auto& b : buffers) {
    const auto s = ad::shape_of(*b.value);
    d.buffers.push_back(decode<T>(a, b.name, &s, path));
  }
}

template <class T>
void decode_optimizer(const Archive& a, const Sequential<T>& reference, const Optimizer<T>& optimizer,
                      const std::string& path, const Fail& fail, Decoded<T>& d) {
  const auto& cfg = a.manifest.at("optimizer");
  if (cfg.is_null()) throw fail("it holds no optimizer state (saved without an optimizer)");
  if (cfg.at("name") != optimizer.name())
    throw fail(fmt::format("its optimizer is {} but the one given is {}", cfg.at("name").get<std::string>(),
                           optimizer.name()));
  // Checked here, not at the next step(): by then the model would have been overwritten.
  std::map<std::string, ad::Shape> shapes;
  for (auto* p : reference.parameters()) shapes[p->name] = ad::shape_of(p->value);
  const auto slots = optimizer.slots();
  std::map<std::string, std::size_t> slots_of_parameter;
  for (const auto& entry : a.manifest.at("optimizer_state")) {
    const std::string name = entry;
    const auto [slot, parameter] = optimizer_slot_of(name);
    if (parameter.empty())
      throw fail(fmt::format("its optimizer state entry '{}' is not named optimizer/<slot>/<parameter>", name));
    if (std::find(slots.begin(), slots.end(), slot) == slots.end())
      throw fail(fmt::format("its optimizer state {} is a slot '{}' that {} does not keep (it keeps [{}])", name, slot,
                             optimizer.name(), names_of(nlohmann::json(slots))));
    ++slots_of_parameter[parameter];
    const auto expected = shapes.find(parameter);
    if (expected == shapes.end())
      throw fail(fmt::format("its optimizer state {} is for parameter {}, which the model does not have", name,
                             parameter));
    auto value = decode<T>(a, name, nullptr, path);
    if (ad::shape_of(value) != expected->second)
      throw fail(fmt::format("its optimizer state {} is {} but parameter {} is {}", name,
                             ad::to_string(ad::shape_of(value)), parameter, ad::to_string(expected->second)));
    d.optimizer_state[slot + "/" + parameter] = std::move(value);
  }
  // A parameter the optimizer has stepped has all its slots; one with some of them would resume
  // with the others at zero (Adam's s at 0 after t steps: steps far too large).
  for (const auto& [parameter, count] : slots_of_parameter)
    if (count != slots.size())
      throw fail(fmt::format("its optimizer state for parameter {} has {} of the {} slots {} keeps ([{}])", parameter,
                             count, slots.size(), optimizer.name(), names_of(nlohmann::json(slots))));
  make_optimizer<T>(cfg)->configure(cfg);  // a well-formed configuration, or refused here
  d.optimizer_t = cfg.at("t");
  d.optimizer_epoch = cfg.at("epoch");
}

template <class T>
void decode_normalizer(const Archive& a, std::size_t n_x, const std::string& path, const Fail& fail, Decoded<T>& d) {
  if (!a.manifest.at("normalizer").get<bool>()) throw fail("it holds no normalization statistics");
  // One column of n_x values each: a (4, 7) mean would broadcast against (m, 4) data.
  const ad::Shape column{n_x, 1};
  auto& norm = d.normalizer;
  norm.mean = decode<T>(a, "normalizer/mean", &column, path);
  norm.stddev = decode<T>(a, "normalizer/stddev", &column, path);
  for (std::size_t i = 0; i < n_x; ++i)
    if (!std::isfinite(norm.mean(i, 0)) || !(norm.stddev(i, 0) > 0 && std::isfinite(norm.stddev(i, 0))))
      throw fail(fmt::format("its normalization statistics for input {} are mean {} and stddev {} (a finite mean "
                             "and a finite stddev > 0 are needed)", i, norm.mean(i, 0), norm.stddev(i, 0)));
}

// Applies what was decoded: nothing here can fail for a reason the decoding did not rule out.
template <class T>
void commit(Decoded<T>&& d, const nlohmann::json& man, std::size_t n_x, Sequential<T>& model, Optimizer<T>* optimizer,
            Normalizer<T>* normalizer) {
  if (!model.built()) model.build(n_x);
  auto params = model.parameters();
  auto buffers = model.buffers();
  for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = std::move(d.parameters[k]);
  for (std::size_t k = 0; k < buffers.size(); ++k) *buffers[k].value = std::move(d.buffers[k]);
  if (optimizer) {
    optimizer->configure(man.at("optimizer"));  // validated: same optimizer, well-formed
    optimizer->restore(std::move(d.optimizer_state), d.optimizer_t, d.optimizer_epoch);
  }
  if (normalizer) *normalizer = std::move(d.normalizer);
}

}  // namespace

template <class T>
nlohmann::json load_into(const std::string& path, Sequential<T>& model, Optimizer<T>* optimizer,
                         Normalizer<T>* normalizer) {
  const Archive a = open_archive(path);
  const auto& man = a.manifest;
  const Fail fail{path};
  if (man.value("dtype", "") != dtype_name<T>())
    throw fail(fmt::format("it stores {} values but the model is {}", man.value("dtype", "?"), dtype_name<T>()));
  const auto n_x = man.at("model").at("inputs").get<std::size_t>();
  const Sequential<T> probe = probe_for(man, model, n_x, fail);
  const Sequential<T>& reference = model.built() ? model : probe;
  if (reference.input_size() != n_x)
    throw fail(fmt::format("it is for {} inputs but the model takes {}", n_x, reference.input_size()));
  Decoded<T> decoded;
  decode_model(a, reference, path, fail, decoded);
  if (optimizer) decode_optimizer(a, reference, *optimizer, path, fail, decoded);
  if (normalizer) decode_normalizer(a, n_x, path, fail, decoded);
  commit(std::move(decoded), man, n_x, model, optimizer, normalizer);
  return man.value("extra", nlohmann::json());
}

template <class T>
nlohmann::json load_checkpoint(const std::string& path, Sequential<T>& model, Optimizer<T>* optimizer,
                               Normalizer<T>* normalizer) {
  return as_checkpoint_error(path, [&] { return load_into(path, model, optimizer, normalizer); });
}

nlohmann::json read_checkpoint_manifest(const std::string& path) {
  return as_checkpoint_error(path, [&] { return open_archive(path).manifest; });
}

template <class T>
Sequential<T> load_model(const std::string& path, Normalizer<T>* normalizer) {
  return as_checkpoint_error(path, [&] {
    // The manifest is checked (sizes against the file's arrays) before the model is built from it.
    auto model = Sequential<T>::from_spec(read_checkpoint_manifest(path).at("model"));
    load_into<T>(path, model, nullptr, normalizer);
    return model;
  });
}

#define NN_INSTANTIATE(T)                                                                                         \
  template void save_checkpoint(const std::string&, const Sequential<T>&, const Optimizer<T>*, const Normalizer<T>*, \
                                const nlohmann::json&);                                                         \
  template nlohmann::json load_checkpoint(const std::string&, Sequential<T>&, Optimizer<T>*, Normalizer<T>*);     \
  template Sequential<T> load_model(const std::string&, Normalizer<T>*);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)

}  // namespace nn
