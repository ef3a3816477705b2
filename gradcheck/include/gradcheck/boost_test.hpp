// Gradient checks as Boost.Test assertions: on failure the block table goes into the test log.
//
//   auto report = gc::check(tape, J, model.parameters());
//   GRADCHECK_REQUIRE(report);   // or GRADCHECK_CHECK to go on after a failure
#pragma once

#include <boost/test/unit_test.hpp>

#include "gradcheck/gradcheck.hpp"

#define GRADCHECK_CHECK(report) \
  BOOST_CHECK_MESSAGE((report).passed(), "gradient check failed:\n" << (report).table())
#define GRADCHECK_REQUIRE(report) \
  BOOST_REQUIRE_MESSAGE((report).passed(), "gradient check failed:\n" << (report).table())
