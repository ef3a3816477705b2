// nn::read_idx on arbitrary bytes (plain or gzip: zlib tells them apart by the stream's magic).
// Its documented failure is nn::DataError; any other exception, crash, leak or sanitizer report
// is a finding.
#include <nn/errors.hpp>
#include <nn/idx.hpp>

#include "input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile file(".idx");
  const std::string& path = file.write(data, size);
  for (std::size_t max_items : {std::size_t(0), std::size_t(2)}) {
    try {
      const nn::IdxArray a = nn::read_idx(path, max_items);
      std::size_t elements = 1;
      for (std::size_t d : a.dims) elements *= d;
      // An accepted array holds exactly what its dimensions (dimension 0 cut to max_items) say.
      if (elements != a.data.size()) std::abort();
    } catch (const nn::DataError&) {
    }
  }
  return 0;
}
