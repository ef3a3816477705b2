#include "csv_writer.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <fmt/std.h>

#include "plot/plot.hpp"

namespace plot::detail {

namespace {
std::string why() { return std::strerror(errno); }
}  // namespace

CsvWriter::CsvWriter(std::filesystem::path path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "w");
  if (!file_) throw Error(fmt::format("plot: cannot write the data file {}: {}", path_, why()));
}

CsvWriter::~CsvWriter() {
  if (file_) std::fclose(file_);
}

void CsvWriter::put(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size())
    throw Error(fmt::format("plot: writing the data file {} failed: {}", path_, why()));
}

void CsvWriter::header(const std::vector<std::string>& names) {
  std::string line;
  for (std::size_t i = 0; i < names.size(); ++i) line += (i ? "," : "") + csv_field(names[i]);
  put(line + "\n");
}

void CsvWriter::row(const std::vector<double>& values) {
  std::string line;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) line += ',';
    if (std::isfinite(values[i])) line += fmt::format("{}", values[i]);
  }
  put(line + "\n");
}

void CsvWriter::blank_line() { put("\n"); }

void CsvWriter::close() {
  const bool failed = std::ferror(file_) != 0;
  const bool close_failed = std::fclose(file_) != 0;
  file_ = nullptr;
  if (failed || close_failed) throw Error(fmt::format("plot: writing the data file {} failed: {}", path_, why()));
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void write_grid(const std::filesystem::path& path, const std::vector<std::string>& names, const std::vector<double>& x,
                const std::vector<double>& y, const std::vector<double>& z) {
  if (z.size() != x.size() * y.size())
    throw Error(fmt::format("plot: the grid for {} has {} values for {} x {} points", path, z.size(), x.size(),
                            y.size()));
  CsvWriter csv(path);
  csv.header(names);
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t j = 0; j < y.size(); ++j) csv.row({x[i], y[j], z[i * y.size() + j]});
    csv.blank_line();
  }
  csv.close();
}

}  // namespace plot::detail
