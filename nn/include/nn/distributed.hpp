// Data parallelism over MPI (built when meson finds MPI: -Dmpi=auto; nn_mpi_dep). The group of
// every process of an `mpirun -np N` job, for TrainOptions::parallel (nn/data_parallel.hpp).
// This header does not include <mpi.h>.
#pragma once

#include "nn/data_parallel.hpp"

namespace nn {

// MPI_COMM_WORLD as a ProcessGroup. The first MpiWorld of a process initializes MPI (it may
// already be: then it is left to its owner) and finalizes it when destroyed; one per program.
// Failures of MPI end the job (MPI's default error handler), as a rank that dies does.
class MpiWorld final : public ProcessGroup {
 public:
  MpiWorld();
  ~MpiWorld() override;
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(std::span<float> values) override;
  void sum(std::span<double> values) override;
  void broadcast(std::span<std::byte> bytes, int root) override;
  void barrier();
  // Ends every process of the job with `code` (after an error on one process, where the others
  // would wait in a collective forever).
  [[noreturn]] void abort(int code);

 private:
  int rank_ = 0, size_ = 1;
  bool owns_ = false;  // this object initialized MPI
};

}  // namespace nn
