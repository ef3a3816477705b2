#include "nn/distributed.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>

#include <mpi.h>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {

namespace {

// MPI counts are int: larger spans go in pieces.
template <class T, class F>
void in_pieces(std::span<T> values, F&& f) {
  constexpr std::size_t most = INT_MAX;
  for (std::size_t at = 0; at < values.size(); at += most) f(values.subspan(at, std::min(most, values.size() - at)));
}

}  // namespace

MpiWorld::MpiWorld() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // Only the calling thread talks to MPI (the trainer's BLAS threads do not).
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    owns_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiWorld::~MpiWorld() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_ && !finalized) MPI_Finalize();
}

void MpiWorld::sum(std::span<float> values) {
  in_pieces(values, [](std::span<float> v) {
    MPI_Allreduce(MPI_IN_PLACE, v.data(), int(v.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  });
}

void MpiWorld::sum(std::span<double> values) {
  in_pieces(values, [](std::span<double> v) {
    MPI_Allreduce(MPI_IN_PLACE, v.data(), int(v.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  });
}

void MpiWorld::broadcast(std::span<std::byte> bytes, int root) {
  if (root < 0 || root >= size_)
    throw ConfigError(fmt::format("MpiWorld::broadcast: root {} is not a rank of {} processes", root, size_));
  in_pieces(bytes, [root](std::span<std::byte> v) {
    MPI_Bcast(v.data(), int(v.size()), MPI_BYTE, root, MPI_COMM_WORLD);
  });
}

void MpiWorld::barrier() { MPI_Barrier(MPI_COMM_WORLD); }

void MpiWorld::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();  // MPI_Abort does not return
}

}  // namespace nn
