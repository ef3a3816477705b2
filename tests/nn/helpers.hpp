// Shared by nn's tests: small synthetic data sets and a scratch directory.
#pragma once

#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include <nn/nn.hpp>

namespace helpers {

// Gaussian blobs: `classes` clusters of `per_class` points in n_x dimensions, one-hot targets.
template <class T = double>
nn::Dataset<T> blobs(std::size_t per_class, std::size_t classes, std::size_t n_x, std::uint64_t seed = 1,
                     double spread = 0.5) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, spread);
  const std::size_t m = per_class * classes;
  nn::Dataset<T> d;
  d.x = xt::zeros<T>({m, n_x});
  d.y = xt::zeros<T>({m, classes});
  for (std::size_t i = 0; i < m; ++i) {
    const std::size_t c = i % classes;
    for (std::size_t k = 0; k < n_x; ++k) {
      // Class centres on a circle in the first two dimensions, spread in the others.
      const double angle = 2 * M_PI * double(c) / double(classes);
      const double centre = k == 0 ? 2 * std::cos(angle) : k == 1 ? 2 * std::sin(angle) : double(c % 2);
      d.x(i, k) = T(centre + noise(rng));
    }
    d.y(i, c) = T(1);
  }
  return d;
}

// A random (rows, cols) matrix with entries in [lo, hi].
template <class T = double>
ad::Tensor<T> random(std::size_t rows, std::size_t cols, std::uint64_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  ad::Tensor<T> t = xt::empty<T>({rows, cols});
  for (T& x : t) x = T(u(rng));
  return t;
}

// A fresh directory under the system's temporary directory, removed at scope exit.
struct ScratchDir {
  std::filesystem::path path;
  explicit ScratchDir(const std::string& name) {
    path = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace helpers
