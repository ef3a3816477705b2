// The shape of every planted-bug test: one block fails with the expected diagnosis, the others
// pass. Shared by the gradcheck tests that plant a bug (needs Boost.Test's unit_test.hpp first).
#pragma once

#include <string>

#include <gradcheck/gradcheck.hpp>

// `wrong` alone fails, with `diagnosis` in its diagnosis and next to its name in the table; every
// other block passes. The relative errors read as the course reads them: above 1e-3 for the
// failing block (a bug), below 1e-7 for the others (great).
inline void expect_only(const gc::Report& report, const std::string& wrong, const std::string& diagnosis) {
  BOOST_TEST_MESSAGE(report.table());
  BOOST_TEST(!report.passed());
  for (const auto& b : report.blocks) {
    BOOST_TEST_CONTEXT(b.name) {
      if (b.name == wrong) {
        BOOST_TEST(b.verdict == gc::Verdict::fail);
        BOOST_TEST(b.diagnosis.find(diagnosis) != std::string::npos, "diagnosis: " << b.diagnosis);
        BOOST_TEST(b.relative_error > 1e-3);
      } else {
        BOOST_TEST(b.verdict == gc::Verdict::pass);
        BOOST_TEST(b.relative_error < 1e-7);
      }
    }
  }
  BOOST_TEST(report.table().find(wrong + ": ") != std::string::npos, "the table names " << wrong << "'s diagnosis");
}
