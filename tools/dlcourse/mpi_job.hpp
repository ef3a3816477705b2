// The MPI job dlcourse runs in when `mpirun -np N dlcourse …` started it. Without a launcher it is
// one process, as without MPI. A dlcourse built without MPI refuses to run under a launcher: each
// of its N processes would otherwise do the whole work alone and write the same files.
#pragma once

#include <nn/data_parallel.hpp>

namespace dlcourse {

// Whether an MPI launcher (Open MPI's mpirun, or any PMI/PMIx one) started this process in a job of
// more than one process.
bool started_by_mpi_launcher();

// The job's process group (MPI initialized on first call, finalized at exit), or null when this is
// one process. Throws ConfigError under a launcher when dlcourse was built without MPI.
nn::ProcessGroup* mpi_job();

// The job's process group if mpi_job() has joined it, else null (never initializes MPI).
nn::ProcessGroup* joined_mpi_job();

// After an error on this process: in a job of several processes, ends them all with `code` (the
// others may be waiting for this one in a collective); otherwise returns.
void end_mpi_job_after_error(int code);

}  // namespace dlcourse
