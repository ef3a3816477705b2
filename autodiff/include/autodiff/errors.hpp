// Exceptions thrown by the engine. Every message names the operation, the operands' shapes and
// names, and the user's line that created the node.
#pragma once

#include <source_location>
#include <stdexcept>
#include <string>

namespace ad {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Operands whose shapes an operation cannot accept.
struct ShapeError : Error {
  using Error::Error;
};

// Misuse of a tape: a released tape, operands from two tapes, backward from a non-scalar, ...
struct TapeError : Error {
  using Error::Error;
};

// A scalar argument outside its domain: clip bounds in the wrong order, keep_prob outside (0, 1],
// a negative leaky slope, λ or ε, an axis other than 0 or 1. nn's hyperparameter errors are the
// same type (nn::ConfigError is an alias), so one catch covers a bad setting at either level.
struct ConfigError : Error {
  using Error::Error;
};

// Anomaly mode: an operation produced NaN or Inf, forward or backward.
struct AnomalyError : Error {
  using Error::Error;
};

// "file.cpp:42" of a creation site, with the path reduced to its last two components.
std::string format_site(const std::source_location& where);
// " (at file.cpp:42)": the suffix every message about a node or a call ends with.
std::string site_suffix(const std::source_location& where);

}  // namespace ad
