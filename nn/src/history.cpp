#include "nn/history.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

std::string History::csv() const {
  std::string s = fmt::format("epoch,learning_rate,cost,{},dev_cost,dev_accuracy,seconds,examples_per_second",
                              train_accuracy_full_pass ? "train_accuracy" : "train_batch_accuracy");
  // Layer statistics (TrainOptions::layer_stats): A1_mean, A1_std, A1_norm, Z1_mean, ... per layer.
  const std::size_t layers = epochs.empty() ? 0 : epochs.front().layers.size();
  for (std::size_t l = 1; l <= layers; ++l)
    for (const char* what : {"A", "Z", "dW", "db"})
      for (const char* stat : {"mean", "std", "norm"}) s += fmt::format(",{}{}_{}", what, l, stat);
  s += '\n';
  for (const auto& e : epochs) {
    s += fmt::format("{},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.6g},{:.6g}", e.epoch, e.learning_rate, e.cost,
                     e.train_accuracy, e.dev_cost, e.dev_accuracy, e.seconds, e.examples_per_second);
    for (std::size_t l = 0; l < layers; ++l) {
      const LayerStats none;
      const auto& st = l < e.layers.size() ? e.layers[l] : none;
      for (const auto* t : {&st.A, &st.Z, &st.dW, &st.db}) s += fmt::format(",{:.9g},{:.9g},{:.9g}", t->mean, t->std, t->norm);
    }
    s += '\n';
  }
  return s;
}

void History::write_csv(const std::string& path) const {
  std::ofstream out(path);
  if (!out) throw DataError(fmt::format("History::write_csv: cannot open {}: {}", path, std::strerror(errno)));
  out << csv();
  if (!out.flush()) throw DataError(fmt::format("History::write_csv: writing {} failed", path));
}

}  // namespace nn
