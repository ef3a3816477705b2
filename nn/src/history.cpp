#include "nn/history.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

std::string History::csv() const {
  std::string s = fmt::format("epoch,learning_rate,cost,{},dev_cost,dev_accuracy,seconds,examples_per_second\n",
                              train_accuracy_full_pass ? "train_accuracy" : "train_batch_accuracy");
  for (const auto& e : epochs)
    s += fmt::format("{},{:.9g},{:.9g},{:.9g},{:.9g},{:.9g},{:.6g},{:.6g}\n", e.epoch, e.learning_rate, e.cost,
                     e.train_accuracy, e.dev_cost, e.dev_accuracy, e.seconds, e.examples_per_second);
  return s;
}

void History::write_csv(const std::string& path) const {
  std::ofstream out(path);
  if (!out) throw DataError(fmt::format("History::write_csv: cannot open {}: {}", path, std::strerror(errno)));
  out << csv();
  if (!out.flush()) throw DataError(fmt::format("History::write_csv: writing {} failed", path));
}

}  // namespace nn
