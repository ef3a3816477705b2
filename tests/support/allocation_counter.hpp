// Counts every operator new of the program this is linked into (link allocation_counter_dep into
// a test or benchmark): the tests that show a replayed step, an optimizer step or a gradient
// check's evaluations allocate nothing read the count before and after.
// xtensor's aligned buffers come from malloc, not operator new: tests that care about those
// compare data() pointers as well.
#pragma once

#include <cstddef>

namespace allocation_counter {

std::size_t operator_new_calls();

}  // namespace allocation_counter
