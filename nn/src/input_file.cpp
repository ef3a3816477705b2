#include "input_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn::detail {

namespace {

constexpr std::size_t kBuffer = std::size_t(1) << 16;
// Deflate's largest expansion: a 258-byte match costs at least 2 bits (RFC 1951), so 1032:1.
constexpr std::uint64_t kMaxRatio = 1032;

bool gzip_magic(const unsigned char* p, std::size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

}  // namespace

InputFile::InputFile(std::string path, std::string who) : path_(std::move(path)), who_(std::move(who)), in_(kBuffer) {
  file_ = std::fopen(path_.c_str(), "rb");
  if (!file_) throw DataError(fmt::format("{}: cannot open {}: {}", who_, path_, std::strerror(errno)));
  struct stat st {};
  if (fstat(fileno(file_), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      std::fclose(file_);
      throw DataError(fmt::format("{}: cannot open {}: it is a directory, not a file", who_, path_));
    }
    if (S_ISREG(st.st_mode)) {
      regular_ = true;
      file_size_ = std::uint64_t(st.st_size);
    }
  }
  fill();
  compressed_ = gzip_magic(z_.next_in, z_.avail_in);
  if (compressed_) {
    // 16 + MAX_WBITS: a gzip wrapper (header, then CRC-32 and length checked at the trailer).
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {
      std::fclose(file_);
      throw DataError(fmt::format("{}: {}: cannot start zlib's inflate", who_, path_));
    }
    z_ready_ = true;
  }
}

InputFile::~InputFile() {
  if (z_ready_) inflateEnd(&z_);
  if (file_) std::fclose(file_);
}

std::uint64_t InputFile::max_data_size() const {
  if (!regular_) return std::numeric_limits<std::uint64_t>::max();  // a pipe: unknown
  return compressed_ ? file_size_ * kMaxRatio : file_size_;
}

bool InputFile::fill() {
  if (eof_) return false;
  const std::size_t keep = z_.avail_in;
  if (keep && z_.next_in != in_.data()) std::memmove(in_.data(), z_.next_in, keep);
  const std::size_t got = std::fread(in_.data() + keep, 1, in_.size() - keep, file_);
  if (got == 0) {
    if (std::ferror(file_)) throw DataError(fmt::format("{}: {}: read error: {}", who_, path_, std::strerror(errno)));
    eof_ = true;
  }
  z_.next_in = in_.data();
  z_.avail_in = uInt(keep + got);
  consumed_ += got;
  return got > 0;
}

std::size_t InputFile::read(void* out, std::size_t n) {
  auto* o = static_cast<unsigned char*>(out);
  std::size_t done = 0;
  if (!compressed_) {
    while (done < n && (z_.avail_in > 0 || fill())) {
      const std::size_t k = std::min<std::size_t>(n - done, z_.avail_in);
      std::memcpy(o + done, z_.next_in, k);
      z_.next_in += k;
      z_.avail_in -= uInt(k);
      done += k;
    }
    return done;
  }
  while (done < n && !finished_) {
    if (z_.avail_in == 0 && !fill()) {  // the file ends inside a member, before its trailer
      truncated_ = finished_ = true;
      break;
    }
    const auto room = uInt(std::min<std::size_t>(n - done, std::size_t(1) << 30));
    z_.next_out = o + done;
    z_.avail_out = room;
    const int r = inflate(&z_, Z_NO_FLUSH);
    done += room - z_.avail_out;
    if (r == Z_STREAM_END) start_next_member();  // the trailer matched
    else if (r == Z_BUF_ERROR && z_.avail_in == 0) continue;  // needs more input
    else if (r != Z_OK) corrupt(r);
  }
  return done;
}

// After a member's trailer: the end of the file, another member (gzip(1) concatenates them), or
// bytes that are neither, refused (zlib's gzread skips them silently).
void InputFile::start_next_member() {
  while (z_.avail_in < 2 && fill()) {
  }
  if (z_.avail_in == 0) {
    finished_ = true;
    return;
  }
  if (gzip_magic(z_.next_in, z_.avail_in)) {
    inflateReset(&z_);
    return;
  }
  const std::uint64_t at = consumed_ - z_.avail_in;
  throw DataError(fmt::format("{}: {}: {} bytes that are not gzip data follow the end of the gzip stream at byte {} "
                              "(trailing garbage)",
                              who_, path_, file_size_ > at ? file_size_ - at : std::uint64_t(z_.avail_in), at));
}

void InputFile::corrupt(int code) const {
  std::string what = z_.msg ? z_.msg : zError(code);
  if (what == "incorrect data check") what = "the CRC-32 in the gzip trailer does not match the data";
  else if (what == "incorrect length check") what = "the length in the gzip trailer does not match the data";
  throw DataError(fmt::format("{}: {}: corrupt gzip data near byte {}: {}", who_, path_, consumed_ - z_.avail_in, what));
}

}  // namespace nn::detail
