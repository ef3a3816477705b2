// The MPI job dlcourse runs in when `mpirun -np N dlcourse …` started it. Without a launcher it is
// one process, as without MPI. A dlcourse built without MPI refuses to run under a launcher: each
// of its N processes would otherwise do the whole work alone and write the same files.
#pragma once

#include <nn/data_parallel.hpp>

#ifdef DLCOURSE_WITH_MPI
#include <nn/distributed.hpp>
#endif

namespace dlcourse {

#ifdef DLCOURSE_WITH_MPI
using MpiJob = nn::MpiWorld;
#else
using MpiJob = nn::ProcessGroup;  // (never one: without MPI there is no job to join)
#endif

// Whether an MPI launcher (Open MPI's mpirun, or any PMI/PMIx one) started this process in a job of
// more than one process.
bool started_by_mpi_launcher();

// The job's process group (MPI initialized on first call, finalized at exit), or null when this is
// one process. Throws ConfigError under a launcher when dlcourse was built without MPI.
MpiJob* mpi_job();

// The job's process group if mpi_job() has joined it, else null (never initializes MPI).
MpiJob* joined_mpi_job();

// After an error that every process of the job has (agreed by nn::on_every_rank or
// run_distributed_search): `printer` (process 0) prints it once as one process would, and every
// process ends with status 1 (CLI::RuntimeError), normally, without aborting the job.
[[noreturn]] void end_with_agreed_error(const std::exception& error, bool printer);

// After an error on this process alone: in a job of several processes, ends them all with `code` (the
// others may be waiting for this one in a collective); otherwise returns.
void end_mpi_job_after_error(int code);

}  // namespace dlcourse
