// A minimal zip archive of stored (uncompressed) entries: exactly what NumPy's .npz is, so a
// checkpoint opens with numpy.load() and unzip. Every entry carries zip's CRC-32, which the reader
// verifies before anything is parsed.
#pragma once

#include <string>
#include <vector>

namespace nn::detail {

struct ZipEntry {
  std::string name;
  std::string data;
};

std::string write_zip(const std::vector<ZipEntry>& entries);
// Throws CheckpointError (naming `path`) on a truncated or corrupt archive, or a CRC mismatch.
std::vector<ZipEntry> read_zip(const std::string& bytes, const std::string& path);

}  // namespace nn::detail
