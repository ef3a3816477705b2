// Runs gnuplot as a child process and feeds it a script through a pipe on its standard input.
#pragma once
#include <string>
#include <vector>

#include "plot/plot.hpp"

namespace plot::detail {

struct RunOutcome {
  bool started = false;   // false: the program could not be run (spawn_error says why)
  std::string spawn_error;
  int exit_status = -1;   // the exit status, or -1 when killed by a signal
  std::string stderr_text;  // what gnuplot printed on its standard error
};

// The program to run: options.gnuplot, else $DLCOURSE_GNUPLOT, else "gnuplot" (looked up on PATH).
std::string gnuplot_program(const Options& options);

// Runs `program args...` with `script` on its standard input and waits for it. Never throws for
// what the child does; SIGPIPE from a child that exits early is caught, not delivered.
RunOutcome run_with_input(const std::string& program, const std::vector<std::string>& args, const std::string& script);

// Draws result.png with `script` (already naming it) and fills result.drawn / result.note.
void draw(Result& result, const std::string& script, const Options& options);

}  // namespace plot::detail
