// Data-parallel training: N processes each hold a replica of the model, each trains on its shard
// of every global mini-batch, and one fused sum of the gradients makes every replica take the step
// one process would take on the whole batch. The collectives come from a ProcessGroup: over MPI,
// nn::MpiWorld (nn/distributed.hpp, built when MPI is found); this header needs no MPI.
//
//   nn::MpiWorld world;                                     // MPI_Init … MPI_Finalize
//   nn::TrainOptions options{.batch_size = 128, .parallel = {&world}};
//   nn::Trainer<float> trainer(model, loss, adam, options); // on every rank, same seed
//   auto history = trainer.fit(train, &dev);                // same data on every rank
//   if (world.rank() == 0) nn::save_checkpoint("model.npz", model, &adam);
#pragma once

#include <cstddef>
#include <span>

namespace nn {

// The collectives data parallelism uses, over a fixed group of processes (ranks 0..size()-1).
// Every process calls the same collectives in the same order.
class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Element-wise sum across the group, in place: afterwards every process holds the same sums.
  virtual void sum(std::span<float> values) = 0;
  virtual void sum(std::span<double> values) = 0;
  // Every process receives `root`'s bytes (the same count on every process).
  virtual void broadcast(std::span<std::byte> bytes, int root) = 0;
};

// The mini-batch statistics of batch norm under data parallelism.
enum class BatchNormStatistics {
  // Each process normalizes its shard with the shard's own mean and variance (no communication,
  // as one process training on batches of the shard's size); the running statistics are averaged
  // over the processes (weighted by shard size) at each step, so every replica evaluates alike.
  per_process,
  // The mean and variance of the whole global mini-batch (two small sums per layer forward, one
  // backward): the same training as one process on the whole batch.
  synchronized,
};

// TrainOptions::parallel. With a group, Trainer::step and fit take the *global* mini-batch (the same
// on every process) and train on this process's shard of it: examples [r·m/N, (r+1)·m/N) of the
// batch for rank r. The model (built or not), the data, the optimizer and TrainOptions must be the
// same on every process: the first step checks (one collective) and refuses a mismatch on every
// process with a ConfigError naming it, then broadcasts rank 0's parameters and buffers.
// Only rank 0 prints progress; History is the same on every process. Step callbacks see the
// global batch's indices and cost; the graph's tensors (Trainer::output) hold this process's shard.
struct DataParallel {
  ProcessGroup* group = nullptr;  // null: one process (the default); must outlive the trainer
  BatchNormStatistics batch_norm = BatchNormStatistics::per_process;
};

}  // namespace nn
