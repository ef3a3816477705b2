// A zip archive of stored (uncompressed) entries, in memory: exactly what NumPy's .npz is, so a
// checkpoint opens with numpy.load() and unzip. libzip does the work (see zip.cpp for why); every
// entry's CRC-32 is verified before anything is parsed.
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
