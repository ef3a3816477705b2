#include "nn/checkpoint.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xtensor/xnpy.hpp>

#include "nn/errors.hpp"
#include "zip.hpp"

namespace nn {

namespace {

constexpr const char* format_name = "dlcourse-nn-checkpoint";

template <class T>
std::string dtype_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

std::string npy_name(const std::string& name) { return name + ".npy"; }

// Writes `bytes` to `path` atomically: temporary file in the same directory, fsync, rename.
void write_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  auto fail = [&](const char* what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return CheckpointError(fmt::format("save_checkpoint: {} {}: {}", what, path, std::strerror(err)));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw fail("cannot create a temporary file for");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      throw fail("cannot write");
    }
    done += std::size_t(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    throw fail("cannot flush");
  }
  if (::close(fd) != 0) throw fail("cannot close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail("cannot rename the temporary file onto");
  // Make the rename itself durable.
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(fmt::format("load_checkpoint: cannot open {}: {}", path, std::strerror(errno)));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The archive, integrity-checked, with its manifest parsed and validated.
struct Archive {
  nlohmann::json manifest;
  std::map<std::string, std::string> entries;
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
  if (a.manifest.value("format", "") != format_name)
    throw CheckpointError(fmt::format("checkpoint {}: format '{}' is not '{}'", path, a.manifest.value("format", ""),
                                      format_name));
  const int version = a.manifest.value("version", 0);
  if (version < 1 || version > checkpoint_version)
    throw CheckpointError(fmt::format("checkpoint {}: format version {} is not supported (this build reads 1..{})",
                                      path, version, checkpoint_version));
  return a;
}

// Decodes one .npy entry into a matrix of the expected shape (any shape when expected is null).
template <class T>
ad::Tensor<T> decode(const Archive& a, const std::string& name, const ad::Shape* expected, const std::string& path) {
  auto it = a.entries.find(npy_name(name));
  if (it == a.entries.end()) throw CheckpointError(fmt::format("checkpoint {}: no entry for {}", path, name));
  xt::xarray<T> arr;
  try {
    std::istringstream in(it->second);
    arr = xt::load_npy<T>(in);
  } catch (const std::exception& e) {
    throw CheckpointError(fmt::format("checkpoint {}: entry {} is not a {} .npy array: {}", path, name,
                                      dtype_name<T>(), e.what()));
  }
  if (arr.dimension() != 2)
    throw CheckpointError(fmt::format("checkpoint {}: {} has {} dimensions, expected a matrix", path, name, arr.dimension()));
  const ad::Shape got{arr.shape()[0], arr.shape()[1]};
  if (it->second.size() < got[0] * got[1] * sizeof(T))
    throw CheckpointError(fmt::format("checkpoint {}: entry {} is shorter than its shape says", path, name));
  if (expected && got != *expected)
    throw CheckpointError(fmt::format("checkpoint {}: {} is {} in the file but {} in the model", path, name,
                                      ad::to_string(got), ad::to_string(*expected)));
  ad::Tensor<T> t = ad::Tensor<T>::from_shape({got[0], got[1]});
  std::copy(arr.begin(), arr.end(), t.begin());
  return t;
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
    entries.push_back({npy_name(p->name), xt::dump_npy(p->value)});
  }
  for (auto& b : model.buffers()) {
    buffers.push_back(b.name);
    entries.push_back({npy_name(b.name), xt::dump_npy(*b.value)});
  }
  if (optimizer)
    for (const auto& [key, value] : optimizer->state()) {
      opt_state.push_back("optimizer/" + key);
      entries.push_back({npy_name("optimizer/" + key), xt::dump_npy(value)});
    }
  if (normalizer) {
    if (!normalizer->fitted()) throw CheckpointError(fmt::format("save_checkpoint {}: the normalizer is not fitted", path));
    entries.push_back({npy_name("normalizer/mean"), xt::dump_npy(normalizer->mean)});
    entries.push_back({npy_name("normalizer/stddev"), xt::dump_npy(normalizer->stddev)});
  }
  nlohmann::json manifest{{"format", format_name},
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
  write_atomically(path, detail::write_zip(entries));
}

nlohmann::json read_checkpoint_manifest(const std::string& path) { return open_archive(path).manifest; }

template <class T>
nlohmann::json load_into(const std::string& path, Sequential<T>& model, Optimizer<T>* optimizer,
                         Normalizer<T>* normalizer) {
  const Archive a = open_archive(path);
  const auto& man = a.manifest;
  auto fail = [&](const std::string& why) {
    return CheckpointError(fmt::format("checkpoint {}: {}; the model was not changed", path, why));
  };
  if (man.value("dtype", "") != dtype_name<T>())
    throw fail(fmt::format("it stores {} values but the model is {}", man.value("dtype", "?"), dtype_name<T>()));
  // An unbuilt model is checked against a built copy of its architecture and built at commit.
  const auto n_x = man.at("model").at("inputs").get<std::size_t>();
  Sequential<T> probe;
  if (!model.built()) {
    try {
      probe = Sequential<T>::from_spec(model.spec());
      probe.build(n_x);
    } catch (const ad::Error& e) {
      throw fail(fmt::format("the model cannot be built for its {} inputs: {}", n_x, e.what()));
    }
  }
  const Sequential<T>& reference = model.built() ? model : probe;
  if (reference.input_size() != n_x)
    throw fail(fmt::format("it is for {} inputs but the model takes {}", n_x, reference.input_size()));
  // Decode everything into temporaries; commit only when all of it fits.
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
  std::vector<ad::Tensor<T>> values, buffer_values;
  for (auto* p : params) {
    const auto s = ad::shape_of(p->value);
    values.push_back(decode<T>(a, p->name, &s, path));
  }
  for (auto& b : buffers) {
    const auto s = ad::shape_of(*b.value);
    buffer_values.push_back(decode<T>(a, b.name, &s, path));
  }
  std::map<std::string, ad::Tensor<T>> opt_state;
  std::size_t opt_t = 0, opt_epoch = 0;
  if (optimizer) {
    const auto& cfg = man.at("optimizer");
    if (cfg.is_null()) throw fail("it holds no optimizer state (saved without an optimizer)");
    if (cfg.at("name") != optimizer->name())
      throw fail(fmt::format("its optimizer is {} but the one given is {}", cfg.at("name").get<std::string>(),
                             optimizer->name()));
    // Checked here, not at the next step(): by then the model would have been overwritten.
    std::map<std::string, ad::Shape> shapes;
    for (auto* p : params) shapes[p->name] = ad::shape_of(p->value);
    const auto slots = optimizer->slots();
    std::map<std::string, std::size_t> slots_of_parameter;
    for (const auto& entry : man.at("optimizer_state")) {
      const std::string name = entry;
      const auto [slot, parameter] = optimizer_slot_of(name);
      if (parameter.empty())
        throw fail(fmt::format("its optimizer state entry '{}' is not named optimizer/<slot>/<parameter>", name));
      if (std::find(slots.begin(), slots.end(), slot) == slots.end())
        throw fail(fmt::format("its optimizer state {} is a slot '{}' that {} does not keep (it keeps [{}])", name,
                               slot, optimizer->name(), names_of(nlohmann::json(slots))));
      ++slots_of_parameter[parameter];
      const auto expected = shapes.find(parameter);
      if (expected == shapes.end())
        throw fail(fmt::format("its optimizer state {} is for parameter {}, which the model does not have", name,
                               parameter));
      auto value = decode<T>(a, name, nullptr, path);
      if (ad::shape_of(value) != expected->second)
        throw fail(fmt::format("its optimizer state {} is {} but parameter {} is {}", name,
                               ad::to_string(ad::shape_of(value)), parameter, ad::to_string(expected->second)));
      opt_state[slot + "/" + parameter] = std::move(value);
    }
    // A parameter the optimizer has stepped has all its slots; one with some of them would resume
    // with the others at zero (Adam's s at 0 after t steps: steps far too large).
    for (const auto& [parameter, count] : slots_of_parameter)
      if (count != slots.size())
        throw fail(fmt::format("its optimizer state for parameter {} has {} of the {} slots {} keeps ([{}])",
                               parameter, count, slots.size(), optimizer->name(), names_of(nlohmann::json(slots))));
    make_optimizer<T>(cfg)->configure(cfg);  // a well-formed configuration, or refused here
    opt_t = cfg.at("t");
    opt_epoch = cfg.at("epoch");
  }
  Normalizer<T> norm;
  if (normalizer) {
    if (!man.at("normalizer").get<bool>()) throw fail("it holds no normalization statistics");
    norm.mean = decode<T>(a, "normalizer/mean", nullptr, path);
    norm.stddev = decode<T>(a, "normalizer/stddev", nullptr, path);
    if (norm.mean.shape()[0] != n_x || ad::shape_of(norm.stddev) != ad::shape_of(norm.mean))
      throw fail(fmt::format("its normalization statistics are {} and {} for {} inputs",
                             ad::to_string(ad::shape_of(norm.mean)), ad::to_string(ad::shape_of(norm.stddev)), n_x));
  }
  // Commit: nothing below can fail for a reason the checks above did not rule out.
  if (!model.built()) {
    model.build(n_x);
    params = model.parameters();
    buffers = model.buffers();
  }
  for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = std::move(values[k]);
  for (std::size_t k = 0; k < buffers.size(); ++k) *buffers[k].value = std::move(buffer_values[k]);
  if (optimizer) {
    optimizer->configure(man.at("optimizer"));  // validated above: same optimizer, well-formed
    optimizer->restore(std::move(opt_state), opt_t, opt_epoch);
  }
  if (normalizer) *normalizer = std::move(norm);
  return man.value("extra", nlohmann::json());
}

template <class T>
nlohmann::json load_checkpoint(const std::string& path, Sequential<T>& model, Optimizer<T>* optimizer,
                               Normalizer<T>* normalizer) {
  try {
    return load_into(path, model, optimizer, normalizer);
  } catch (const nlohmann::json::exception& e) {
    throw CheckpointError(fmt::format("checkpoint {}: manifest.json lacks a field or has a wrong type ({}); the model "
                                      "was not changed",
                                      path, e.what()));
  }
}

template <class T>
Sequential<T> load_model(const std::string& path, Normalizer<T>* normalizer) {
  Sequential<T> model;
  {
    const auto man = read_checkpoint_manifest(path);
    try {
      model = Sequential<T>::from_spec(man.at("model"));
    } catch (const std::exception& e) {
      throw CheckpointError(fmt::format("checkpoint {}: its model description cannot be rebuilt: {}", path, e.what()));
    }
  }
  load_checkpoint<T>(path, model, nullptr, normalizer);
  return model;
}

#define NN_INSTANTIATE(T)                                                                                         \
  template void save_checkpoint(const std::string&, const Sequential<T>&, const Optimizer<T>*, const Normalizer<T>*, \
                                const nlohmann::json&);                                                         \
  template nlohmann::json load_checkpoint(const std::string&, Sequential<T>&, Optimizer<T>*, Normalizer<T>*);     \
  template Sequential<T> load_model(const std::string&, Normalizer<T>*);
NN_INSTANTIATE(float)
NN_INSTANTIATE(double)

}  // namespace nn
