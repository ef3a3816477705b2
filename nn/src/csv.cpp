#include "nn/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

namespace {

std::vector<std::string_view> fields(std::string_view line, char delimiter) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto end = line.find(delimiter, start);
    out.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// std::from_chars also accepts "nan", "inf" and "infinity": those parse here, and are refused
// afterwards with a message of their own (see first_non_finite).
bool parse(std::string_view s, double& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// The first NaN or infinite value of a row (row.size() if none): one would poison every cost and
// normalization computed from the data set.
std::size_t first_non_finite(const std::vector<double>& row) {
  return std::size_t(std::find_if(row.begin(), row.end(), [](double v) { return !std::isfinite(v); }) - row.begin());
}

}  // namespace

template <class T>
Dataset<T> read_csv(const std::string& path, const CsvOptions& o) {
  std::ifstream in(path);
  if (!in) throw DataError(fmt::format("read_csv: cannot open {}: {}", path, std::strerror(errno)));
  std::vector<double> values;
  std::vector<double> targets;
  std::size_t width = 0, m = 0, line_no = 0;
  std::string line;
  std::vector<double> row;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    const auto f = fields(line, o.delimiter);
    row.assign(f.size(), 0);
    bool numeric = true;
    std::size_t bad = 0;
    for (std::size_t k = 0; k < f.size() && numeric; ++k)
      if (!parse(f[k], row[k])) {
        numeric = false;
        bad = k;
      }
    if (!numeric) {
      if (width == 0 && m == 0 && line_no == 1) {  // a header
        width = f.size();
        continue;
      }
      throw DataError(fmt::format("read_csv: {}:{}: field {} '{}' is not a number", path, line_no, bad + 1,
                                  std::string(trim(f[bad]))));
    }
    if (const auto k = first_non_finite(row); k < row.size())
      throw DataError(fmt::format("read_csv: {}:{}: field {} '{}' is not a finite number", path, line_no, k + 1,
                                  std::string(trim(f[k]))));
    if (width == 0) width = f.size();
    if (f.size() != width)
      throw DataError(fmt::format("read_csv: {}:{}: {} fields, but earlier lines have {}", path, line_no, f.size(), width));
    if (width < 2) throw DataError(fmt::format("read_csv: {}: needs at least one feature and a target column", path));
    const int tc = o.target_column < 0 ? int(width) + o.target_column : o.target_column;
    if (tc < 0 || std::size_t(tc) >= width)
      throw DataError(fmt::format("read_csv: {}: target column {} does not exist ({} columns)", path, o.target_column,
                                  width));
    for (std::size_t k = 0; k < width; ++k)
      if (int(k) != tc) values.push_back(row[k]);
    const double t = row[std::size_t(tc)];
    if (o.classes >= 2 && (t != double(std::int64_t(t)) || t < 0 || t >= double(o.classes)))
      throw DataError(fmt::format("read_csv: {}:{}: target {} is not a class label 0..{}", path, line_no, t,
                                  o.classes - 1));
    targets.push_back(t);
    ++m;
  }
  if (m == 0) throw DataError(fmt::format("read_csv: {}: no data rows", path));
  Dataset<T> d;
  const std::size_t n = width - 1;
  d.x = ad::Tensor<T>::from_shape({m, n});
  for (std::size_t i = 0; i < m * n; ++i) d.x.data()[i] = T(values[i]);
  if (o.classes >= 2) {
    d.y = xt::zeros<T>({m, o.classes});
    for (std::size_t i = 0; i < m; ++i) d.y(i, std::size_t(targets[i])) = T(1);
  } else {
    d.y = ad::Tensor<T>::from_shape({m, std::size_t(1)});
    for (std::size_t i = 0; i < m; ++i) d.y(i, 0) = T(targets[i]);
  }
  return d;
}

template Dataset<float> read_csv(const std::string&, const CsvOptions&);
template Dataset<double> read_csv(const std::string&, const CsvOptions&);

}  // namespace nn
