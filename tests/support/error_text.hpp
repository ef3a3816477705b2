// Helpers for tests that check what an error message says.
#pragma once

#include <string>

namespace test_support {

// The message of the Error that f() throws, or "(nothing thrown)" when it returns: a test then
// checks the message's parts with contains(), and a missing throw shows in the failure's text.
template <class Error, class F>
std::string message_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace test_support
