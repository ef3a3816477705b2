#include "distributed_replica.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nn/errors.hpp"

namespace nn::detail {

// Synchronized batch norm's sums go through the same group, at the weight of the current shard.
template <class T>
class BatchNormSyncOverGroup final : public BatchNormSync<T> {
 public:
  BatchNormSyncOverGroup(ProcessGroup& group, const double& weight) : group_(group), weight_(weight) {}
  void sum(std::span<T> values) override { group_.sum(values); }
  double weight() const override { return weight_; }

 private:
  ProcessGroup& group_;
  const double& weight_;
};

namespace {

template <class T>
constexpr const char* scalar_name() {
  return sizeof(T) == sizeof(float) ? "float" : "double";
}

std::string shape_text(const ad::Shape& s) { return fmt::format("({})", fmt::join(s, ", ")); }

void broadcast_string(ProcessGroup& group, std::string& s) {
  std::uint64_t n = s.size();
  group.broadcast(std::as_writable_bytes(std::span(&n, 1)), 0);
  s.resize(n);
  group.broadcast(std::as_writable_bytes(std::span(s.data(), s.size())), 0);
}

template <class T>
void broadcast_tensor(ProcessGroup& group, ad::Tensor<T>& t) {
  group.broadcast(std::as_writable_bytes(std::span(t.data(), t.size())), 0);
}

}  // namespace

template <class T>
Replica<T>::Replica(const DataParallel& parallel)
    : group_(*parallel.group), batch_norm_(parallel.batch_norm), rank_(group_.rank()), size_(group_.size()) {
  if (size_ < 1 || rank_ < 0 || rank_ >= size_)
    throw ConfigError(fmt::format("data parallel: rank {} of a group of {} processes", rank_, size_));
}

template <class T>
Replica<T>::~Replica() {
  for (auto* s : synchronized_) s->sync = nullptr;
}

template <class T>
void Replica<T>::agree(const std::vector<std::string>& lines, const std::string& what) {
  // Rank 0's lines go to every process; each process sums its verdict into its own slot (0: same,
  // k: first differing line k−1 or a different count), so that every process refuses alike.
  std::string joined = fmt::format("{}", fmt::join(lines, "\n"));
  std::string reference = joined;
  broadcast_string(group_, reference);
  std::vector<std::string> theirs;
  for (std::size_t a = 0, b; a <= reference.size(); a = b + 1) {
    b = std::min(reference.find('\n', a), reference.size());
    theirs.push_back(reference.substr(a, b - a));
  }
  std::size_t differs = 0;  // 1 + the first differing line
  for (std::size_t k = 0; k < std::max(lines.size(), theirs.size()) && !differs; ++k)
    if (k >= lines.size() || k >= theirs.size() || lines[k] != theirs[k]) differs = k + 1;
  std::vector<double> verdicts(std::size_t(size_), 0.0);
  verdicts[std::size_t(rank_)] = double(differs);
  group_.sum(std::span(verdicts));
  std::vector<int> others;
  for (int r = 0; r < size_; ++r)
    if (verdicts[std::size_t(r)] != 0) others.push_back(r);
  if (others.empty()) return;
  auto line = [](const std::vector<std::string>& v, std::size_t k) {
    return k < v.size() ? v[k] : std::string("(nothing: fewer lines)");
  };
  if (differs)
    throw ConfigError(fmt::format("data parallel: the {} of this process (rank {}) differs from rank 0's: "
                                  "rank 0 has \"{}\", rank {} has \"{}\" (every process must run the same set-up)",
                                  what, rank_, line(theirs, differs - 1), rank_, line(lines, differs - 1)));
  const std::size_t k = std::size_t(verdicts[std::size_t(others.front())]) - 1;
  throw ConfigError(fmt::format("data parallel: the {} of rank(s) {} differs from rank {}'s, first at \"{}\" "
                                "(every process must run the same set-up)",
                                what, fmt::join(others, ", "), rank_, line(lines, k)));
}

template <class T>
void Replica<T>::check_data(const Sequential<T>& model, const Dataset<T>& train, std::size_t batch_size) {
  agree({fmt::format("training examples: {}", train.size()), fmt::format("features: {}", train.features()),
         fmt::format("outputs: {}", train.outputs())},
        "training set");
  bool has_batch_norm = false;
  for (std::size_t i = 0; i < model.size(); ++i) has_batch_norm |= model.layer(i).kind() == LayerKind::batch_norm;
  // The smallest mini-batch is the last one (or the only one); its smallest shard is rank 0's.
  const std::size_t m = train.size(), last = m % batch_size ? m % batch_size : std::min(m, batch_size);
  const std::size_t smallest = last / std::size_t(size_), needed = has_batch_norm ? 2 : 1;
  if (smallest < needed)
    throw ConfigError(fmt::format("data parallel: {} processes split a mini-batch of {} examples ({} examples in "
                                  "batches of {}) into shards of {}, but {} needs at least {} per process: choose "
                                  "another batch size or fewer processes",
                                  size_, last, m, batch_size, smallest, has_batch_norm ? "batch norm" : "training",
                                  needed));
}

template <class T>
void Replica<T>::attach(Sequential<T>& model, ad::Tape<T>& tape, Loss loss, const Optimizer<T>& optimizer,
                        const TrainOptions& options) {
  params_ = model.parameters();
  auto buffers = model.buffers();
  auto architecture = model.spec();
  architecture.erase("seed");  // the initial weights are rank 0's whatever each process drew
  std::vector<std::string> lines{
      fmt::format("scalar type: {}", scalar_name<T>()),
      fmt::format("processes: {}", size_),
      fmt::format("batch norm statistics: {}",
                  batch_norm_ == BatchNormStatistics::synchronized ? "synchronized" : "per_process"),
      fmt::format("loss: {}", to_string(loss)),
      fmt::format("epochs: {}", options.epochs),
      fmt::format("batch size: {}", options.batch_size),
      fmt::format("seed: {}", options.seed),
      fmt::format("shuffle: {}", options.shuffle),
      fmt::format("l2: {}", options.l2),
      fmt::format("patience: {}, min_delta: {}", options.patience, options.min_delta),
      fmt::format("optimizer: {}", optimizer.config().dump()),
      fmt::format("model: {}", architecture.dump()),
      fmt::format("parameters: {}", params_.size()),
  };
  for (auto* p : params_) lines.push_back(fmt::format("parameter {}: {}", p->name, shape_text(ad::shape_of(p->value))));
  for (auto& b : buffers) lines.push_back(fmt::format("buffer {}: {}", b.name, shape_text(ad::shape_of(*b.value))));
  agree(lines, "model or training set-up");

  for (auto* p : params_) broadcast_tensor(group_, p->value);
  for (auto& b : buffers) broadcast_tensor(group_, *b.value);
  // Dropout draws a mask per shard: each process its own stream (rank 0 keeps one process's).
  tape.seed(options.seed ^ (std::uint64_t(rank_) * 0x9e3779b97f4a7c15ULL));

  for (auto* s : synchronized_) s->sync = nullptr;
  synchronized_.clear();
  averaged_buffers_.clear();
  if (batch_norm_ == BatchNormStatistics::synchronized) {
    if (!sync_) sync_ = std::make_unique<BatchNormSyncOverGroup<T>>(group_, weight_);
    for (std::size_t i = 0; i < model.size(); ++i)
      if (model.layer(i).kind() == LayerKind::batch_norm) {
        auto& state = static_cast<BatchNorm<T>&>(model.layer(i)).state();
        state.sync = sync_.get();
        synchronized_.push_back(&state);
      }
  } else {
    for (auto& b : buffers) averaged_buffers_.push_back(b.value);
  }
  std::size_t n = 1;  // the cost
  for (auto* p : params_) n += p->value.size();
  for (auto* b : averaged_buffers_) n += b->size();
  fused_.assign(n, T(0));
}

template <class T>
std::span<const std::size_t> Replica<T>::shard(std::span<const std::size_t> batch) {
  const std::size_t m = batch.size(), N = std::size_t(size_), r = std::size_t(rank_);
  const std::size_t begin = r * m / N, end = (r + 1) * m / N;
  if (begin == end)
    throw ConfigError(fmt::format("data parallel: a mini-batch of {} examples leaves rank {} of {} processes no "
                                  "example",
                                  m, rank_, size_));
  weight_ = double(end - begin) / double(m);
  return batch.subspan(begin, end - begin);
}

template <class T>
double Replica<T>::reduce(double cost) {
  const T w = T(weight_);
  T* out = fused_.data();
  auto pack = [&](const ad::Tensor<T>& t) {
    const T* in = t.data();
    for (std::size_t i = 0, n = t.size(); i < n; ++i) out[i] = w * in[i];
    out += t.size();
  };
  for (auto* p : params_) pack(p->grad);
  for (auto* b : averaged_buffers_) pack(*b);
  *out = w * T(cost);
  group_.sum(std::span(fused_));
  const T* in = fused_.data();
  auto unpack = [&](ad::Tensor<T>& t) {
    std::copy(in, in + t.size(), t.data());
    in += t.size();
  };
  for (auto* p : params_) unpack(p->grad);
  for (auto* b : averaged_buffers_) unpack(*b);
  return double(*in);
}

template <class T>
std::size_t Replica<T>::sum(std::size_t count) {
  double c = double(count);  // exact below 2^53
  group_.sum(std::span(&c, 1));
  return std::size_t(c);
}

template class Replica<float>;
template class Replica<double>;

}  // namespace nn::detail
