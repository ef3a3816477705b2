// A CSV reader for small tabular data sets: numbers only, one example per line.
#pragma once

#include <string>

#include "nn/dataset.hpp"

namespace nn {

struct CsvOptions {
  char delimiter = ',';
  // The column holding the target; negative counts from the end (−1: the last).
  int target_column = -1;
  // 0: the target is a number, y is (m, 1) (regression, or 0/1 for binary classification).
  // k ≥ 2: the target is a class label 0..k−1, y is one-hot (m, k).
  std::size_t classes = 0;
  // A first line that is not all numbers is taken as a header and skipped.
};

// Throws DataError naming the file, line and field of the first problem.
template <class T>
Dataset<T> read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace nn
