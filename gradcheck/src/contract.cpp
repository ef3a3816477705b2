// The engine's contract, checked on the graph being checked: a zero seed gives zero gradients,
// backward is linear in its seed, gradients add up over fan-out, a repeated backward gives the same
// gradients and an unreached parameter gets exactly zero. Only public Tape calls
// (backward, backward_alone, reached, grad); nothing of a node is written here.
#include "contract.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace gc::detail {
namespace {

template <class T>
bool on_tape(const ad::Tape<T>& tape, const ad::Parameter<T>& p) {
  return tape.index_of(p) != tape.size();
}

template <class T>
using Params = std::vector<ad::Parameter<T>*>;
using Failures = std::vector<std::string>;

template <class T>
bool all_zero(const ad::Tensor<T>& g) {
  return std::all_of(g.begin(), g.end(), [](T x) { return x == T(0); });
}

template <class T>
bool identical(const ad::Tensor<T>& a, const ad::Tensor<T>& b) {
  return ad::shape_of(a) == ad::shape_of(b) && std::equal(a.begin(), a.end(), b.begin());
}

// 2·g1 up to rounding of the sweep (doubling a seed is exact, the operations' sums need not be).
template <class T>
bool doubled(const ad::Tensor<T>& g, const ad::Tensor<T>& g1) {
  if (ad::shape_of(g) != ad::shape_of(g1)) return false;
  for (std::size_t i = 0; i < g1.size(); ++i) {
    const double twice = 2 * double(g1.data()[i]);
    if (!(std::abs(double(g.data()[i]) - twice) <= 1e-12 * (1 + std::abs(twice)))) return false;
  }
  return true;
}

// The checked parameters this tape's backward writes: the contract is about those (another
// parameter's gradient is not the tape's to write, and may hold anything).
template <class T>
Params<T> on_tape_only(const ad::Tape<T>& tape, const Params<T>& params) {
  Params<T> used;
  for (auto* p : params)
    if (on_tape(tape, *p)) used.push_back(p);
  return used;
}

template <class T>
void check_zero_seed(ad::Tape<T>& tape, ad::Var<T> cost, const Params<T>& params, Failures& failures) {
  tape.backward(cost, ad::Tensor<T>{{T(0)}});
  for (auto* p : params)
    if (!all_zero(p->grad)) failures.push_back(fmt::format("a zero seed gave a non-zero gradient in {}", p->name));
}

// `once`: the gradients under the seed 1.
template <class T>
void check_seed_linearity(ad::Tape<T>& tape, ad::Var<T> cost, const Params<T>& params,
                          const std::vector<ad::Tensor<T>>& once, Failures& failures) {
  tape.backward(cost, ad::Tensor<T>{{T(2)}});
  for (std::size_t k = 0; k < params.size(); ++k)
    if (!doubled(params[k]->grad, once[k]))
      failures.push_back(fmt::format("backward is not linear in its seed for {}", params[k]->name));
}

// The nodes the last sweep from `root` reached that more than one reached operation reads (a
// parameter used twice, an activation read by two layers), each with those readers.
template <class T>
std::map<std::uint32_t, std::vector<std::uint32_t>> fan_outs(const ad::Tape<T>& tape, std::uint32_t root) {
  std::map<std::uint32_t, std::vector<std::uint32_t>> readers;
  for (std::uint32_t c = 0; c <= root; ++c) {
    const ad::Node<T>& n = tape.node(c);
    if (!n.op || !tape.reached(c)) continue;
    std::vector<std::uint32_t> parents = n.parents;  // mul(x, x) reads x once, as one reader
    std::sort(parents.begin(), parents.end());
    parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
    for (auto p : parents)
      if (tape.needs_grad(p)) readers[p].push_back(c);
  }
  std::erase_if(readers, [](const auto& r) { return r.second.size() < 2; });
  return readers;
}

// Is the swept gradient of `node` the sum of its readers' contributions, each run alone?
template <class T>
bool adds_up(ad::Tape<T>& tape, std::uint32_t node, const std::vector<std::uint32_t>& readers,
             const std::map<std::uint32_t, ad::Tensor<T>>& swept) {
  const ad::Tensor<T>& total = swept.at(node);
  if (total.size() == 0) return true;
  ad::Tensor<T> sum = xt::zeros<T>(total.shape()), scale = xt::zeros<T>(total.shape());
  for (auto c : readers) {
    tape.backward_alone(c, swept.at(c));  // reader c's own contribution, from its gradient in the sweep
    if (!tape.reached(node)) continue;  // this reader wrote nothing to it (in the sweep neither)
    const ad::Tensor<T>& part = tape.grad(node);
    if (ad::shape_of(part) != ad::shape_of(total)) return false;
    sum += part;
    scale += xt::abs(part);
  }
  // A reader that assigns and one that accumulates round differently (gemm with β = 1 fuses the
  // sum), so the two are compared at √ε of the largest contribution; a dropped one is far larger.
  const double tolerance = std::sqrt(double(std::numeric_limits<T>::epsilon())) * double(xt::amax(scale)());
  return double(xt::amax(xt::abs(sum - total))()) <= tolerance;
}

// Gradients add up over fan-out on this graph. An operation that assigns where it should
// accumulate (GradSink::first ignored) drops what the readers swept before it wrote: seen only
// where the graph fans out, so it is looked for at every node of this graph that does.
template <class T>
void check_fan_out(ad::Tape<T>& tape, ad::Var<T> cost, Failures& failures) {
  tape.backward(cost);
  const auto fans = fan_outs(tape, cost.index());
  std::map<std::uint32_t, ad::Tensor<T>> swept;  // gradients of the full sweep, of every node involved
  for (const auto& [node, readers] : fans) {
    swept.emplace(node, tape.grad(node));
    for (auto c : readers) swept.emplace(c, tape.grad(c));
  }
  for (const auto& [node, readers] : fans)
    if (!adds_up(tape, node, readers, swept))
      failures.push_back(fmt::format(
          "gradients do not accumulate over fan-out: {} is read by {} operations, and its gradient is not the sum of "
          "their contributions",
          tape.describe(node), readers.size()));
}

// A repeated backward gives the same gradients (overwritten, not added to), and a parameter it
// does not reach gets exactly zero. Each gradient holds NaN before it, so that neither a stale
// value nor one added to passes unseen. Run last: it leaves the node gradients as a backward does.
template <class T>
void check_repeated_backward(ad::Tape<T>& tape, ad::Var<T> cost, const Params<T>& params,
                             const std::vector<ad::Tensor<T>>& once, Failures& failures) {
  for (auto* p : params) p->grad.fill(std::numeric_limits<T>::quiet_NaN());
  tape.backward(cost);
  for (std::size_t k = 0; k < params.size(); ++k) {
    const auto& p = *params[k];
    if (!tape.reached(p) && !all_zero(p.grad))
      failures.push_back(fmt::format("{} does not reach the cost but its gradient was not set to zero", p.name));
    else if (!identical(p.grad, once[k]))
      failures.push_back(fmt::format("a repeated backward changed the gradient of {}", p.name));
  }
}

}  // namespace

// The engine's contract on this graph, after the check's own backward (seed 1): a zero seed gives
// zero gradients, backward is linear in its seed, gradients add up over fan-out, a repeated
// backward gives the same gradients, and an unreached parameter gets exactly zero.
template <class T>
std::vector<std::string> contract(ad::Tape<T>& tape, ad::Var<T> cost, const Params<T>& checked) {
  const Params<T> params = on_tape_only(tape, checked);
  std::vector<ad::Tensor<T>> once;
  for (auto* p : params) once.push_back(p->grad);
  Failures failures;
  check_zero_seed(tape, cost, params, failures);
  check_seed_linearity(tape, cost, params, once, failures);
  check_fan_out(tape, cost, failures);
  check_repeated_backward(tape, cost, params, once, failures);
  return failures;
}


template std::vector<std::string> contract(ad::Tape<float>&, ad::Var<float>, const std::vector<ad::Parameter<float>*>&);
template std::vector<std::string> contract(ad::Tape<double>&, ad::Var<double>, const std::vector<ad::Parameter<double>*>&);

}  // namespace gc::detail
