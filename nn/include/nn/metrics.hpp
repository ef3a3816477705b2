// Predictions turned into classes ("hardmax"), accuracy and the confusion matrix.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include <autodiff/tensor.hpp>

namespace nn {

// The class of each column of `probabilities` (n_y, m): its argmax, or p ≥ 0.5 for one row.
template <class T>
std::vector<std::int32_t> argmax(const ad::Tensor<T>& probabilities);

// The fraction of equal labels. Throws DataError when the sizes differ or are zero.
double accuracy(std::span<const std::int32_t> predicted, std::span<const std::int32_t> labels);

// counts(i, j): examples of true class i predicted as j.
using ConfusionMatrix = xt::xtensor<std::size_t, 2>;
ConfusionMatrix confusion_matrix(std::span<const std::int32_t> predicted, std::span<const std::int32_t> labels,
                                 std::size_t classes);
// A text table with per-class recall; `names` (optional) label the rows.
std::string format_confusion_matrix(const ConfusionMatrix& counts, const std::vector<std::string>& names = {});

}  // namespace nn
