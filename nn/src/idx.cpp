#include "nn/idx.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <zlib.h>

#include "nn/errors.hpp"

namespace nn {

namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};

// Reads exactly n bytes or throws, telling a truncated file from a corrupt stream.
void read_exact(gzFile f, void* out, std::size_t n, const std::string& path, const char* what) {
  auto* p = static_cast<unsigned char*>(out);
  std::size_t done = 0;
  while (done < n) {
    const unsigned chunk = unsigned(std::min<std::size_t>(n - done, 1u << 30));
    const int got = gzread(f, p + done, chunk);
    if (got < 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      throw DataError(fmt::format("read_idx: {}: corrupt data while reading the {}: {}", path, what, msg));
    }
    if (got == 0)
      throw DataError(fmt::format("read_idx: {}: truncated: the {} needs {} bytes, the file ends after {}", path, what,
                                  n, done));
    done += std::size_t(got);
  }
}

}  // namespace

IdxArray read_idx(const std::string& path, std::size_t max_items) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throw DataError(fmt::format("read_idx: cannot open {}: {}", path, std::strerror(errno)));
  unsigned char magic[4];
  read_exact(f.get(), magic, 4, path, "header");
  if (magic[0] != 0 || magic[1] != 0)
    throw DataError(fmt::format("read_idx: {} is not an IDX file (magic {:02x}{:02x}{:02x}{:02x})", path, magic[0],
                                magic[1], magic[2], magic[3]));
  if (magic[2] != 0x08)
    throw DataError(fmt::format("read_idx: {}: element type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
                                path, magic[2]));
  if (magic[3] == 0 || magic[3] > 4)
    throw DataError(fmt::format("read_idx: {}: {} dimensions is not a plausible IDX array", path, magic[3]));
  IdxArray a;
  std::size_t total = 1;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char be[4];
    read_exact(f.get(), be, 4, path, "header");
    const std::size_t n = (std::size_t(be[0]) << 24) | (std::size_t(be[1]) << 16) | (std::size_t(be[2]) << 8) | be[3];
    a.dims.push_back(n);
  }
  if (max_items != 0 && max_items < a.dims[0]) a.dims[0] = max_items;
  for (auto n : a.dims) total *= n;
  a.data.resize(total);
  read_exact(f.get(), a.data.data(), total, path, "data");
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
