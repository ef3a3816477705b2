// nn::read_csv on arbitrary bytes, with the options a user is likeliest to pass (regression with
// the target last, class labels in the first column, another delimiter), in float and double.
// Its documented failure is nn::DataError; anything else is a finding.
#include <nn/csv.hpp>
#include <nn/errors.hpp>

#include "input_file.hpp"

namespace {

template <class T>
void read(const std::string& path, const nn::CsvOptions& options) {
  try {
    const nn::Dataset<T> d = nn::read_csv<T>(path, options);
    // A data set that was accepted must be consistent: one target row per example.
    if (d.x.shape()[0] != d.y.shape()[0]) std::abort();
  } catch (const nn::DataError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile file(".csv");
  const std::string& path = file.write(data, size);
  read<double>(path, {});
  read<float>(path, {.target_column = 0, .classes = 3});
  read<double>(path, {.delimiter = ';', .target_column = -2});
  return 0;
}
