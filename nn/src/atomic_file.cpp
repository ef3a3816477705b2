#include "atomic_file.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/errors.hpp"

namespace nn::detail {

namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}
std::string name_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string kind_of(mode_t mode) {
  return S_ISDIR(mode) ? "directory" : S_ISCHR(mode) ? "character device" : S_ISBLK(mode) ? "block device"
         : S_ISFIFO(mode) ? "FIFO" : S_ISSOCK(mode) ? "socket" : "special file";
}

// The file a save to `path` replaces: `path` itself, or the final target of the symlinks it is.
std::string final_target(const std::string& path, const std::string& operation) {
  std::string at = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(at.c_str(), &st) != 0) return at;  // missing: created (its directory is checked by the write)
    if (!S_ISLNK(st.st_mode)) return at;
    std::string link(std::size_t(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    const ssize_t n = ::readlink(at.c_str(), link.data(), link.size());
    if (n < 0 || std::size_t(n) >= link.size())
      throw CheckpointError(fmt::format("{} {}: cannot read the symlink {}: {}", operation, path, at,
                                        n < 0 ? std::strerror(errno) : "it changed while being read"));
    link.resize(std::size_t(n));
    at = link.front() == '/' ? link : directory_of(at) + "/" + link;
  }
  throw CheckpointError(fmt::format("{} {}: too many levels of symlinks", operation, path));
}

// `<name>.tmp.<pid>.XXXXXX` → pid, or 0 when `entry` is not a temporary of `name`.
pid_t writer_of(const std::string& entry, const std::string& name) {
  const std::string prefix = name + ".tmp.";
  if (entry.size() <= prefix.size() + 7 || entry.compare(0, prefix.size(), prefix) != 0) return 0;
  const std::size_t dot = entry.size() - 7;
  if (entry[dot] != '.') return 0;
  for (std::size_t k = dot + 1; k < entry.size(); ++k)
    if (!std::isalnum(static_cast<unsigned char>(entry[k]))) return 0;
  const std::string digits = entry.substr(prefix.size(), dot - prefix.size());
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return pid_t(std::stol(digits));
}

// Best effort: a temporary that cannot be inspected or removed is left for the next save.
void remove_stale_temporaries(const std::string& dir, const std::string& name) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  const std::time_t now = std::time(nullptr);
  while (const dirent* e = ::readdir(d)) {
    const pid_t pid = writer_of(e->d_name, name);
    if (pid <= 0 || pid == ::getpid()) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != ::geteuid() || now - st.st_mtime < stale_after.count())
      continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // its writer may still be running
    ::unlinkat(::dirfd(d), e->d_name, 0);
  }
  ::closedir(d);
}

// A new file `<target>.tmp.<pid>.XXXXXX` (O_EXCL, like mkstemp, but created with 0644 less the
// umask as any new file is). Returns the descriptor and sets `tmp`.
int create_temporary(const std::string& target, std::string& tmp) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, sizeof(alphabet) - 2);
  for (int attempt = 0; attempt < 100; ++attempt) {
    tmp = fmt::format("{}.tmp.{}.", target, ::getpid());
    for (int k = 0; k < 6; ++k) tmp += alphabet[pick(rng)];
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

}  // namespace

void replace_file_atomically(const std::string& path, const std::string& bytes, const std::string& operation) {
  const std::string target = final_target(path, operation);
  const std::string via = target == path ? "" : fmt::format(" (through the symlink, {})", target);
  struct stat old {};
  const bool exists = ::stat(target.c_str(), &old) == 0;
  if (exists && !S_ISREG(old.st_mode))
    throw CheckpointError(fmt::format("{} {}{}: it is a {}, not a regular file; refusing to replace it", operation,
                                      path, via, kind_of(old.st_mode)));
  const std::string dir = directory_of(target);
  remove_stale_temporaries(dir, name_of(target));

  std::string tmp;
  const int fd = create_temporary(target, tmp);
  if (fd < 0)
    throw CheckpointError(fmt::format("{} {}{}: cannot create a temporary file in {}: {}; {} was left as it was",
                                      operation, path, via, dir, std::strerror(errno), path));
  auto fail = [&](const char* what) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return CheckpointError(fmt::format("{} {}{}: cannot {} the temporary file {}: {}; {} was left as it was",
                                       operation, path, via, what, tmp, std::strerror(err), path));
  };
  auto fail_and_close = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return fail(what);
  };
  if (exists && ::fchmod(fd, old.st_mode & 07777) != 0) throw fail_and_close("set the permissions of");
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      throw fail_and_close("write");
    }
    done += std::size_t(n);
  }
  if (::fsync(fd) != 0) throw fail_and_close("flush");
  if (::close(fd) != 0) throw fail("close");
  if (::rename(tmp.c_str(), target.c_str()) != 0) throw fail("rename into place");
  // The rename is durable once the directory is flushed. EINVAL: a file system that cannot sync
  // directories (fsync(2)); anything else means the new checkpoint may not survive a crash.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || (::fsync(dfd) != 0 && errno != EINVAL)) {
    const int err = errno;
    if (dfd >= 0) ::close(dfd);
    throw CheckpointError(fmt::format("{} {}{}: the new file is in place but its directory {} could not be flushed: "
                                      "{}; it may not survive a power loss",
                                      operation, path, via, dir, std::strerror(err)));
  }
  ::close(dfd);
}

}  // namespace nn::detail
