#include "nn/metrics.hpp"

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

template <class T>
std::vector<std::int32_t> argmax(const ad::Tensor<T>& p) {
  const std::size_t C = p.shape()[0], m = p.shape()[1];
  std::vector<std::int32_t> out(m, 0);
  if (C == 1) {
    for (std::size_t j = 0; j < m; ++j) out[j] = p(0, j) >= T(0.5) ? 1 : 0;
    return out;
  }
  // Row by row (contiguous): keep the best value and class of every column.
  std::vector<T> best(p.data(), p.data() + m);
  for (std::size_t c = 1; c < C; ++c) {
    const T* row = p.data() + c * m;
    for (std::size_t j = 0; j < m; ++j)
      if (row[j] > best[j]) {
        best[j] = row[j];
        out[j] = std::int32_t(c);
      }
  }
  return out;
}

double accuracy(std::span<const std::int32_t> predicted, std::span<const std::int32_t> labels) {
  if (predicted.size() != labels.size() || labels.empty())
    throw DataError(fmt::format("accuracy: {} predictions for {} labels", predicted.size(), labels.size()));
  std::size_t right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i];
  return double(right) / double(labels.size());
}

ConfusionMatrix confusion_matrix(std::span<const std::int32_t> predicted, std::span<const std::int32_t> labels,
                                 std::size_t classes) {
  if (predicted.size() != labels.size())
    throw DataError(fmt::format("confusion_matrix: {} predictions for {} labels", predicted.size(), labels.size()));
  if (classes == 0 && !labels.empty()) throw DataError("confusion_matrix: 0 classes: labels need at least one class");
  ConfusionMatrix counts = xt::zeros<std::size_t>({classes, classes});
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || std::size_t(labels[i]) >= classes || predicted[i] < 0 || std::size_t(predicted[i]) >= classes)
      throw DataError(fmt::format("confusion_matrix: example {} has label {} / prediction {}, outside 0..{}", i,
                                  labels[i], predicted[i], classes - 1));
    ++counts(std::size_t(labels[i]), std::size_t(predicted[i]));
  }
  return counts;
}

std::string format_confusion_matrix(const ConfusionMatrix& counts, const std::vector<std::string>& names) {
  const std::size_t C = counts.shape()[0];
  const std::string corner = "true\\predicted";
  std::size_t width = corner.size();
  for (const auto& n : names) width = std::max(width, n.size());
  std::string s = fmt::format("{:>{}}  ", corner, width);
  for (std::size_t j = 0; j < C; ++j) s += fmt::format("{:>6}", j);
  s += "  recall\n";
  for (std::size_t i = 0; i < C; ++i) {
    const std::string label = i < names.size() ? names[i] : fmt::format("{}", i);
    s += fmt::format("{:>{}}  ", label, width);
    std::size_t total = 0;
    for (std::size_t j = 0; j < C; ++j) {
      s += fmt::format("{:>6}", counts(i, j));
      total += counts(i, j);
    }
    s += total ? fmt::format("  {:6.1f}%\n", 100.0 * double(counts(i, i)) / double(total)) : "       -\n";
  }
  return s;
}

template std::vector<std::int32_t> argmax(const ad::Tensor<float>&);
template std::vector<std::int32_t> argmax(const ad::Tensor<double>&);

}  // namespace nn
