// Saving a checkpoint when things go wrong: a process killed at random moments of a save, a full
// disk, a read-only directory, a failing fsync, a device, FIFO or directory at the path, a
// symlink, two threads saving one path, temporaries left by killed saves. Every time the path
// holds the old checkpoint or the new one, complete (it loads and equals one of the two models
// bit for bit), and every failure is a CheckpointError naming the path and the system's reason.
#define BOOST_TEST_MODULE nn checkpoint faults
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "atomic_file.hpp"
#include "checkpoint_helpers.hpp"

using namespace checkpoint_helpers;
namespace fs = std::filesystem;

// fsync, interposed for this executable (its definition wins over libc's for the library linked
// into it): a test makes it fail with EIO for directories or for regular files.
namespace {
enum class FailFsync { none, directories, files };
std::atomic<FailFsync> fail_fsync{FailFsync::none};
}  // namespace

extern "C" int fsync(int fd) {
  const FailFsync mode = fail_fsync.load();
  struct stat st {};
  if (mode != FailFsync::none && ::fstat(fd, &st) == 0 &&
      (mode == FailFsync::directories ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode))) {
    errno = EIO;
    return -1;
  }
  return int(::syscall(SYS_fsync, fd));
}

namespace {

// A model big enough (≈ 30k values with Adam's moments, 120 kB) that a save takes a while to
// write, so that random kills land inside it.
nn::Sequential<float> big_model(std::uint64_t seed) { return make_model(seed, 1000); }

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::size_t temporaries_in(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& name : names_in(dir)) n += name.find(".tmp.") != std::string::npos;
  return n;
}

// A pid that no process has: a child that exited and was reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

void make_old(const std::string& path, std::chrono::seconds age) {
  const auto when = std::chrono::system_clock::now() - age;
  const timespec t{std::chrono::system_clock::to_time_t(when), 0};
  const timespec times[2] = {t, t};
  BOOST_REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

// Runs f in a child process and returns what it wrote to `out` (a pipe), e.g. an error message.
template <class F>
std::string in_child(F f) {
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::string said = f();
    [[maybe_unused]] auto n = ::write(fds[1], said.data(), said.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string said;
  char buffer[512];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) said.append(buffer, std::size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  return said;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_save_killed_at_any_moment_leaves_the_old_or_the_new_checkpoint) {
  helpers::ScratchDir dir("nn-ckpt-kill");
  const std::string path = dir.file("m.npz");
  nn::Sequential<float> models[2] = {big_model(1), big_model(2)};
  nn::Adam<float> adams[2] = {nn::Adam<float>(0.01), nn::Adam<float>(0.02)};
  for (int k = 0; k < 2; ++k) step_once(adams[k], models[k]);
  nn::save_checkpoint(path, models[0], &adams[0]);
  // Delays spread over the time a child takes from fork to exit (measured here), so kills land
  // before, inside and after its save; which of the two the file then holds is only counted.
  auto save_in_child = [&](int which) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      try {
        nn::save_checkpoint(path, models[which], &adams[which]);
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    return pid;
  };
  std::vector<std::chrono::microseconds> runs;
  for (int k = 0; k < 3; ++k) {
    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = save_in_child(0);
    BOOST_REQUIRE(pid > 0);
    ::waitpid(pid, nullptr, 0);
    runs.push_back(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start));
  }
  std::sort(runs.begin(), runs.end());
  const auto save_us = runs[1];  // the median
  std::mt19937 rng(20261130);
  // Capped at 40 ms: on a loaded machine the whole test stays well under 20 s.
  std::uniform_int_distribution<long> delay_us(1, std::clamp(long(save_us.count()) * 5 / 4, 2L, 40'000L));
  int current = 0, kept_old = 0, got_new = 0;
  for (int round = 0; round < 150; ++round) {
    const int next = 1 - current;
    const pid_t pid = save_in_child(next);
    BOOST_REQUIRE(pid > 0);
    ::usleep(useconds_t(delay_us(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST(!(WIFEXITED(status) && WEXITSTATUS(status) == 3), "round " << round << ": the save failed");
    nn::Sequential<float> loaded;
    const auto e = refusal([&] { loaded = nn::load_model<float>(path); });
    BOOST_TEST(e == "(nothing thrown)", "round " << round << ": " << e);
    if (same_model(loaded, models[next])) {
      ++got_new;
      current = next;
    } else {
      BOOST_TEST(same_model(loaded, models[current]), "round " << round << ": neither the old nor the new model");
      ++kept_old;
    }
  }
  const std::size_t left = temporaries_in(dir.path);
  BOOST_TEST_MESSAGE("fork to exit of one save " << save_us.count() << " µs; 150 kills: old kept " << kept_old << ", new complete "
                                 << got_new << ", temporaries left " << left);
  // The next save removes the temporaries of the killed writers once they are stale.
  for (const auto& name : names_in(dir.path))
    if (name != "m.npz") make_old(dir.file(name), nn::detail::stale_after + std::chrono::seconds(1));
  nn::save_checkpoint(path, models[0]);
  BOOST_TEST(names_in(dir.path) == std::vector<std::string>{"m.npz"});
}

BOOST_AUTO_TEST_CASE(only_stale_temporaries_of_dead_writers_for_this_path_are_removed) {
  helpers::ScratchDir dir("nn-ckpt-stale");
  const std::string path = dir.file("m.npz");
  const auto model = make_model(1);
  nn::save_checkpoint(path, model);
  const pid_t dead = dead_pid(), alive = ::getppid();
  const auto old = nn::detail::stale_after + std::chrono::seconds(60);
  auto create = [&](const std::string& name, bool aged) {
    spit(dir.file(name), "partial");
    if (aged) make_old(dir.file(name), old);
  };
  const std::string removed = fmt::format("m.npz.tmp.{}.Ab12Cd", dead);
  create(removed, true);
  const std::vector<std::string> kept{
      fmt::format("m.npz.tmp.{}.Xy34Zw", dead),      // recent: its writer may be in another pid namespace
      fmt::format("m.npz.tmp.{}.Qq11Rr", alive),     // its writer is running
      fmt::format("m.npz.tmp.{}.toolong1", dead),    // not our pattern
      fmt::format("m.npz.tmp.x{}.Ab12Cd", dead),     // not our pattern
      fmt::format("other.npz.tmp.{}.Ab12Cd", dead),  // another path's
      "notes.txt"};
  for (std::size_t k = 0; k < kept.size(); ++k) create(kept[k], k != 0);
  const std::string directory = fmt::format("m.npz.tmp.{}.Dir123", dead);  // not a regular file
  fs::create_directory(dir.file(directory));
  make_old(dir.file(directory), old);

  nn::save_checkpoint(path, model);
  std::vector<std::string> expected = kept;
  expected.push_back(directory);
  expected.push_back("m.npz");
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(names_in(dir.path) == expected, boost::test_tools::per_element());
  BOOST_TEST(!fs::exists(dir.file(removed)));
}

BOOST_AUTO_TEST_CASE(threads_saving_one_path_all_succeed) {
  // Before: both used the temporary path.tmp.<pid>; 24 of 80 saves failed.
  helpers::ScratchDir dir("nn-ckpt-threads");
  const std::string path = dir.file("m.npz");
  const nn::Sequential<float> models[2] = {make_model(1, 200), make_model(2, 200)};
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex mutex;
  std::vector<std::thread> threads;
  for (int k = 0; k < 2; ++k)
    threads.emplace_back([&, k] {
      for (int i = 0; i < 40; ++i) try {
          nn::save_checkpoint(path, models[k]);
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex);
          if (failures++ == 0) first_failure = e.what();
        }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0, first_failure);
  const auto loaded = nn::load_model<float>(path);
  BOOST_TEST((same_model(loaded, models[0]) || same_model(loaded, models[1])));
  BOOST_TEST(names_in(dir.path) == std::vector<std::string>{"m.npz"});
}

BOOST_AUTO_TEST_CASE(a_full_disk_gives_a_clear_error_and_keeps_the_old_file) {
  // RLIMIT_FSIZE with SIGXFSZ ignored: write() fails with EFBIG past 4 kB, as on a full disk.
  helpers::ScratchDir dir("nn-ckpt-full");
  const std::string path = dir.file("m.npz");
  const auto old_model = make_model(1), new_model = make_model(2, 500);
  nn::save_checkpoint(path, old_model);
  const std::string old_bytes = slurp(path);
  BOOST_REQUIRE(old_bytes.size() < 4096);
  rlimit saved{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 4096;
  BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  const auto e = refusal([&] { nn::save_checkpoint(path, new_model); });
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);
  BOOST_TEST(contains(e, "save_checkpoint " + path + ": cannot write the temporary file " + path + ".tmp."), e);
  BOOST_TEST(contains(e, "File too large; " + path + " was left as it was"), e);
  BOOST_TEST(slurp(path) == old_bytes);
  BOOST_TEST(same_model(nn::load_model<float>(path), old_model));
  BOOST_TEST(names_in(dir.path) == std::vector<std::string>{"m.npz"});
}

BOOST_AUTO_TEST_CASE(a_read_only_directory_gives_a_clear_error_and_keeps_the_old_file) {
  helpers::ScratchDir dir("nn-ckpt-readonly");
  const std::string path = dir.file("m.npz");
  const auto old_model = make_model(1), new_model = make_model(2);
  nn::save_checkpoint(path, old_model);
  const std::string old_bytes = slurp(path);
  BOOST_REQUIRE(::chmod(dir.path.c_str(), 0555) == 0);
  // Root ignores permissions: the save runs in a child that has become `nobody` (65534).
  const std::string e = in_child([&]() -> std::string {
    if (::geteuid() == 0 && (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0))
      return fmt::format("cannot drop root privileges: {}", std::strerror(errno));
    return refusal([&] { nn::save_checkpoint(path, new_model); });
  });
  ::chmod(dir.path.c_str(), 0755);
  BOOST_TEST(contains(e, "save_checkpoint " + path + ": cannot create a temporary file in " + dir.path.string() +
                             ": Permission denied; " + path + " was left as it was"), e);
  BOOST_TEST(slurp(path) == old_bytes);
  BOOST_TEST(names_in(dir.path) == std::vector<std::string>{"m.npz"});
}

BOOST_AUTO_TEST_CASE(a_failing_fsync_is_reported) {
  helpers::ScratchDir dir("nn-ckpt-fsync");
  const std::string path = dir.file("m.npz");
  const auto old_model = make_model(1), new_model = make_model(2);
  nn::save_checkpoint(path, old_model);
  // The temporary file's: nothing is renamed, the old file stays.
  fail_fsync = FailFsync::files;
  auto e = refusal([&] { nn::save_checkpoint(path, new_model); });
  fail_fsync = FailFsync::none;
  BOOST_TEST(contains(e, "cannot flush the temporary file"), e);
  BOOST_TEST(contains(e, "Input/output error; " + path + " was left as it was"), e);
  BOOST_TEST(same_model(nn::load_model<float>(path), old_model));
  BOOST_TEST(names_in(dir.path) == std::vector<std::string>{"m.npz"});
  // The directory's, after the rename (before: ignored): the new file is in place but may not
  // survive a power loss, and the caller is told so.
  fail_fsync = FailFsync::directories;
  e = refusal([&] { nn::save_checkpoint(path, new_model); });
  fail_fsync = FailFsync::none;
  BOOST_TEST(contains(e, "save_checkpoint " + path + ": the new file is in place but its directory " +
                             dir.path.string() + " could not be flushed: Input/output error"), e);
  BOOST_TEST(same_model(nn::load_model<float>(path), new_model));
}

BOOST_AUTO_TEST_CASE(only_a_regular_file_is_replaced) {
  // Before: a save to /dev/full renamed a regular file over the device node.
  helpers::ScratchDir dir("nn-ckpt-special");
  const auto model = make_model(1);
  BOOST_REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  fs::create_directory(dir.file("directory"));
  std::vector<std::pair<std::string, std::string>> cases{{"fifo", "FIFO"}, {"directory", "directory"}};
  // A copy of /dev/full (char 1:7) when we may create device nodes (root).
  if (::mknod(dir.file("full").c_str(), S_IFCHR | 0666, makedev(1, 7)) == 0) cases.push_back({"full", "character device"});
  else BOOST_TEST_MESSAGE("mknod: " << std::strerror(errno) << "; the device case uses /dev/full's type only via FIFO");
  for (const auto& [name, kind] : cases) {
    struct stat before {};
    ::lstat(dir.file(name).c_str(), &before);
    const auto e = refusal([&] { nn::save_checkpoint(dir.file(name), model); });
    BOOST_TEST(contains(e, "save_checkpoint " + dir.file(name) + ": it is a " + kind +
                               ", not a regular file; refusing to replace it"), e);
    struct stat after {};
    ::lstat(dir.file(name).c_str(), &after);
    BOOST_TEST(((after.st_mode & S_IFMT) == (before.st_mode & S_IFMT) && after.st_ino == before.st_ino), name);
  }
  // A symlink to one of them is refused as well: the link is written through, to the FIFO.
  fs::create_symlink("fifo", dir.file("link"));
  const auto e = refusal([&] { nn::save_checkpoint(dir.file("link"), model); });
  BOOST_TEST(contains(e, "save_checkpoint " + dir.file("link") + " (through the symlink, " + dir.file("fifo") +
                             "): it is a FIFO, not a regular file; refusing to replace it"), e);
  BOOST_TEST(fs::is_symlink(dir.file("link")));
  BOOST_TEST(temporaries_in(dir.path) == 0u);
}

BOOST_AUTO_TEST_CASE(a_symlink_is_written_through_and_stays_a_link) {
  helpers::ScratchDir dir("nn-ckpt-symlink");
  fs::create_directory(dir.file("real"));
  const auto old_model = make_model(1), new_model = make_model(2);
  nn::save_checkpoint(dir.file("real/m.npz"), old_model);
  BOOST_REQUIRE(::chmod(dir.file("real/m.npz").c_str(), 0600) == 0);
  fs::create_symlink("real/m.npz", dir.file("link.npz"));  // relative to the link's directory
  fs::create_symlink(dir.file("link.npz"), dir.file("link2.npz"));  // a chain, absolute
  nn::save_checkpoint(dir.file("link2.npz"), new_model);
  BOOST_TEST(fs::is_symlink(dir.file("link.npz")));
  BOOST_TEST(fs::is_symlink(dir.file("link2.npz")));
  BOOST_TEST(same_model(nn::load_model<float>(dir.file("real/m.npz")), new_model));
  struct stat st {};
  ::stat(dir.file("real/m.npz").c_str(), &st);
  BOOST_TEST((st.st_mode & 07777) == 0600u);  // an existing file keeps its mode
  BOOST_TEST(temporaries_in(dir.path) + temporaries_in(dir.file("real")) == 0u);
  // A broken link's target is created; a loop is refused.
  fs::create_symlink("real/new.npz", dir.file("broken.npz"));
  nn::save_checkpoint(dir.file("broken.npz"), new_model);
  BOOST_TEST(fs::is_symlink(dir.file("broken.npz")));
  BOOST_TEST(same_model(nn::load_model<float>(dir.file("real/new.npz")), new_model));
  fs::create_symlink("loop.npz", dir.file("loop.npz"));
  const auto e = refusal([&] { nn::save_checkpoint(dir.file("loop.npz"), new_model); });
  BOOST_TEST(contains(e, "save_checkpoint " + dir.file("loop.npz") + ": too many levels of symlinks"), e);
}
