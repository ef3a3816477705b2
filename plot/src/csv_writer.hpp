// Writes the figures' CSV files: a header row, numbers in the shortest form that reads back
// exactly, non-finite numbers as empty cells (gnuplot and pandas read those as missing).
#pragma once
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace plot::detail {

class CsvWriter {
 public:
  // Opens (truncates) `path`; throws plot::Error naming it when it cannot.
  explicit CsvWriter(std::filesystem::path path);
  ~CsvWriter();
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  void header(const std::vector<std::string>& names);
  void row(const std::vector<double>& values);
  void blank_line();  // ends a scan line of a grid (gnuplot's blocks)
  // Flushes and closes; throws plot::Error naming the file when a write failed (a full disk).
  void close();

 private:
  void put(std::string_view text);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

// A CSV field: quoted (RFC 4180) when it holds a comma, quote or line break.
std::string csv_field(std::string_view text);

// Writes a grid as x, y, z rows, one block per x value.
void write_grid(const std::filesystem::path& path, const std::vector<std::string>& names, const std::vector<double>& x,
                const std::vector<double>& y, const std::vector<double>& z);

}  // namespace plot::detail
