// The IDX format of MNIST and Fashion-MNIST (gzip-compressed or not, read through zlib).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nn/dataset.hpp"

namespace nn {

// An unsigned-byte IDX array: its dimensions and its data, row-major.
struct IdxArray {
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> data;
};

// Reads an IDX file of unsigned bytes (type 0x08), gzip-compressed (told by its magic bytes, not
// its name) or plain. max_items > 0 reads only the first items along dimension 0 (the rest of the
// file, and so a gzip trailer, is then not read or verified). Throws DataError naming the file:
// missing or a directory, not IDX, another element type, a header that claims more data than the
// file can hold (refused before allocating) or less than it holds, truncated, a gzip stream that
// is corrupt, fails its CRC-32 or length check, ends before its trailer or is followed by garbage.
IdxArray read_idx(const std::string& path, std::size_t max_items = 0);

// Images and labels as a data set: x (m, rows·cols) with pixels scaled by `scale` (1/255 maps
// them to [0, 1]), y one-hot (m, classes).
template <class T>
Dataset<T> load_idx(const std::string& images_path, const std::string& labels_path, std::size_t classes = 10,
                    std::size_t max_items = 0, double scale = 1.0 / 255.0);

// Fashion-MNIST from a directory holding Debian's dataset-fashion-mnist files; part is "train"
// (60000 examples) or "test" (10000).
inline const char* fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
template <class T>
Dataset<T> load_fashion_mnist(const std::string& part, const std::string& dir = fashion_mnist_dir,
                              std::size_t max_items = 0);
const std::vector<std::string>& fashion_mnist_classes();

}  // namespace nn
