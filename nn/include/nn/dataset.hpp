// Data sets stored example-major: example i is row i of x (m, n_x) and of y (m, n_y). Gathering a
// shuffled mini-batch then copies whole contiguous rows, straight into a tape's input buffer
// (the first Dense layer reads it through a BLAS transpose flag, see Layout::rows).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include <autodiff/tensor.hpp>

namespace nn {

template <class T>
struct Dataset {
  ad::Tensor<T> x;  // (m, n_x): one example per row
  ad::Tensor<T> y;  // (m, n_y): targets per row (one-hot rows for classification)

  std::size_t size() const { return x.shape()[0]; }
  std::size_t features() const { return x.shape()[1]; }
  std::size_t outputs() const { return y.shape()[1]; }
  // Class labels: argmax of each row of y, or y ≥ 0.5 for a single output.
  std::vector<std::int32_t> labels() const;
  // Throws DataError (naming `what`) when x and y disagree on m, are empty, or x does not have
  // `features` columns (0: any number).
  void check(const char* what = "data set", std::size_t features = 0) const;
};

// Throws DataError "<what>: example i has feature k = nan" for the first NaN or ±Inf of x_rows
// (m, n_x): one would poison every cost, gradient and statistic computed from it (ReLU even maps
// NaN to 0 forward, hiding it from the cost). One vectorized pass; fit, evaluate, predict and the
// normalizer call it where data enters.
template <class T>
void check_finite_features(const ad::Tensor<T>& x_rows, const char* what);

// Throws DataError (naming `what`, the index, its position and `size`) unless every index is below
// `size`: indices address rows in memory, so one out of range reads (or crashes) past the data.
void check_indices(std::span<const std::size_t> indices, std::size_t size, const char* what);

template <class T>
Dataset<T> subset(const Dataset<T>& data, std::span<const std::size_t> indices);

// A random permutation of 0..m−1, reproducible across platforms for a given generator state.
std::vector<std::size_t> permutation(std::size_t m, std::mt19937_64& rng);
// Shuffles the examples (rows of x and y together).
template <class T>
void shuffle(Dataset<T>& data, std::uint64_t seed);

template <class T>
struct Split {
  Dataset<T> train, dev, test;
};
// Shuffles (seeded) and splits into train/dev/test; the fractions are of the whole, rounded.
template <class T>
Split<T> split(const Dataset<T>& data, double dev_fraction, double test_fraction, std::uint64_t seed);

// Mini-batches as index ranges over a (re)shuffled order of the examples. The last batch keeps
// the remainder (m mod batch_size examples) rather than dropping it.
class Batches {
 public:
  Batches(std::size_t examples, std::size_t batch_size);
  void shuffle(std::mt19937_64& rng);  // a new order (keeps its memory: no allocation)
  std::size_t count() const { return (order_.size() + size_ - 1) / size_; }
  std::size_t batch_size() const { return size_; }
  std::span<const std::size_t> operator[](std::size_t k) const;
  const std::vector<std::size_t>& order() const { return order_; }

 private:
  std::vector<std::size_t> order_;
  std::size_t size_;
};

// dst(k, :) = src(indices[k], :): a mini-batch of rows, dst resized to (k, n) only if needed.
// Both gathers throw DataError for an index outside src's rows.
template <class T>
void gather_rows(const ad::Tensor<T>& src, std::span<const std::size_t> indices, ad::Tensor<T>& dst);
// dst(:, k) = src(indices[k], :): the same batch transposed to the course's (n, k) layout.
template <class T>
void gather_columns(const ad::Tensor<T>& src, std::span<const std::size_t> indices, ad::Tensor<T>& dst);

}  // namespace nn
