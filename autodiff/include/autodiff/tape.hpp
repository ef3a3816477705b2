// The tape: nodes stored in creation order, which is already a topological order. Backward is one
// reverse sweep (no sort, no recursion), and the recorded graph can be replayed: forward() runs
// every operation again on the current values of the inputs and parameters, writing into the
// buffers of the first run, so a training step on a replayed tape allocates nothing.
//
// Ownership: parameters live outside the tape (a model owns them) and outlive it; a tape refers to
// them. The tape owns everything else. Var is a small handle (tape, index) that is checked against
// the tape's lifetime, so using a Var after its tape is gone is an error, not a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <random>
#include <source_location>
#include <string>
#include <type_traits>
#include <vector>

#include "autodiff/errors.hpp"
#include "autodiff/tensor.hpp"

namespace ad {

// A trainable (or frozen) named block, e.g. W[1] or b[1]. Its gradient is written by every
// backward of a tape that uses it: overwritten, not accumulated, and exactly zero when the
// parameter does not reach the cost. Keep parameters at stable addresses (the model owns them).
template <class T>
struct Parameter {
  std::string name;
  Tensor<T> value;
  Tensor<T> grad;
  bool trainable = true;

  Parameter(std::string name_, Tensor<T> value_) : name(std::move(name_)), value(std::move(value_)) {
    grad = xt::zeros<T>(value.shape());
  }
  void zero_grad() {
    ensure_shape(grad, shape_of(value));
    grad.fill(T(0));
  }
};

template <class T>
class Tape;
template <class T>
struct Node;

// How a node computes. Each operation defines one: its shape check, forward and backward side by
// side. The contract an operation must keep (what forward may allocate, how backward writes each
// parent, what survives a replay, what `branches` emits) is written in autodiff/operation_kit.hpp.
template <class T>
struct OpDef {
  const char* name;
  void (*forward)(Tape<T>& tape, Node<T>& node);
  void (*backward)(Tape<T>& tape, Node<T>& node);
  void (*branches)(const Tape<T>& tape, const Node<T>& node, std::vector<std::uint8_t>& out) = nullptr;
};

// An operation's own attributes (an axis, a slope, a transpose flag, a pointer to a layer's state),
// as one typed struct stored inline in its node: trivially copyable, at most `capacity` bytes, so
// recording allocates nothing for it and a replay reads it unchanged. Read back with
// Node::attrs<A>(), which refuses a struct of another type than the one recorded.
class OpAttrs {
 public:
  static constexpr std::size_t capacity = 32;

  OpAttrs() = default;
  template <class A>
    requires std::is_class_v<A>
  OpAttrs(const A& attrs) : type_(&tag<A>) {  // NOLINT: implicit, so that record(..., SliceAttrs{...}) reads well
    static_assert(std::is_trivially_copyable_v<A>,
                  "operation attributes are copied as bytes: keep owned state "
                  "in Node::saved or behind a pointer");
    static_assert(sizeof(A) <= capacity, "operation attributes are stored inline: at most OpAttrs::capacity bytes");
    static_assert(alignof(A) <= alignof(std::max_align_t));
    ::new (static_cast<void*>(bytes_)) A(attrs);
  }
  template <class A>
  bool holds() const {
    return type_ == &tag<A>;
  }
  template <class A>
  const A& get() const {
    return *std::launder(reinterpret_cast<const A*>(bytes_));
  }

 private:
  template <class A>
  static constexpr char tag = 0;  // one address per attribute type: the type check in attrs<A>()
  alignas(std::max_align_t) std::byte bytes_[capacity] = {};
  const void* type_ = nullptr;
};

enum class NodeKind : std::uint8_t { operation, parameter, input, constant };

// Throws TapeError: `op` read attributes of a type it was not recorded with.
[[noreturn]] void throw_attrs_mismatch(const char* op);

template <class T>
struct Node {
  const OpDef<T>* op = nullptr;  // null for leaves
  NodeKind kind = NodeKind::operation;
  bool needs_grad = false;    // some parameter upstream is trainable and grad mode was on
  bool grad_written = false;  // reached by the current backward sweep
  std::vector<std::uint32_t> parents;
  Tensor<T> value;                // unused for parameters: their value is param->value
  Tensor<T> grad;                 // unused for parameters: their gradient is param->grad
  std::vector<Tensor<T>> saved;   // what an operation keeps for its backward (masks, statistics)
  Tensor<T> scratch;              // backward's temporary (a broadcast operand's full-size gradient)
  OpAttrs attributes;             // the operation's typed attributes (see OpAttrs)
  Parameter<T>* param = nullptr;  // for parameter leaves
  std::string name;
  std::source_location where;

  // The attributes recorded with this node, as the type they were recorded with.
  template <class A>
  const A& attrs() const {
    if (!attributes.holds<A>()) throw_attrs_mismatch(op ? op->name : "leaf");
    return attributes.get<A>();
  }
};

template <class T>
class Var;

// Where one parent's gradient goes during a sweep: the only way a backward writes a gradient.
// Every method adds one contribution: the first contribution to a node in a sweep assigns (no zero
// fill needed), later ones accumulate; the choice is made here, never by an operation. Take the
// sink with Tape::sink(parent) on the thread that runs backward (it marks the parent reached).
template <class T>
class GradSink {
 public:
  Shape shape() const { return shape_of(grad_); }
  std::size_t size() const { return grad_.size(); }

  // g[i] ⊕= f(i) over the row-major index.
  template <class F>
  void each(F f) {
    T* g = grad_.data();
    const std::size_t n = grad_.size();
    if (first_)
      for (std::size_t i = 0; i < n; ++i) g[i] = f(i);
    else
      for (std::size_t i = 0; i < n; ++i) g[i] += f(i);
    first_ = false;
  }
  // g(r, c) ⊕= f(r, c).
  template <class F>
  void each_2d(F f) {
    T* g = grad_.data();
    const std::size_t R = grad_.shape()[0], C = grad_.shape()[1];
    auto run = [&]<bool accumulate>() {
      for (std::size_t r = 0; r < R; ++r)
        for (std::size_t c = 0; c < C; ++c) {
          if constexpr (accumulate)
            g[r * C + c] += f(r, c);
          else
            g[r * C + c] = f(r, c);
        }
    };
    if (first_)
      run.template operator()<false>();
    else
      run.template operator()<true>();
    first_ = false;
  }
  // g ⊕= e, an xtensor expression of the gradient's shape (operations written with xtensor).
  template <class E>
  void add(const E& e) {
    if (first_)
      grad_ = e;
    else
      grad_ += e;
    first_ = false;
  }
  // g ⊕= v everywhere.
  void fill(T v) {
    each([v](std::size_t) { return v; });
  }
  // g ⊕= op(a)·op(b) through BLAS (op transposes when its flag is set), into the gradient itself.
  void gemm(const Tensor<T>& a, const Tensor<T>& b, bool transpose_a, bool transpose_b);
  // g ⊕= `full`, an (R, C) gradient summed down to this gradient's broadcast shape: (R, C), (R, 1),
  // (1, C) or (1, 1) (the backward of a broadcasting operation).
  void reduce_from(const T* full, const Shape& full_shape);
  // Element i of one contribution written element by element (e.g. one per row from parallel
  // pieces): call it exactly once per element, and for nothing else on this sink.
  void at(std::size_t i, T v) const {
    T& g = grad_.data()[i];
    g = first_ ? v : g + v;
  }
  // For scattered writes (a slice's window, a concatenation's part): the gradient so far, zero
  // when this is the first contribution, to add into with +=.
  T* accumulator() {
    if (first_) grad_.fill(T(0));
    first_ = false;
    return grad_.data();
  }

 private:
  friend class Tape<T>;
  GradSink(Tensor<T>& grad, bool first) : grad_(grad), first_(first) {}
  Tensor<T>& grad_;
  bool first_;
};

template <class T>
class Tape {
 public:
  Tape();
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  // --- leaves -------------------------------------------------------------------------------
  // A parameter enters the tape once; using it again returns the same node.
  Var<T> parameter(Parameter<T>& p, std::source_location where = std::source_location::current());
  // A placeholder, fed with feed() before each forward() (the course's feed_dict).
  Var<T> input(std::string name, Tensor<T> initial, std::source_location where = std::source_location::current());
  Var<T> constant(Tensor<T> value, std::string name = "", std::source_location where = std::source_location::current());
  // Copies `value` into an input's buffer (no allocation when the shape is unchanged). The shape
  // may change (the last, partial mini-batch); operations check shapes again on forward(), and
  // backward() is refused until a forward() has run on the new shape.
  void feed(Var<T> input, const Tensor<T>& value);
  // The input's buffer itself, to fill in place (e.g. gathering a mini-batch without a copy).
  Tensor<T>& input_buffer(Var<T> input, Shape shape);

  // --- running --------------------------------------------------------------------------------
  // Replays every operation in order on the current input and parameter values. When an operation
  // throws, the nodes from it on keep values of the old shapes: backward() is refused (TapeError
  // naming that operation) until a forward() succeeds.
  void forward();
  // Replays only the operations from node `from` on: enough after changing a leaf whose first
  // consumer is `from` (first_consumer), when every earlier node is up to date.
  void forward(std::uint32_t from);
  // The first operation that reads node `index` (size() when none does).
  std::uint32_t first_consumer(std::uint32_t index) const;
  // One reverse sweep from a (1, 1) cost, seeded with 1. Parameter gradients are overwritten.
  void backward(Var<T> cost);
  // The same from any node, seeded with `seed` of that node's shape.
  void backward(Var<T> output, const Tensor<T>& seed);
  // Sets every parameter gradient of this tape (and every node gradient) to zero.
  void zero_grad();
  // Operation `index`'s own backward alone, with `grad` as its gradient: its parents' gradients
  // start fresh, so afterwards each parent that it wrote (reached(parent)) holds exactly its
  // contribution. The gradient checker compares these with a full sweep's sums over fan-out.
  void backward_alone(std::uint32_t index, const Tensor<T>& grad);

  // --- inspection -----------------------------------------------------------------------------
  const Tensor<T>& value(std::uint32_t index) const;
  Tensor<T>& value(std::uint32_t index);
  // The gradient of the last backward; zero for a node that backward did not reach.
  const Tensor<T>& grad(std::uint32_t index);
  std::size_t size() const { return nodes_.size(); }
  const Node<T>& node(std::uint32_t index) const { return nodes_[index]; }
  Node<T>& node(std::uint32_t index) { return nodes_[index]; }
  // The parameters this tape uses, in order of first use.
  const std::vector<Parameter<T>*>& parameters() const { return params_; }
  // A name for messages: the node's own, or "<op>#<index>".
  std::string describe(std::uint32_t index) const;
  // The node of a parameter on this tape, or size() when the tape does not use it.
  std::uint32_t index_of(const Parameter<T>& p) const;
  // Was the parameter reached by the last backward? (false: its gradient is exactly zero)
  bool reached(const Parameter<T>& p) const;
  // Did the last sweep (or backward_alone) write a gradient to node `index`?
  bool reached(std::uint32_t index) const { return nodes_[index].grad_written; }
  // The branch bytes of every piecewise operation, concatenated (the checker's kink detection).
  void branches(std::vector<std::uint8_t>& out) const;
  bool has_branches() const;

  // --- modes ----------------------------------------------------------------------------------
  // Anomaly mode: every forward output and backward gradient is checked for NaN/Inf, and the
  // first operation that produced one is named in an AnomalyError.
  void set_anomaly_detection(bool on) { anomaly_ = on; }
  bool anomaly_detection() const { return anomaly_; }
  // Frozen: random operations reuse their last draw (dropout masks) and stateful operations leave
  // their state alone (batch-norm running statistics), so repeated forwards are deterministic and
  // side-effect free. Gradient checking runs frozen.
  void set_frozen(bool on) { frozen_ = on; }
  bool frozen() const { return frozen_; }
  std::mt19937_64& rng() { return rng_; }
  void seed(std::uint64_t s) { rng_.seed(s); }

  // --- for operations (ops/*.cpp and user-defined operations) ---------------------------------
  // Appends a node with the operation's attributes (a struct of its own, see OpAttrs) and runs its
  // forward once: record(def, {a.index(), b.index()}, where, SliceAttrs{.axis = 0, ...}). Throws
  // (and appends nothing) when shapes do not fit.
  std::uint32_t record(const OpDef<T>& op, std::vector<std::uint32_t> parents, std::source_location where,
                       OpAttrs attrs = {});
  // Where gradient for `index` goes during a sweep (marks it reached, sizes it on first use).
  GradSink<T> sink(std::uint32_t index);
  bool needs_grad(std::uint32_t index) const { return nodes_[index].needs_grad; }
  const Tensor<T>& grad_of(const Node<T>& n) const { return n.kind == NodeKind::parameter ? n.param->grad : n.grad; }
  // Throws TapeError if this Var's tape was released or is not this tape.
  void check_owns(const Var<T>& v, const char* op) const;
  std::uint64_t serial() const { return serial_; }
  std::uint32_t slot() const { return slot_; }  // where its liveness is kept (see Var)
  // "(at file.cpp:42)"-style suffix for messages about node `index`.
  std::string site(std::uint32_t index) const;

 private:
  void run_forward(Node<T>& n, std::uint32_t index);
  void sweep(std::uint32_t root, const Tensor<T>* seed);
  void check_forward_anomaly(std::uint32_t index) const;
  void check_backward_anomaly(std::uint32_t index) const;
  void replay(std::uint32_t from);
  void mark_stale(std::uint32_t from, std::uint32_t cause);
  void check_not_stale(std::uint32_t root) const;
  std::uint32_t push_leaf(NodeKind kind, std::string name, std::source_location where);

  std::vector<Node<T>> nodes_;
  std::vector<Parameter<T>*> params_;
  std::vector<std::uint32_t> param_nodes_;
  std::uint64_t serial_;
  std::uint32_t slot_;
  bool anomaly_ = false;
  bool frozen_ = false;
  std::mt19937_64 rng_{0x5eed};
  // Nodes from stale_from_ on may not match their inputs' shapes (a failed forward, or an input fed
  // a new shape since the last forward); stale_cause_ is that operation or input. not_stale: none.
  static constexpr std::uint32_t not_stale = UINT32_MAX;
  std::uint32_t stale_from_ = not_stale;
  std::uint32_t stale_cause_ = 0;
};

// A handle to a node: cheap to copy, checked against its tape's lifetime (one atomic load, no lock).
template <class T>
class Var {
 public:
  Var() = default;
  Var(Tape<T>* tape, std::uint32_t index) : tape_(tape), serial_(tape->serial()), index_(index), slot_(tape->slot()) {}

  Tape<T>& tape() const;                // throws TapeError when the tape was released or the Var is empty
  Tape<T>& tape(const char* op) const;  // the same, with the operation's name in the message
  std::uint32_t index() const { return index_; }
  const Tensor<T>& value() const { return tape().value(index_); }
  const Tensor<T>& grad() const { return tape().grad(index_); }
  Shape shape() const { return shape_of(value()); }
  std::size_t rows() const { return shape()[0]; }
  std::size_t cols() const { return shape()[1]; }
  // Names the node for messages and reports ("Z[1]").
  Var& named(std::string name);
  std::string name() const { return tape().describe(index_); }
  bool valid() const { return tape_ != nullptr; }
  std::uint64_t serial() const { return serial_; }
  std::uint32_t slot() const { return slot_; }
  Tape<T>* raw_tape() const { return tape_; }

 private:
  Tape<T>* tape_ = nullptr;
  std::uint64_t serial_ = 0;
  std::uint32_t index_ = 0;
  std::uint32_t slot_ = 0;
};

// Grad mode is thread-local. Inside a NoGrad scope new nodes need no gradient (evaluation).
bool grad_enabled();
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

extern template class Tape<float>;
extern template class Tape<double>;
extern template class Var<float>;
extern template class Var<double>;
extern template class GradSink<float>;
extern template class GradSink<double>;

}  // namespace ad
