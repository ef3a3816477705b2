// One process's side of data-parallel training (nn/data_parallel.hpp), used by Trainer through a
// handful of calls; no MPI here, only a ProcessGroup.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "nn/data_parallel.hpp"
#include "nn/trainer.hpp"

namespace nn::detail {

template <class T>
class BatchNormSyncOverGroup;

template <class T>
class Replica {
 public:
  explicit Replica(const DataParallel& parallel);
  ~Replica();  // unlinks the batch-norm layers it synchronized (the model outlives the trainer)

  bool root() const { return rank_ == 0; }

  // The λ of this process's L2 term: rank 0's shard weight m_0/m turns its λ/(2m_0)‖W‖² into the
  // global λ/(2m)‖W‖²; the others add none (each would count it once more).
  double l2_share(double l2) const { return root() ? l2 : 0.0; }

  // fit, before the first step (collective): the training set has the same size on every process,
  // and every global mini-batch leaves each process at least one example (two with batch norm).
  void check_data(const Sequential<T>& model, const Dataset<T>& train, std::size_t batch_size);

  // After the trainer recorded its graph (collective): checks that every process has the same
  // model, loss, optimizer and options (ConfigError on every process, naming the difference),
  // broadcasts rank 0's parameters and buffers, gives each process its own dropout stream and
  // links synchronized batch norm.
  void attach(Sequential<T>& model, ad::Tape<T>& tape, Loss loss, const Optimizer<T>& optimizer,
              const TrainOptions& options);

  // This process's part of a global mini-batch: [r·m/N, (r+1)·m/N). Remembers its weight m_r/m.
  std::span<const std::size_t> shard(std::span<const std::size_t> batch);

  // After backward: one fused sum over the processes of (weighted) gradients, the running
  // statistics of per-process batch norm and the cost. Returns the global batch's cost; every
  // gradient is then the one of one process on the whole batch. Allocates nothing.
  double reduce(double cost);

  // A count summed over the processes (correct predictions of an epoch).
  std::size_t sum(std::size_t count);

 private:
  // Refuses (ConfigError on every process) when a process's lines differ from rank 0's.
  void agree(const std::vector<std::string>& lines, const std::string& what);

  ProcessGroup& group_;
  BatchNormStatistics batch_norm_;
  int rank_, size_;
  double weight_ = 1;  // m_r / m of the current mini-batch
  std::vector<ad::Parameter<T>*> params_;
  std::vector<ad::Tensor<T>*> averaged_buffers_;  // per-process batch norm's running statistics
  std::vector<T> fused_;                          // the one buffer of reduce()
  std::unique_ptr<BatchNormSyncOverGroup<T>> sync_;
  std::vector<BatchNormState<T>*> synchronized_;
};

extern template class Replica<float>;
extern template class Replica<double>;

}  // namespace nn::detail
