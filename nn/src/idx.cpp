#include "nn/idx.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include "nn/errors.hpp"
#include "input_file.hpp"

namespace nn {

namespace {

using detail::InputFile;

// Reads exactly n bytes or throws "truncated", naming what was being read.
void read_exact(InputFile& f, void* out, std::size_t n, const char* what) {
  const std::size_t got = f.read(out, n);
  if (got < n)
    throw DataError(fmt::format("read_idx: {}: truncated: the {} needs {} bytes, the file ends after {}", f.path(),
                                what, n, got));
}

// The element count a header declares, refused when it overflows or is beyond any data set this
// reader is for (a corrupt header would otherwise ask for terabytes, or wrap around to nothing).
constexpr std::size_t max_elements = std::size_t(1) << 34;

std::size_t element_count(const std::vector<std::size_t>& dims, const std::string& path) {
  std::size_t total = 1;
  for (auto n : dims)
    if (__builtin_mul_overflow(total, n, &total))
      throw DataError(fmt::format("read_idx: {}: the header's sizes ({}) multiply past 2^64 elements (corrupt header?)",
                                  path, fmt::join(dims, ", ")));
  if (total > max_elements)
    throw DataError(fmt::format("read_idx: {}: the header's sizes ({}) make {} elements, more than the 2^34 this "
                                "reader accepts (corrupt header?)",
                                path, fmt::join(dims, ", "), total));
  return total;
}

// A header that claims more data than the file can hold is refused before anything is allocated:
// a plain file holds exactly what follows its header, a gzip file at most 1032 times its size.
void check_claim(const InputFile& f, std::size_t total, std::size_t header_bytes) {
  const std::uint64_t room = f.max_data_size() - std::min<std::uint64_t>(f.max_data_size(), header_bytes);
  if (total <= room) return;
  if (!f.compressed())
    throw DataError(fmt::format("read_idx: {}: truncated: the header declares {} bytes of data, the file holds {}",
                                f.path(), total, room));
  throw DataError(fmt::format("read_idx: {}: the header declares {} bytes of data, more than the {} a gzip file of {} "
                              "bytes can hold (truncated file or corrupt header)",
                              f.path(), total, room, f.file_size()));
}

// Reads `total` bytes of data, growing the buffer only as data arrives (a gzip file's bound is
// loose): a header that claims more than the file holds costs a "truncated" error, not the claim.
// The first chunk is 1 MiB: a 20 kB gzip file may claim 20 MB, and zero-filling 16 MiB for it made
// the IDX fuzzer crawl (~15 inputs/s); Fashion-MNIST's 47 MB then grows in 7 doublings.
std::vector<std::uint8_t> read_data(InputFile& f, std::size_t total) {
  constexpr std::size_t first_chunk = std::size_t(1) << 20;
  std::vector<std::uint8_t> data;
  while (data.size() < total) {
    const std::size_t done = data.size();
    data.resize(std::min(total, std::max(first_chunk, 2 * done)));
    const std::size_t got = f.read(data.data() + done, data.size() - done);
    if (got < data.size() - done)
      throw DataError(fmt::format("read_idx: {}: truncated: the header declares {} bytes of data, the file holds {}",
                                  f.path(), total, done + got));
  }
  return data;
}

// The file must end with the data: more bytes mean the header does not describe the file, and a
// gzip stream must reach its trailer, whose CRC-32 and length verify everything read.
void expect_end(InputFile& f, std::size_t total) {
  constexpr std::size_t enough = std::size_t(1) << 20;  // to say how many follow, up to a point
  unsigned char extra[4096];
  std::size_t more = 0, got;
  while (more < enough && (got = f.read(extra, sizeof extra)) > 0) more += got;
  if (more)
    throw DataError(fmt::format("read_idx: {}: {}{} bytes follow the {} bytes of data the header declares", f.path(),
                                more >= enough ? "more than " : "", more, total));
  if (f.truncated())
    throw DataError(fmt::format("read_idx: {}: truncated: the gzip stream ends before its trailer (the CRC-32 and "
                                "length that verify the data)",
                                f.path()));
}

}  // namespace

IdxArray read_idx(const std::string& path, std::size_t max_items) {
  InputFile f(path, "read_idx");
  unsigned char magic[4];
  read_exact(f, magic, 4, "header");
  if (magic[0] != 0 || magic[1] != 0)
    throw DataError(fmt::format("read_idx: {} is not an IDX file (magic {:02x}{:02x}{:02x}{:02x})", path, magic[0],
                                magic[1], magic[2], magic[3]));
  if (magic[2] != 0x08)
    throw DataError(fmt::format("read_idx: {}: element type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
                                path, magic[2]));
  if (magic[3] == 0 || magic[3] > 4)
    throw DataError(fmt::format("read_idx: {}: {} dimensions is not a plausible IDX array", path, magic[3]));
  IdxArray a;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char be[4];
    read_exact(f, be, 4, "header");
    const std::size_t n = (std::size_t(be[0]) << 24) | (std::size_t(be[1]) << 16) | (std::size_t(be[2]) << 8) | be[3];
    a.dims.push_back(n);
  }
  const std::size_t header_bytes = 4 + 4 * std::size_t(magic[3]);
  const std::size_t whole = element_count(a.dims, path);  // the whole file's claim, checked even for a head
  const bool head_only = max_items != 0 && max_items < a.dims[0];
  if (head_only) a.dims[0] = max_items;
  const std::size_t total = element_count(a.dims, path);
  check_claim(f, head_only ? total : whole, header_bytes);
  a.data = read_data(f, total);
  if (!head_only) expect_end(f, total);
  return a;
}

template <class T>
Dataset<T> load_idx(const std::string& images_path, const std::string& labels_path, std::size_t classes,
                    std::size_t max_items, double scale) {
  const IdxArray images = read_idx(images_path, max_items);
  const IdxArray labels = read_idx(labels_path, max_items);
  if (labels.dims.size() != 1)
    throw DataError(fmt::format("load_idx: {} has {} dimensions, labels need 1", labels_path, labels.dims.size()));
  if (images.dims[0] != labels.dims[0])
    throw DataError(fmt::format("load_idx: {} has {} images but {} has {} labels", images_path, images.dims[0],
                                labels_path, labels.dims[0]));
  const std::size_t m = images.dims[0], n = images.data.size() / std::max<std::size_t>(m, 1);
  Dataset<T> d;
  d.x = ad::Tensor<T>::from_shape({m, n});
  const T s = T(scale);
  for (std::size_t i = 0; i < m * n; ++i) d.x.data()[i] = T(images.data[i]) * s;
  d.y = xt::zeros<T>({m, classes});
  for (std::size_t i = 0; i < m; ++i) {
    if (labels.data[i] >= classes)
      throw DataError(fmt::format("load_idx: {}: label {} of item {} is not below {} classes", labels_path,
                                  int(labels.data[i]), i, classes));
    d.y(i, labels.data[i]) = T(1);
  }
  return d;
}

template <class T>
Dataset<T> load_fashion_mnist(const std::string& part, const std::string& dir, std::size_t max_items) {
  std::string prefix;
  if (part == "train") prefix = "train";
  else if (part == "test" || part == "t10k") prefix = "t10k";
  else throw DataError(fmt::format("load_fashion_mnist: part must be 'train' or 'test', got '{}'", part));
  return load_idx<T>(fmt::format("{}/{}-images-idx3-ubyte.gz", dir, prefix),
                     fmt::format("{}/{}-labels-idx1-ubyte.gz", dir, prefix), 10, max_items);
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

template Dataset<float> load_idx(const std::string&, const std::string&, std::size_t, std::size_t, double);
template Dataset<double> load_idx(const std::string&, const std::string&, std::size_t, std::size_t, double);
template Dataset<float> load_fashion_mnist(const std::string&, const std::string&, std::size_t);
template Dataset<double> load_fashion_mnist(const std::string&, const std::string&, std::size_t);

}  // namespace nn
