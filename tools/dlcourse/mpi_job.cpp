#include "mpi_job.hpp"

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include <nn/errors.hpp>

namespace dlcourse {
namespace {

// The size of the job the launcher says this process belongs to (1 when no launcher says).
int launcher_job_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(name)) return std::atoi(v);
  }
  return 1;
}

#ifdef DLCOURSE_WITH_MPI
std::unique_ptr<nn::MpiWorld>& world() {
  static std::unique_ptr<nn::MpiWorld> w;
  return w;
}
#endif

}  // namespace

bool started_by_mpi_launcher() { return launcher_job_size() > 1; }

MpiJob* mpi_job() {
  if (!started_by_mpi_launcher()) return nullptr;
#ifdef DLCOURSE_WITH_MPI
  if (!world()) world() = std::make_unique<nn::MpiWorld>();
  return world().get();
#else
  throw nn::ConfigError(
      "dlcourse was built without MPI (meson's feature 'mpi' found no MPI), so under mpirun each of its " +
      std::to_string(launcher_job_size()) +
      " processes would do all the work alone and write the same files: rebuild with MPI (scripts/setup.sh "
      "installs Open MPI) or run one process");
#endif
}

MpiJob* joined_mpi_job() {
#ifdef DLCOURSE_WITH_MPI
  return world().get();
#else
  return nullptr;
#endif
}

void end_with_agreed_error(const std::exception& error, bool printer) {
  if (printer) std::cerr << "dlcourse: " << error.what() << std::endl;
  throw CLI::RuntimeError(1);
}

void end_mpi_job_after_error(int code) {
#ifdef DLCOURSE_WITH_MPI
  if (world() && world()->size() > 1) world()->abort(code);
#else
  (void)code;
#endif
}

}  // namespace dlcourse
