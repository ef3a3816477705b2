#include "zip.hpp"

#include <cstdint>

#include <fmt/format.h>
#include <zlib.h>

#include "nn/errors.hpp"

namespace nn::detail {

namespace {

constexpr std::uint32_t local_sig = 0x04034b50, central_sig = 0x02014b50, end_sig = 0x06054b50;
constexpr std::size_t local_size = 30, central_size = 46, end_size = 22;

void put16(std::string& s, std::uint32_t v) {
  s += char(v & 0xff);
  s += char((v >> 8) & 0xff);
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}
std::uint32_t get16(const std::string& s, std::size_t at) {
  return std::uint32_t(std::uint8_t(s[at])) | std::uint32_t(std::uint8_t(s[at + 1])) << 8;
}
std::uint32_t get32(const std::string& s, std::size_t at) { return get16(s, at) | get16(s, at + 2) << 16; }

std::uint32_t crc(const std::string& data) {
  return std::uint32_t(::crc32(::crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data.data()), uInt(data.size())));
}

}  // namespace

std::string write_zip(const std::vector<ZipEntry>& entries) {
  std::string out, central;
  for (const auto& e : entries) {
    if (e.data.size() >= 0xffffffffu || out.size() >= 0xffffffffu)
      throw CheckpointError(fmt::format("checkpoint: entry {} is too large for a zip without zip64", e.name));
    const std::uint32_t c = crc(e.data), size = std::uint32_t(e.data.size()), offset = std::uint32_t(out.size());
    // Fixed date (1980-01-01): the same model gives the same bytes.
    auto header = [&](std::string& s, bool is_central) {
      put32(s, is_central ? central_sig : local_sig);
      if (is_central) put16(s, 20);  // version made by
      put16(s, 20);                  // version needed
      put16(s, 0);                   // flags
      put16(s, 0);                   // method: stored
      put16(s, 0);                   // time
      put16(s, (0 << 9) | (1 << 5) | 1);
      put32(s, c);
      put32(s, size);
      put32(s, size);
      put16(s, std::uint32_t(e.name.size()));
      put16(s, 0);  // extra length
      if (is_central) {
        put16(s, 0);  // comment length
        put16(s, 0);  // disk
        put16(s, 0);  // internal attributes
        put32(s, 0);  // external attributes
        put32(s, offset);
      }
      s += e.name;
    };
    header(out, false);
    out += e.data;
    header(central, true);
  }
  const std::uint32_t cd_offset = std::uint32_t(out.size()), cd_size = std::uint32_t(central.size());
  out += central;
  put32(out, end_sig);
  put16(out, 0);
  put16(out, 0);
  put16(out, std::uint32_t(entries.size()));
  put16(out, std::uint32_t(entries.size()));
  put32(out, cd_size);
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

std::vector<ZipEntry> read_zip(const std::string& bytes, const std::string& path) {
  auto fail = [&](const std::string& why) {
    return CheckpointError(fmt::format("checkpoint {}: {}; the model was not changed", path, why));
  };
  if (bytes.size() < end_size) throw fail(fmt::format("truncated ({} bytes, not even an end-of-archive record)", bytes.size()));
  // The end record is last; a comment (up to 64 KiB) may follow it.
  std::size_t end = std::string::npos;
  const std::size_t lowest = bytes.size() > end_size + 0xffff ? bytes.size() - end_size - 0xffff : 0;
  for (std::size_t at = bytes.size() - end_size + 1; at-- > lowest;)
    if (get32(bytes, at) == end_sig && at + end_size + get16(bytes, at + 20) == bytes.size()) {
      end = at;
      break;
    }
  if (end == std::string::npos) throw fail("truncated or not a checkpoint (no end-of-archive record)");
  const std::size_t count = get16(bytes, end + 10), cd_size = get32(bytes, end + 12), cd_offset = get32(bytes, end + 16);
  if (cd_offset + cd_size > end) throw fail("corrupt (the directory lies outside the file)");
  std::vector<ZipEntry> entries;
  std::size_t at = cd_offset;
  for (std::size_t k = 0; k < count; ++k) {
    if (at + central_size > cd_offset + cd_size || get32(bytes, at) != central_sig)
      throw fail(fmt::format("corrupt directory at entry {}", k));
    const std::uint32_t method = get16(bytes, at + 10), c = get32(bytes, at + 16), csize = get32(bytes, at + 20),
                        usize = get32(bytes, at + 24);
    const std::size_t name_len = get16(bytes, at + 28), extra = get16(bytes, at + 30), comment = get16(bytes, at + 32),
                      local = get32(bytes, at + 42);
    if (at + central_size + name_len > bytes.size()) throw fail("corrupt directory (a name runs past the end)");
    std::string name = bytes.substr(at + central_size, name_len);
    at += central_size + name_len + extra + comment;
    if (method != 0 || csize != usize)
      throw fail(fmt::format("entry {} is compressed (method {}); checkpoints store entries uncompressed", name, method));
    if (local + local_size > bytes.size() || get32(bytes, local) != local_sig)
      throw fail(fmt::format("corrupt (no local header for entry {})", name));
    const std::size_t data = local + local_size + get16(bytes, local + 26) + get16(bytes, local + 28);
    if (data + csize > cd_offset) throw fail(fmt::format("truncated or corrupt (entry {} runs past its end)", name));
    ZipEntry e{std::move(name), bytes.substr(data, csize)};
    if (crc(e.data) != c) throw fail(fmt::format("corrupt (checksum mismatch in entry {})", e.name));
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace nn::detail
