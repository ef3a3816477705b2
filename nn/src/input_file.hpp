// A data file read as a stream of bytes, gunzipped when it starts with gzip's magic bytes.
//
// Why not zlib's gzread: it returns a stream that ends before its 8-byte trailer as a normal end
// of file (the error is only in gzerror), so the CRC-32 and the length are never checked and a
// corrupted byte goes unnoticed; and it silently ignores whatever follows the gzip stream. Here
// every gzip member is inflated to its trailer (zlib's inflate checks CRC-32 and length there),
// further members are read on as gzip(1) does, and any other bytes after the stream are refused.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

namespace nn::detail {

class InputFile {
 public:
  // Throws DataError "<who>: cannot open <path>: <reason>" (missing, unreadable, a directory).
  InputFile(std::string path, std::string who);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Reads up to n bytes of data (decompressed); fewer only at its end. Throws DataError on a read
  // error, corrupt gzip data (naming zlib's finding: CRC-32, length, block) or bytes after the
  // gzip stream that are not another gzip member.
  std::size_t read(void* out, std::size_t n);
  // The gzip stream ended before its trailer: the data read cannot be verified (truncated file).
  bool truncated() const { return truncated_; }
  bool compressed() const { return compressed_; }
  std::uint64_t file_size() const { return file_size_; }
  // An upper bound of the data's size, known before reading it: the file's size, or for gzip
  // deflate's largest ratio (1032:1). A header that claims more is refused without allocating it.
  std::uint64_t max_data_size() const;
  const std::string& path() const { return path_; }

 private:
  bool fill();  // more compressed input after what is left; false at the end of the file
  void start_next_member();
  [[noreturn]] void corrupt(int code) const;

  std::string path_, who_;
  std::FILE* file_ = nullptr;
  bool regular_ = false;          // a regular file, whose size is known
  std::uint64_t file_size_ = 0;
  std::uint64_t consumed_ = 0;    // bytes of the file handed to zlib so far
  bool compressed_ = false, eof_ = false, finished_ = false, truncated_ = false;
  z_stream z_{};
  bool z_ready_ = false;
  std::vector<unsigned char> in_;
};

}  // namespace nn::detail
