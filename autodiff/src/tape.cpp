#include "autodiff/tape.hpp"

#include <atomic>
#include <cmath>
#include <mutex>

namespace ad {

std::string format_site(const std::source_location& where) {
  std::string_view file = where.file_name();
  // Keep "dir/file.cpp": enough to find it, short enough to read.
  auto slash = file.rfind('/');
  if (slash != std::string_view::npos && slash > 0) {
    auto previous = file.rfind('/', slash - 1);
    if (previous != std::string_view::npos) file.remove_prefix(previous + 1);
  }
  return fmt::format("{}:{}", file, where.line());
}

std::string site_suffix(const std::source_location& where) { return fmt::format(" (at {})", format_site(where)); }

namespace {

// Which tapes are alive, read without a lock. Each live tape holds a slot whose atomic holds the
// tape's serial (unique for the process); a released tape clears its slot, which a later tape may
// reuse under a new serial. A Var holds its tape's slot and serial, so it is live exactly when its
// slot still holds its serial: one atomic load, cheap enough for a training loop's Var::value().
// Slots live in chunks that are never freed, so any Var can read its slot at any time.
constexpr std::uint32_t slots_per_chunk = 1024, max_chunks = 4096;
std::atomic<std::atomic<std::uint64_t>*> slot_chunks[max_chunks];
std::mutex slot_mutex;  // taken by tape construction and destruction only
std::uint32_t slots_used = 0;
std::vector<std::uint32_t>& free_slots() {
  static std::vector<std::uint32_t> slots;
  return slots;
}
std::atomic<std::uint64_t> next_serial{1};

std::atomic<std::uint64_t>& slot_at(std::uint32_t slot) {
  return slot_chunks[slot / slots_per_chunk].load(std::memory_order_acquire)[slot % slots_per_chunk];
}

std::uint32_t acquire_slot(std::uint64_t serial) {
  std::lock_guard lock(slot_mutex);
  std::uint32_t slot;
  if (!free_slots().empty()) {
    slot = free_slots().back();
    free_slots().pop_back();
  } else {
    if (slots_used == slots_per_chunk * max_chunks)
      throw TapeError(fmt::format("Tape: more than {} tapes alive at once", slots_per_chunk * max_chunks));
    slot = slots_used++;
    if (slot % slots_per_chunk == 0)
      slot_chunks[slot / slots_per_chunk].store(new std::atomic<std::uint64_t>[slots_per_chunk](),
                                                std::memory_order_release);
  }
  slot_at(slot).store(serial, std::memory_order_release);
  return slot;
}

void release_slot(std::uint32_t slot) {
  std::lock_guard lock(slot_mutex);
  slot_at(slot).store(0, std::memory_order_release);
  free_slots().push_back(slot);
}

bool is_live(std::uint32_t slot, std::uint64_t serial) {
  return slot_at(slot).load(std::memory_order_acquire) == serial;
}

thread_local bool grad_mode = true;

template <class T>
bool all_finite(const Tensor<T>& t) {
  for (T x : t)
    if (!std::isfinite(x)) return false;
  return true;
}

}  // namespace

void throw_attrs_mismatch(const char* op) {
  throw TapeError(fmt::format("{}: its attributes are read as another type than the one recorded", op));
}

bool grad_enabled() { return grad_mode; }
NoGrad::NoGrad() : previous_(grad_mode) { grad_mode = false; }
NoGrad::~NoGrad() { grad_mode = previous_; }

template <class T>
Tape<T>::Tape() : serial_(next_serial++), slot_(acquire_slot(serial_)) {}

template <class T>
Tape<T>::~Tape() {
  release_slot(slot_);
}

template <class T>
void Tape<T>::check_owns(const Var<T>& v, const char* op) const {
  if (!v.valid()) throw TapeError(fmt::format("{}: operand is an empty Var (default-constructed)", op));
  if (v.serial() == serial_) return;
  if (!is_live(v.slot(), v.serial()))
    throw TapeError(fmt::format("{}: operand node #{} belongs to a tape that was released", op, v.index()));
  // Name the stray operand from its own (live) tape, so the user can find where it was made.
  const Tape& other = *v.raw_tape();
  throw TapeError(fmt::format("{}: operands belong to different tapes: {} is {}, made on another tape{}", op,
                              other.describe(v.index()), to_string(shape_of(other.value(v.index()))),
                              other.site(v.index())));
}

template <class T>
Tape<T>& Var<T>::tape() const {
  return tape("Var");
}

template <class T>
Tape<T>& Var<T>::tape(const char* op) const {
  if (!tape_) throw TapeError(fmt::format("{}: empty handle (default-constructed Var)", op));
  if (!is_live(slot_, serial_))
    throw TapeError(fmt::format("{}: node #{} belongs to a tape that was released", op, index_));
  return *tape_;
}

template <class T>
Var<T>& Var<T>::named(std::string name) {
  tape().node(index_).name = std::move(name);
  return *this;
}

template <class T>
std::uint32_t Tape<T>::push_leaf(NodeKind kind, std::string name, std::source_location where) {
  Node<T>& n = nodes_.emplace_back();
  n.kind = kind;
  n.name = std::move(name);
  n.where = where;
  return static_cast<std::uint32_t>(nodes_.size() - 1);
}

template <class T>
Var<T> Tape<T>::parameter(Parameter<T>& p, std::source_location where) {
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (params_[i] == &p) return Var<T>(this, param_nodes_[i]);
  for (const Parameter<T>* other : params_)
    if (other->name == p.name)
      throw TapeError(
          fmt::format("parameter: two different parameters are both named '{}'{}", p.name, site_suffix(where)));
  auto index = push_leaf(NodeKind::parameter, p.name, where);
  nodes_[index].param = &p;
  // Not `&& grad_mode`: the leaf is shared by every later use, and a parameter first entered under
  // NoGrad (an evaluation) must still train when used with grad on. Operations recorded under
  // NoGrad need no gradient anyway (record() ignores their parents then).
  nodes_[index].needs_grad = p.trainable;
  params_.push_back(&p);
  param_nodes_.push_back(index);
  return Var<T>(this, index);
}

template <class T>
Var<T> Tape<T>::input(std::string name, Tensor<T> initial, std::source_location where) {
  auto index = push_leaf(NodeKind::input, std::move(name), where);
  nodes_[index].value = std::move(initial);
  return Var<T>(this, index);
}

template <class T>
Var<T> Tape<T>::constant(Tensor<T> value, std::string name, std::source_location where) {
  auto index = push_leaf(NodeKind::constant, std::move(name), where);
  nodes_[index].value = std::move(value);
  return Var<T>(this, index);
}

template <class T>
Tensor<T>& Tape<T>::input_buffer(Var<T> input, Shape shape) {
  check_owns(input, "feed");
  Node<T>& n = nodes_[input.index()];
  if (n.kind != NodeKind::input)
    throw TapeError(fmt::format("feed: {} is not an input placeholder", describe(input.index())));
  if (shape_of(n.value) != shape) {
    ensure_shape(n.value, shape);
    mark_stale(first_consumer(input.index()), input.index());
  }
  return n.value;
}

template <class T>
void Tape<T>::feed(Var<T> input, const Tensor<T>& value) {
  Tensor<T>& buffer = input_buffer(input, shape_of(value));
  std::copy(value.begin(), value.end(), buffer.begin());
}

template <class T>
std::uint32_t Tape<T>::record(const OpDef<T>& op, std::vector<std::uint32_t> parents, std::source_location where,
                              OpAttrs attrs) {
  Node<T>& n = nodes_.emplace_back();
  n.op = &op;
  n.parents = std::move(parents);
  n.where = where;
  n.attributes = attrs;
  if (grad_mode)
    for (auto p : n.parents) n.needs_grad = n.needs_grad || nodes_[p].needs_grad;
  auto index = static_cast<std::uint32_t>(nodes_.size() - 1);
  try {
    run_forward(n, index);
  } catch (...) {
    nodes_.pop_back();  // a rejected operation leaves the tape as it was
    throw;
  }
  return index;
}

template <class T>
void Tape<T>::run_forward(Node<T>& n, std::uint32_t index) {
  n.op->forward(*this, n);
  if (anomaly_) check_forward_anomaly(index);
}

template <class T>
void Tape<T>::forward() {
  if (anomaly_)
    for (std::uint32_t i = 0; i < nodes_.size(); ++i)
      if (!nodes_[i].op) check_forward_anomaly(i);
  replay(0);
}

template <class T>
void Tape<T>::forward(std::uint32_t from) {
  replay(from);
}

template <class T>
void Tape<T>::replay(std::uint32_t from) {
  std::uint32_t i = from;
  try {
    for (; i < nodes_.size(); ++i)
      if (nodes_[i].op) run_forward(nodes_[i], i);
  } catch (...) {
    // Nodes i.. still hold the previous run's values, maybe of other shapes; when this run covered
    // the earlier stale nodes, those before i are now up to date and node i is the one to blame.
    if (from <= stale_from_) {
      stale_from_ = i;
      stale_cause_ = i;
    }
    throw;
  }
  if (from <= stale_from_) stale_from_ = not_stale;
}

template <class T>
void Tape<T>::mark_stale(std::uint32_t from, std::uint32_t cause) {
  if (from > stale_from_) return;
  stale_from_ = from;
  stale_cause_ = cause;
}

// A backward over nodes whose values do not fit their inputs' shapes would hand BLAS and the loops
// buffers of the wrong size: refused instead.
template <class T>
void Tape<T>::check_not_stale(std::uint32_t root) const {
  if (root < stale_from_) return;
  const Node<T>& cause = nodes_[stale_cause_];
  if (cause.kind == NodeKind::input)
    throw TapeError(
        fmt::format("backward: input {} was fed a new shape {} after the last forward(); run forward() "
                    "before backward(){}",
                    describe(stale_cause_), to_string(shape_of(cause.value)), site(stale_cause_)));
  throw TapeError(
      fmt::format("backward: the last forward() stopped at {} (node {}), so the values from there on "
                  "are out of date; run forward() successfully before backward(){}",
                  cause.op->name, describe(stale_cause_), site(stale_cause_)));
}

template <class T>
std::uint32_t Tape<T>::first_consumer(std::uint32_t index) const {
  for (std::uint32_t i = index + 1; i < nodes_.size(); ++i)
    for (auto p : nodes_[i].parents)
      if (p == index) return i;
  return static_cast<std::uint32_t>(nodes_.size());
}

template <class T>
GradSink<T> Tape<T>::sink(std::uint32_t index) {
  Node<T>& n = nodes_[index];
  Tensor<T>& g = n.kind == NodeKind::parameter ? n.param->grad : n.grad;
  bool first = !n.grad_written;
  if (first) {
    ensure_shape(g, shape_of(value(index)));
    n.grad_written = true;
  }
  return GradSink<T>(g, first);
}

template <class T>
void Tape<T>::backward(Var<T> cost) {
  check_owns(cost, "backward");
  const Shape s = shape_of(value(cost.index()));
  if (s != Shape{1, 1})
    throw TapeError(
        fmt::format("backward: {} is {}, not a scalar (1, 1); pass a seed of that shape to "
                    "backward(output, seed){}",
                    describe(cost.index()), to_string(s), site(cost.index())));
  check_not_stale(cost.index());
  sweep(cost.index(), nullptr);
}

template <class T>
void Tape<T>::backward(Var<T> output, const Tensor<T>& seed) {
  check_owns(output, "backward");
  const std::uint32_t root = output.index();
  if (shape_of(seed) != shape_of(value(root)))
    throw ShapeError(fmt::format("backward: seed is {} but {} is {}", to_string(shape_of(seed)), describe(root),
                                 to_string(shape_of(value(root)))));
  if (anomaly_ && !all_finite(seed))
    throw AnomalyError(fmt::format("backward: the seed of {} contains NaN or Inf", describe(root)));
  check_not_stale(root);
  sweep(root, &seed);
}

// The reverse sweep from `root`, seeded with `seed` (null: a scalar seed of 1, without allocating).
template <class T>
void Tape<T>::sweep(std::uint32_t root, const Tensor<T>* seed) {
  for (auto& n : nodes_) n.grad_written = false;
  if (nodes_[root].needs_grad) {
    GradSink<T> s = sink(root);
    if (seed) {
      const T* from = seed->data();
      s.each([from](std::size_t i) { return from[i]; });
    } else {
      s.fill(T(1));
    }
  }
  for (std::uint32_t i = root + 1; i-- > 0;) {
    Node<T>& n = nodes_[i];
    if (!n.op || !n.grad_written) continue;
    n.op->backward(*this, n);
    if (anomaly_) check_backward_anomaly(i);
  }
  // A parameter the sweep did not reach gets exactly zero, never a stale gradient.
  for (std::size_t k = 0; k < params_.size(); ++k)
    if (!nodes_[param_nodes_[k]].grad_written) params_[k]->zero_grad();
}

template <class T>
void Tape<T>::backward_alone(std::uint32_t index, const Tensor<T>& grad) {
  Node<T>& n = nodes_[index];
  if (!n.op) throw TapeError(fmt::format("backward_alone: {} is not an operation", describe(index)));
  if (shape_of(grad) != shape_of(n.value))
    throw ShapeError(fmt::format("backward_alone: the gradient is {} but {} is {}", to_string(shape_of(grad)),
                                 describe(index), to_string(shape_of(n.value))));
  for (auto p : n.parents) nodes_[p].grad_written = false;
  n.grad = grad;
  n.grad_written = true;
  n.op->backward(*this, n);
}

template <class T>
void Tape<T>::zero_grad() {
  for (auto* p : params_) p->zero_grad();
  for (auto& n : nodes_) n.grad_written = false;
}

template <class T>
const Tensor<T>& Tape<T>::value(std::uint32_t index) const {
  const Node<T>& n = nodes_[index];
  return n.kind == NodeKind::parameter ? n.param->value : n.value;
}

template <class T>
Tensor<T>& Tape<T>::value(std::uint32_t index) {
  Node<T>& n = nodes_[index];
  return n.kind == NodeKind::parameter ? n.param->value : n.value;
}

template <class T>
const Tensor<T>& Tape<T>::grad(std::uint32_t index) {
  Node<T>& n = nodes_[index];
  Tensor<T>& g = n.kind == NodeKind::parameter ? n.param->grad : n.grad;
  if (!n.grad_written) {
    ensure_shape(g, shape_of(value(index)));
    g.fill(T(0));
  }
  return g;
}

template <class T>
std::uint32_t Tape<T>::index_of(const Parameter<T>& p) const {
  for (std::size_t k = 0; k < params_.size(); ++k)
    if (params_[k] == &p) return param_nodes_[k];
  return static_cast<std::uint32_t>(nodes_.size());
}

template <class T>
bool Tape<T>::reached(const Parameter<T>& p) const {
  for (std::size_t k = 0; k < params_.size(); ++k)
    if (params_[k] == &p) return nodes_[param_nodes_[k]].grad_written;
  return false;
}

template <class T>
std::string Tape<T>::describe(std::uint32_t index) const {
  const Node<T>& n = nodes_[index];
  if (!n.name.empty()) return n.name;
  switch (n.kind) {
    case NodeKind::operation: return fmt::format("{}#{}", n.op->name, index);
    case NodeKind::input: return fmt::format("input#{}", index);
    case NodeKind::constant: return fmt::format("constant#{}", index);
    case NodeKind::parameter: return fmt::format("parameter#{}", index);
  }
  return "?";
}

template <class T>
std::string Tape<T>::site(std::uint32_t index) const {
  return site_suffix(nodes_[index].where);
}

template <class T>
void Tape<T>::branches(std::vector<std::uint8_t>& out) const {
  out.clear();
  for (const auto& n : nodes_)
    if (n.op && n.op->branches) n.op->branches(*this, n, out);
}

template <class T>
bool Tape<T>::has_branches() const {
  for (const auto& n : nodes_)
    if (n.op && n.op->branches) return true;
  return false;
}

template <class T>
void Tape<T>::check_forward_anomaly(std::uint32_t index) const {
  if (all_finite(value(index))) return;
  const Node<T>& n = nodes_[index];
  if (!n.op)
    throw AnomalyError(fmt::format("anomaly: {} {} holds NaN or Inf before any operation{}",
                                   n.kind == NodeKind::parameter ? "parameter" : "input", describe(index),
                                   site(index)));
  std::string inputs;
  for (auto p : n.parents)
    inputs += fmt::format("{}{} {}", inputs.empty() ? "" : ", ", describe(p), to_string(shape_of(value(p))));
  throw AnomalyError(
      fmt::format("anomaly: forward of {} (node {}) produced NaN or Inf in its output {}; "
                  "inputs: {}{}",
                  n.op->name, describe(index), to_string(shape_of(value(index))), inputs, site(index)));
}

template <class T>
void Tape<T>::check_backward_anomaly(std::uint32_t index) const {
  const Node<T>& n = nodes_[index];
  for (std::size_t k = 0; k < n.parents.size(); ++k) {
    const Node<T>& p = nodes_[n.parents[k]];
    if (!p.grad_written || all_finite(grad_of(p))) continue;
    throw AnomalyError(fmt::format(
        "anomaly: backward of {} (node {}) produced NaN or Inf in the gradient of "
        "its input {} ({} {}){}",
        n.op->name, describe(index), k, describe(n.parents[k]), to_string(shape_of(value(n.parents[k]))), site(index)));
  }
}

template class Tape<float>;
template class Tape<double>;
template class Var<float>;
template class Var<double>;

}  // namespace ad
