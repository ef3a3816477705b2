// A CSV reader for small tabular data sets: numbers only, one example per record. Records and
// quoting follow RFC 4180 (parsed by libcsv: quoted fields may hold the delimiter, "" and line
// breaks); a UTF-8 byte order mark is skipped; a gzip-compressed file is read as its content.
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
  // A first record with a field of text (not a number, not empty) is taken as a header and
  // skipped; a first record of numbers with an empty field is an error, not a header.
};

// Throws DataError naming the file, line and field of the first problem: a field that is empty,
// not a number, NaN/Inf, beyond the range of T (1e39 for float), a class label that is not an
// integer in 0..classes−1, a record of another width, malformed or unclosed quoting, a directory,
// a corrupt or truncated gzip stream, no data rows.
template <class T>
Dataset<T> read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace nn
