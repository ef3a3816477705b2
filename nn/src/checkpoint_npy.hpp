// The .npy entries of a checkpoint. Every header is parsed and validated here, by hand, before a
// byte of data is used: magic, version, header length within the entry, dtype, order, and a 2-D
// shape whose dimensions and product are bounded by the entry's size, with exactly the data the
// shape needs after it. A crafted header therefore cannot make the reader allocate more than the
// file holds, read past the entry, or fill a parameter with memory the file never wrote.
#pragma once

#include <cstddef>
#include <string>

#include <autodiff/tensor.hpp>

namespace nn::detail {

struct NpyHeader {
  std::string descr;           // "<f4" or "<f8": the only dtypes checkpoints hold
  bool fortran_order = false;  // column-major data (numpy writes it for a transposed array)
  ad::Shape shape{0, 0};
  std::size_t data_offset = 0;  // where the data starts in the entry
};

// Throws CheckpointError "<where>: <what is wrong>; the model was not changed".
NpyHeader read_npy_header(const std::string& entry, const std::string& where);

// "float32" for "<f4", "float64" for "<f8".
std::string dtype_of(const NpyHeader& header);

// The entry's matrix, row-major; `header` is read_npy_header(entry) and its dtype is T's.
template <class T>
ad::Tensor<T> decode_npy(const std::string& entry, const NpyHeader& header);

// A .npy file of `value` (format 1.0, little-endian, C order), as numpy.save writes it.
template <class T>
std::string encode_npy(const ad::Tensor<T>& value);

}  // namespace nn::detail
