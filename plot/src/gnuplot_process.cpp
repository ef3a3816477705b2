#include "gnuplot_process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <set>

#include <fmt/format.h>
#include <fmt/std.h>

extern char** environ;

namespace plot::detail {

std::string gnuplot_program(const Options& options) {
  if (!options.gnuplot.empty()) return options.gnuplot;
  if (const char* env = std::getenv("DLCOURSE_GNUPLOT"); env && *env) return env;
  return "gnuplot";
}

namespace {

// A figure redrawn every epoch (a babysat history) says why it has no picture once, not per epoch.
bool first_note_for(const std::filesystem::path& png) {
  static std::mutex mutex;
  static std::set<std::string> noted;
  const std::lock_guard lock(mutex);
  return noted.insert(png.string()).second;
}

// Writes everything, or stops at the first error (EPIPE: the child is gone).
void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += std::size_t(n);
  }
}

std::string read_all(std::FILE* file) {
  std::string text;
  std::rewind(file);
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  return text;
}

// The first non-empty line, trimmed: enough for a one-line note.
std::string first_line(const std::string& text) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    if (line.find_first_not_of(" \t\r") != std::string::npos) return line.substr(line.find_first_not_of(" \t\r"));
    begin = end + 1;
  }
  return "";
}

}  // namespace

RunOutcome run_with_input(const std::string& program, const std::vector<std::string>& args, const std::string& script) {
  RunOutcome outcome;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    outcome.spawn_error = fmt::format("pipe: {}", std::strerror(errno));
    return outcome;
  }
  // gnuplot's standard error goes to a temporary file: read after it exits, it cannot fill a pipe.
  std::FILE* errors = std::tmpfile();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], STDIN_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  if (errors) posix_spawn_file_actions_adddup2(&actions, fileno(errors), STDERR_FILENO);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  const int spawned = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[0]);
  if (spawned != 0) {
    ::close(pipe_fds[1]);
    if (errors) std::fclose(errors);
    outcome.spawn_error = std::strerror(spawned);
    return outcome;
  }
  outcome.started = true;

  // A child that exits before reading its script would raise SIGPIPE in this process: block it
  // while writing and take a pending one off the queue afterwards.
  sigset_t pipe_signal, previous;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
  write_all(pipe_fds[1], script);
  ::close(pipe_fds[1]);
  const timespec no_wait{0, 0};
  while (sigtimedwait(&pipe_signal, nullptr, &no_wait) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (errors) {
    outcome.stderr_text = read_all(errors);
    std::fclose(errors);
  }
  return outcome;
}

void draw(Result& result, const std::string& script, const Options& options) {
  const std::string program = gnuplot_program(options);
  std::error_code ignored;
  std::filesystem::remove(result.png, ignored);  // an old picture must not pass for a new one
  const RunOutcome run = run_with_input(program, {}, script);
  std::error_code size_error;
  const auto size = std::filesystem::file_size(result.png, size_error);
  if (!run.started) {
    result.note = fmt::format("no gnuplot ('{}': {}; Debian: apt-get install gnuplot-nox, or set DLCOURSE_GNUPLOT): "
                              "wrote the data, not {}",
                              program, run.spawn_error, result.png);
  } else if (run.exit_status != 0) {
    result.note = fmt::format("gnuplot ('{}') failed (exit status {}{}{}): wrote the data, not {}", program,
                              run.exit_status, run.stderr_text.empty() ? "" : ": ", first_line(run.stderr_text),
                              result.png);
  } else if (size_error || size == 0) {
    result.note = fmt::format("gnuplot ('{}') exited without drawing {}{}{}", program, result.png,
                              run.stderr_text.empty() ? "" : ": ", first_line(run.stderr_text));
  } else {
    result.drawn = true;
    return;
  }
  if (options.print_note && first_note_for(result.png)) std::cerr << "plot: " << result.note << '\n';
}

}  // namespace plot::detail

namespace plot {

bool gnuplot_available(const Options& options) {
  const auto run = detail::run_with_input(detail::gnuplot_program(options), {"--version"}, "");
  return run.started && run.exit_status == 0;
}

}  // namespace plot
