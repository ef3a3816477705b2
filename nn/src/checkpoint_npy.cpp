#include "checkpoint_npy.hpp"

#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn::detail {

namespace {

static_assert(std::endian::native == std::endian::little, "checkpoints store little-endian values");

constexpr char magic[] = "\x93NUMPY";
constexpr std::size_t magic_size = 6;

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (6, 4), }
// followed by spaces and a newline. Only that grammar is accepted: three known keys, each once.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, std::size_t bound, const std::function<CheckpointError(std::string)>& fail)
      : text_(text), bound_(bound), fail_(fail) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (skip_space(), peek() != '}') {
      const std::string key = quoted();
      expect(':');
      skip_space();
      auto once = [&](bool& seen) {
        if (seen) throw fail_(fmt::format("its header names '{}' twice", key));
        seen = true;
      };
      if (key == "descr") {
        once(seen_descr);
        h.descr = quoted();
      } else if (key == "fortran_order") {
        once(seen_order);
        h.fortran_order = boolean();
      } else if (key == "shape") {
        once(seen_shape);
        h.shape = shape();
      } else {
        throw fail_(fmt::format("its header has an unknown key '{}'", key));
      }
      skip_space();
      if (peek() == ',') ++at_;
      else if (peek() != '}') throw fail_(fmt::format("its header has '{}' where ',' or '}}' belongs", where()));
    }
    ++at_;
    skip_space();
    if (at_ != text_.size()) throw fail_("its header has text after the closing '}'");
    if (!seen_descr || !seen_order || !seen_shape)
      throw fail_(fmt::format("its header lacks '{}'", !seen_descr ? "descr" : !seen_order ? "fortran_order" : "shape"));
    return h;
  }

 private:
  char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
  std::string where() const { return at_ < text_.size() ? std::string(1, text_[at_]) : "the end"; }
  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r'))
      ++at_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) throw fail_(fmt::format("its header has {} where '{}' belongs", where(), c));
    ++at_;
  }
  std::string quoted() {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') throw fail_(fmt::format("its header has {} where a quoted name belongs", where()));
    const auto end = text_.find(q, at_ + 1);
    if (end == std::string_view::npos) throw fail_("its header has an unterminated string");
    std::string s(text_.substr(at_ + 1, end - at_ - 1));
    at_ = end + 1;
    return s;
  }
  bool boolean() {
    for (const auto& [word, value] : {std::pair{std::string_view("True"), true}, {std::string_view("False"), false}})
      if (text_.substr(at_, word.size()) == word) {
        at_ += word.size();
        return value;
      }
    throw fail_("its header's fortran_order is neither True nor False");
  }
  // A dimension no larger than the entry (a crafted 10^18 would otherwise size the allocation).
  std::size_t dimension() {
    skip_space();
    if (peek() < '0' || peek() > '9') throw fail_(fmt::format("its shape has {} where a dimension belongs", where()));
    std::size_t d = 0;
    while (peek() >= '0' && peek() <= '9') {
      d = d * 10 + std::size_t(peek() - '0');
      if (d > bound_) throw fail_(fmt::format("its shape has a dimension larger than the entry's {} bytes", bound_));
      ++at_;
    }
    return d;
  }
  ad::Shape shape() {
    expect('(');
    std::vector<std::size_t> dims;
    while (skip_space(), peek() != ')') {
      if (dims.size() == 3) throw fail_("its shape has more than 2 dimensions; checkpoint entries are matrices");
      dims.push_back(dimension());
      skip_space();
      if (peek() == ',') ++at_;
      else if (peek() != ')') throw fail_(fmt::format("its shape has {} where ',' or ')' belongs", where()));
    }
    ++at_;
    if (dims.size() != 2)
      throw fail_(fmt::format("its shape has {} dimensions; checkpoint entries are matrices", dims.size()));
    return {dims[0], dims[1]};
  }

  std::string_view text_;
  std::size_t bound_;
  const std::function<CheckpointError(std::string)>& fail_;
  std::size_t at_ = 0;
};

std::size_t le(const std::string& s, std::size_t at, int bytes) {
  std::size_t v = 0;
  for (int k = bytes; k-- > 0;) v = v << 8 | std::uint8_t(s[at + std::size_t(k)]);
  return v;
}

}  // namespace

NpyHeader read_npy_header(const std::string& entry, const std::string& where) {
  const std::function<CheckpointError(std::string)> fail = [&](const std::string& why) {
    return CheckpointError(fmt::format("{}: {}; the model was not changed", where, why));
  };
  if (entry.size() < magic_size + 2 || entry.compare(0, magic_size, magic, magic_size) != 0)
    throw fail("not a .npy array (no \\x93NUMPY magic)");
  const int major = std::uint8_t(entry[6]), minor = std::uint8_t(entry[7]);
  if (major < 1 || major > 3 || minor != 0)
    throw fail(fmt::format(".npy format version {}.{} is not one of 1.0, 2.0, 3.0", major, minor));
  const std::size_t length_size = major == 1 ? 2 : 4, preamble = magic_size + 2 + length_size;
  if (entry.size() < preamble) throw fail("truncated .npy header");
  const std::size_t header_size = le(entry, magic_size + 2, int(length_size));
  if (header_size > entry.size() - preamble)
    throw fail(fmt::format("its header of {} bytes runs past the entry's {} bytes", header_size, entry.size()));
  NpyHeader h = HeaderParser(std::string_view(entry).substr(preamble, header_size), entry.size(), fail).parse();
  h.data_offset = preamble + header_size;
  std::size_t value_size = 0;
  if (h.descr == "<f4") value_size = 4;
  else if (h.descr == "<f8") value_size = 8;
  else throw fail(fmt::format("its dtype '{}' is not little-endian float32 '<f4' or float64 '<f8'", h.descr));
  std::size_t needed = 0;
  const std::size_t held = entry.size() - h.data_offset;
  if (__builtin_mul_overflow(h.shape[0], h.shape[1], &needed) || __builtin_mul_overflow(needed, value_size, &needed))
    throw fail(fmt::format("its shape {} needs more than 2^64 bytes", ad::to_string(h.shape)));
  if (needed != held)
    throw fail(fmt::format("its shape {} needs {} bytes of {} data but it holds {}", ad::to_string(h.shape), needed,
                           dtype_of(h), held));
  return h;
}

std::string dtype_of(const NpyHeader& header) { return header.descr == "<f4" ? "float32" : "float64"; }

template <class T>
ad::Tensor<T> decode_npy(const std::string& entry, const NpyHeader& h) {
  auto t = ad::Tensor<T>::from_shape({h.shape[0], h.shape[1]});
  const char* data = entry.data() + h.data_offset;
  if (!h.fortran_order) {
    std::memcpy(t.data(), data, t.size() * sizeof(T));
  } else {  // column j is contiguous: element (i, j) at j · rows + i
    for (std::size_t j = 0; j < h.shape[1]; ++j)
      for (std::size_t i = 0; i < h.shape[0]; ++i)
        std::memcpy(&t(i, j), data + (j * h.shape[0] + i) * sizeof(T), sizeof(T));
  }
  return t;
}

template <class T>
std::string encode_npy(const ad::Tensor<T>& value) {
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}, {}), }}",
                                   sizeof(T) == 4 ? "<f4" : "<f8", value.shape()[0], value.shape()[1]);
  // Padded with spaces and a final newline so that the data starts at a multiple of 64 bytes.
  const std::size_t preamble = magic_size + 2 + 2;
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header += '\n';
  std::string out(magic, magic_size);
  out += '\x01';
  out += '\x00';
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(value.data()), value.size() * sizeof(T));
  return out;
}

template ad::Tensor<float> decode_npy(const std::string&, const NpyHeader&);
template ad::Tensor<double> decode_npy(const std::string&, const NpyHeader&);
template std::string encode_npy(const ad::Tensor<float>&);
template std::string encode_npy(const ad::Tensor<double>&);

}  // namespace nn::detail
