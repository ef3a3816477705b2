// Shared by the checkpoint tests: a small trained model, a snapshot of everything a load may
// change (to show a refused load changed nothing), file I/O, and rewriting one entry of a saved
// checkpoint (through the library's own zip code, so the archive itself stays valid and only the
// rewritten entry is wrong).
#pragma once

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "error_text.hpp"
#include "helpers.hpp"
#include "checkpoint_npy.hpp"  // nn/src: the .npy encoding
#include "zip.hpp"             // nn/src: the archive layer

namespace checkpoint_helpers {

inline nn::Sequential<float> make_model(std::uint64_t seed, std::size_t hidden = 6) {
  nn::Sequential<float> m;
  m.dense(hidden).batch_norm().activation(nn::Activation::relu).dense(3);
  m.build(4, seed);
  return m;
}

inline bool same_bits(const ad::Tensor<float>& a, const ad::Tensor<float>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Everything a load may change, to show a refused load changed nothing.
struct Snapshot {
  std::vector<ad::Tensor<float>> tensors;
  std::size_t steps;
  Snapshot(const nn::Sequential<float>& m, const nn::Optimizer<float>& o, const nn::Normalizer<float>& n) {
    for (auto* p : m.parameters()) tensors.push_back(p->value);
    for (auto& b : m.buffers()) tensors.push_back(*b.value);
    for (auto& [k, v] : o.state()) tensors.push_back(v);
    tensors.push_back(n.mean);
    tensors.push_back(n.stddev);
    steps = o.steps();
  }
  bool operator==(const Snapshot& s) const {
    if (tensors.size() != s.tensors.size() || steps != s.steps) return false;
    for (std::size_t k = 0; k < tensors.size(); ++k)
      if (!same_bits(tensors[k], s.tensors[k])) return false;
    return true;
  }
};

// The parameters and buffers of two models agree bit for bit.
inline bool same_model(const nn::Sequential<float>& a, const nn::Sequential<float>& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  const auto ba = a.buffers(), bb = b.buffers();
  if (pa.size() != pb.size() || ba.size() != bb.size()) return false;
  for (std::size_t k = 0; k < pa.size(); ++k)
    if (pa[k]->name != pb[k]->name || !same_bits(pa[k]->value, pb[k]->value)) return false;
  for (std::size_t k = 0; k < ba.size(); ++k)
    if (!same_bits(*ba[k].value, *bb[k].value)) return false;
  return true;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
inline void spit(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

struct Trained {
  nn::Dataset<float> data = helpers::blobs<float>(30, 3, 4);
  nn::Sequential<float> model = make_model(1);
  nn::Adam<float> adam{0.01, 0.9, 0.999, 1e-8, nn::Schedule::inverse_time(0.5)};
  nn::Normalizer<float> norm;
  Trained() {
    norm.fit(data);
    norm.apply(data);
    nn::TrainOptions o;
    o.epochs = 3;
    o.batch_size = 16;
    o.progress = nn::Progress::none;
    nn::Trainer<float> t(model, nn::Loss::softmax_cross_entropy, adam, o);
    t.fit(data);
  }
};

template <class F>
std::string refusal(F f) {
  return test_support::message_of<nn::CheckpointError>(f);
}

using test_support::contains;

// One update over every parameter of `model` with zero gradients: the optimizer then holds a
// slot ("v/W[1]", ...) of each parameter's shape.
inline void step_once(nn::Optimizer<float>& optimizer, const nn::Sequential<float>& model) {
  for (auto* p : model.parameters()) p->grad = xt::zeros<float>(p->value.shape());
  optimizer.step(model.parameters());
}

// The checkpoint `zip` with entry `name` replaced by `data` (added when missing).
inline std::string with_entry(const std::string& zip, const std::string& name, const std::string& data) {
  auto entries = nn::detail::read_zip(zip, "(test)");
  bool found = false;
  for (auto& e : entries)
    if (e.name == name) {
      e.data = data;
      found = true;
    }
  if (!found) entries.push_back({name, data});
  return nn::detail::write_zip(entries);
}

inline std::string entry_of(const std::string& zip, const std::string& name) {
  for (auto& e : nn::detail::read_zip(zip, "(test)"))
    if (e.name == name) return e.data;
  throw std::runtime_error("no entry " + name);
}

// The checkpoint `zip` with its manifest edited by `edit`.
template <class F>
std::string with_manifest(const std::string& zip, F edit) {
  auto manifest = nlohmann::json::parse(entry_of(zip, "manifest.json"));
  edit(manifest);
  return with_entry(zip, "manifest.json", manifest.dump(2));
}

// A .npy file of format `version` with header text `dict` and `data` after it.
inline std::string npy(const std::string& dict, const std::string& data, int version = 1) {
  std::string out = "\x93NUMPY";
  out += char(version);
  out += '\0';
  const std::string header = dict + "\n";
  for (int k = 0; k < (version == 1 ? 2 : 4); ++k) out += char((header.size() >> (8 * k)) & 0xff);
  return out + header + data;
}

}  // namespace checkpoint_helpers
