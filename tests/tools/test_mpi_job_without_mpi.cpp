// dlcourse's MPI job as built without MPI (mpi_job.cpp compiled without DLCOURSE_WITH_MPI): one
// process when no launcher started it; under a launcher's job of several processes, a ConfigError
// that says why, instead of N processes each doing all the work and writing the same files.
#define BOOST_TEST_MODULE mpi job without MPI
#include <boost/test/unit_test.hpp>

#include <cstdlib>

#include <nn/errors.hpp>

#include "mpi_job.hpp"

BOOST_AUTO_TEST_CASE(one_process_without_a_launcher) {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}) ::unsetenv(name);
  BOOST_TEST(!dlcourse::started_by_mpi_launcher());
  BOOST_TEST(dlcourse::mpi_job() == nullptr);
  BOOST_TEST(dlcourse::joined_mpi_job() == nullptr);
  dlcourse::end_mpi_job_after_error(1);  // returns: nothing to end
}

BOOST_AUTO_TEST_CASE(refused_under_a_launcher) {
  ::setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
  BOOST_TEST(dlcourse::started_by_mpi_launcher());
  try {
    dlcourse::mpi_job();
    BOOST_FAIL("no error");
  } catch (const nn::ConfigError& e) {
    BOOST_TEST(std::string(e.what()).find("built without MPI") != std::string::npos, e.what());
    BOOST_TEST(std::string(e.what()).find("each of its 3 processes") != std::string::npos, e.what());
  }
  ::setenv("OMPI_COMM_WORLD_SIZE", "1", 1);  // a job of one process is one process
  BOOST_TEST(dlcourse::mpi_job() == nullptr);
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
}
