// A search over the processes of `mpirun -np N` (library nn_mpi; docs/distributed.md). Rank 0
// owns the scheduler and the results file; every rank, rank 0 included, runs options.workers trials
// at once (one BLAS thread each) with run_search's worker loop. The other ranks ask rank 0 for jobs
// and send their records back (point-to-point messages carrying the results file's JSON), so the
// results file is rank 0's alone and a finished job is on disk (fsync'ed) as soon as rank 0 has it.
//
// Every job's record depends only on the job: a promoted ASHA trial that lands on a rank without
// its model replays its earlier rungs' fits first (TrialJob::earlier_budgets), so its record is
// the same bits as on the rank that kept the model. Random and coarse-to-fine searches therefore
// write the same records whatever N and the workers are (up to wall times and line order); ASHA
// writes the same rung-0 records, and the same record for every (trial, rung) both runs promoted.
#pragma once

#include <functional>

#include "nn/distributed.hpp"
#include "nn/search_runner.hpp"

namespace nn {

// Runs `step` on every rank of `world`, then agrees: when it threw on any rank, every rank throws —
// the lowest failing rank its own exception, the others the same type (ConfigError, DataError or
// CheckpointError; others as ConfigError) with "rank r: " before its message. A collective call,
// so that an error on one rank ends the job instead of leaving the others waiting for it.
void on_every_rank(MpiWorld& world, const std::function<void()>& step);

// Collective: every rank calls it with the same search (scheduler identity; refused on every rank
// otherwise), its own trial function and workers. options.results_path, on_record and the returned
// records matter on rank 0 only (the other ranks return an empty result). A results file that
// cannot be opened or written, on rank 0, is thrown on every rank (on_every_rank). options.stop:
// set on a rank (Ctrl-C, SIGTERM), that rank starts no more jobs; set on rank 0, no rank does.
SearchResult run_distributed_search(MpiWorld& world, Scheduler& scheduler, const TrialFunction& trial,
                                    const RunOptions& options);

}  // namespace nn
