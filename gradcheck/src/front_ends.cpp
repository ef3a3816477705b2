// The ways into the checker: a recorded tape (replayed), a closure that rebuilds the graph, a
// single operation's Jacobian, and a check before and after some training.
#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <type_traits>
#include <utility>

#include "contract.hpp"
#include "driver.hpp"
#include "verdict.hpp"

namespace gc {
namespace detail {
namespace {

// Parameter values and gradients as they were, to put back (the guards below).
template <class T>
class Saved {
 public:
  void values_of(const std::vector<ad::Parameter<T>*>& params) {
    for (auto* p : params) values_.emplace_back(p, p->value);
  }
  void grads_of(const std::vector<ad::Parameter<T>*>& params) {
    for (auto* p : params) grads_.emplace_back(p, p->grad);
  }
  void restore_values() const {
    for (const auto& [p, value] : values_) p->value = value;
  }
  void restore_grads() const {
    for (const auto& [p, grad] : grads_) p->grad = grad;
  }

 private:
  std::vector<std::pair<ad::Parameter<T>*, ad::Tensor<T>>> values_, grads_;
};

// Everything of the model a check could change, restored on scope exit (even on an exception):
// parameter values and gradients, the tape's frozen flag and random state, and the node values
// (replayed at the restored θ, still frozen so dropout keeps its masks).
template <class T>
class Preserve {
 public:
  // Values of the checked parameters (the check perturbs them); gradients of every parameter on
  // the tape (every backward the check runs rewrites them all, checked or not).
  Preserve(ad::Tape<T>& tape, const std::vector<ad::Parameter<T>*>& params)
      : tape_(tape), frozen_(tape.frozen()), rng_(tape.rng()) {
    saved_.values_of(params);
    saved_.grads_of(tape.parameters());
  }
  ~Preserve() {
    saved_.restore_values();
    try {
      tape_.set_frozen(true);
      tape_.forward();
    } catch (...) {  // the values were valid when the check began; nothing better to do here
    }
    saved_.restore_grads();
    tape_.set_frozen(frozen_);
    tape_.rng() = rng_;
  }
  Preserve(const Preserve&) = delete;
  Preserve& operator=(const Preserve&) = delete;

 private:
  ad::Tape<T>& tape_;
  Saved<T> saved_;
  bool frozen_;
  std::mt19937_64 rng_;
};

// The closure form's guard: its tapes are its own and die with each evaluation, so only the
// parameters are the model's. Put back on scope exit, also when `build` throws halfway through
// a perturbation.
class RestoreParameters {
 public:
  RestoreParameters() = default;
  ~RestoreParameters() {
    saved.restore_values();
    saved.restore_grads();
  }
  RestoreParameters(const RestoreParameters&) = delete;
  RestoreParameters& operator=(const RestoreParameters&) = delete;

  Saved<double> saved;
};

template <class T>
bool on_tape(const ad::Tape<T>& tape, const ad::Parameter<T>& p) {
  return tape.index_of(p) != tape.size();
}

// A parameter block seen as doubles, its analytic gradient from the tape's last backward. A
// parameter the tape does not use gets nothing from that backward (its gradient is some other
// computation's): its analytic gradient is zero.
template <class T>
BlockView view(const ad::Tape<T>& tape, ad::Parameter<T>* p) {
  BlockView b;
  b.name = p->name;
  b.shape = ad::shape_of(p->value);
  b.get = [p](std::size_t i) { return double(p->value.data()[i]); };
  b.set = [p](std::size_t i, double v) { p->value.data()[i] = T(v); };
  if (on_tape(tape, *p)) b.analytic.assign(p->grad.begin(), p->grad.end());
  else b.analytic.assign(p->value.size(), 0.0);
  b.grad_shape = on_tape(tape, *p) ? ad::shape_of(p->grad) : b.shape;
  b.reached = tape.reached(*p);
  return b;
}

// Float rounding (~6e-8 relative) swamps a step of 1e-7: check float graphs at a coarser step,
// where a correct float MLP's errors are ~1e-4 (at 1e-3 they were ~1e-3, at the threshold).
template <class T>
Options adapted(const Options& options, Report& notes_holder) {
  Options o = options;
  if constexpr (std::is_same_v<T, float>) {
    o.eps = std::max(o.eps, 1e-2);
    o.directional_eps = std::max(o.directional_eps, 1e-2);
    o.pass_threshold = std::max(o.pass_threshold, 1e-3);
    o.fail_threshold = std::max(o.fail_threshold, 1e-2);
    notes_holder.notes.push_back(
        "float graph: checked at ε=1e-2 with thresholds 1e-3/1e-2, since float rounding swamps finer steps; for a "
        "decisive check build the same graph in double (nn::convert) or use the closure form");
  }
  return o;
}

// One evaluation's tape in the closure form, recorded frozen like the tape form's replays, so
// that no evaluation moves batch-norm running statistics. Each tape starts from the same random
// state: dropout draws the same masks every time.
ad::Var<double> record_frozen(const std::function<ad::Var<double>(ad::Tape<double>&)>& build, ad::Tape<double>& tape) {
  tape.set_frozen(true);
  return build(tape);
}

}  // namespace
}  // namespace detail

template <class T>
Report check(ad::Tape<T>& tape, ad::Var<T> cost, std::vector<ad::Parameter<T>*> params, const Options& options) {
  tape.check_owns(cost, "gradcheck");
  if (params.empty()) params = tape.parameters();
  Report notes;
  const Options o = detail::adapted<T>(options, notes);
  detail::Preserve<T> preserve(tape, params);
  tape.set_frozen(true);
  tape.forward();
  tape.backward(cost);
  std::vector<detail::BlockView> blocks;
  for (auto* p : params) {
    blocks.push_back(detail::view(tape, p));
    blocks.back().first_node = tape.first_consumer(tape.index_of(*p));
  }
  const std::uint32_t out = cost.index();
  detail::Evaluator J;
  J.cost = [&tape, &J, out] {
    tape.forward(J.start);
    return double(tape.value(out)(0, 0));
  };
  if (tape.has_branches()) J.branches = [&tape](std::vector<std::uint8_t>& b) { tape.branches(b); };
  J.unit_roundoff = std::numeric_limits<T>::epsilon() / 2;
  Report report = detail::run(J, blocks, o);
  report.notes.insert(report.notes.begin(), notes.notes.begin(), notes.notes.end());
  // A cost that changes at a fixed θ changes its gradients too: every contract check compares
  // gradients of two sweeps, so noise would show as contract failures. Not checked then.
  if (o.contract_checks && report.deterministic) report.contract_failures = detail::contract(tape, cost, params);
  else if (o.contract_checks)
    report.notes.push_back("the engine contract was not checked: the cost is not deterministic");
  return report;
}

template <class T>
std::vector<Report> check_terms(ad::Tape<T>& tape, const std::vector<std::pair<std::string, ad::Var<T>>>& terms,
                                std::vector<ad::Parameter<T>*> params, const Options& options) {
  std::vector<Report> reports;
  for (const auto& [name, term] : terms) {
    reports.push_back(check(tape, term, params, options));
    reports.back().term = name;
  }
  return reports;
}

Report check(const std::function<ad::Var<double>(ad::Tape<double>&)>& build, std::vector<ad::Parameter<double>*> params,
             const Options& options) {
  detail::RestoreParameters restore;
  restore.saved.values_of(params);
  std::vector<detail::BlockView> blocks;
  {
    ad::Tape<double> tape;
    const auto cost = detail::record_frozen(build, tape);
    // The backward rewrites the gradient of every parameter the graph uses: keep them all.
    restore.saved.grads_of(tape.parameters());
    tape.backward(cost);
    for (auto* p : params) blocks.push_back(detail::view(tape, p));
  }
  std::vector<std::uint8_t> last_branches;
  bool piecewise = false;
  detail::Evaluator J;
  J.cost = [&] {
    ad::Tape<double> tape;
    auto cost = detail::record_frozen(build, tape);
    piecewise = tape.has_branches();
    if (piecewise) tape.branches(last_branches);
    return double(tape.value(cost.index())(0, 0));
  };
  J.cost();  // learn whether the graph has piecewise operations
  if (piecewise) J.branches = [&](std::vector<std::uint8_t>& b) { b = last_branches; };
  return detail::run(J, blocks, options);
}

template <class T>
std::vector<Report> check_during_training(ad::Tape<T>& tape, ad::Var<T> cost, std::vector<ad::Parameter<T>*> params,
                                          const std::function<void()>& train_step, std::size_t steps,
                                          const Options& options) {
  std::vector<Report> reports;
  reports.push_back(check(tape, cost, params, options));
  for (std::size_t s = 0; s < steps; ++s) train_step();
  reports.push_back(check(tape, cost, params, options));
  return reports;
}

Report check_jacobian(const std::function<ad::Var<double>(ad::Tape<double>&, const std::vector<ad::Var<double>>&)>& op,
                      std::vector<ad::Parameter<double>*> inputs, const Options& options) {
  Options o = options;
  o.l2_scale = 0;          // an operation's Jacobian has no L2 term
  o.mode = Mode::all;      // and is small: every entry, which the report's header then says
  ad::Tape<double> tape;
  std::vector<ad::Var<double>> vars;
  for (auto* p : inputs) vars.push_back(tape.parameter(*p));
  const ad::Var<double> out = op(tape, vars);
  // The inputs' values and every parameter's gradient put back, also when the operation throws
  // at a perturbed value (anomaly mode, a domain check).
  detail::Preserve<double> preserve(tape, inputs);
  const std::size_t outputs = tape.value(out.index()).size();
  // Analytic: row k of each input's Jacobian is its gradient under the unit seed e_k. A gradient
  // of another shape than its input is that block's diagnosis (and is never indexed).
  std::vector<std::vector<double>> analytic(inputs.size());
  std::vector<ad::Shape> wrong_shape(inputs.size(), ad::Shape{0, 0});
  ad::Tensor<double> seed = xt::zeros<double>(tape.value(out.index()).shape());
  for (std::size_t k = 0; k < outputs; ++k) {
    seed.fill(0);
    seed.data()[k] = 1;
    tape.backward(out, seed);
    for (std::size_t b = 0; b < inputs.size(); ++b) {
      if (ad::shape_of(inputs[b]->grad) != ad::shape_of(inputs[b]->value)) wrong_shape[b] = ad::shape_of(inputs[b]->grad);
      analytic[b].insert(analytic[b].end(), inputs[b]->grad.begin(), inputs[b]->grad.end());
    }
  }
  // The branches relu/abs/max/clip took at the inputs as given: a perturbation that changes one
  // crossed a kink, and the entries it moved are judged by their one-sided differences.
  std::vector<std::uint8_t> base, perturbed;
  tape.branches(base);
  auto crossed = [&] {
    if (base.empty()) return false;
    tape.branches(perturbed);
    return perturbed != base;
  };
  const ad::Tensor<double>& value_at_theta = tape.value(out.index());
  const std::vector<double> at_theta(value_at_theta.begin(), value_at_theta.end());
  auto outputs_at = [&](std::vector<double>& values) {
    tape.forward();
    const ad::Tensor<double>& y = tape.value(out.index());
    values.assign(y.begin(), y.end());
    return crossed();
  };
  const auto t0 = std::chrono::steady_clock::now();
  Report report;
  report.options = o;
  report.jacobian_outputs = outputs;
  for (std::size_t b = 0; b < inputs.size(); ++b) {
    detail::BlockView input = detail::view(tape, inputs[b]);
    input.analytic = std::move(analytic[b]);
    input.grad_shape = wrong_shape[b] == ad::Shape{0, 0} ? input.shape : wrong_shape[b];
    report.blocks.push_back(detail::check_jacobian_block(input, at_theta, outputs_at, o, report.evaluations));
  }
  report.relative_error = detail::overall_relative_error(report.blocks);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

template Report check(ad::Tape<float>&, ad::Var<float>, std::vector<ad::Parameter<float>*>, const Options&);
template std::vector<Report> check_terms(ad::Tape<float>&, const std::vector<std::pair<std::string, ad::Var<float>>>&,
                                         std::vector<ad::Parameter<float>*>, const Options&);
template std::vector<Report> check_terms(ad::Tape<double>&, const std::vector<std::pair<std::string, ad::Var<double>>>&,
                                         std::vector<ad::Parameter<double>*>, const Options&);
template Report check(ad::Tape<double>&, ad::Var<double>, std::vector<ad::Parameter<double>*>, const Options&);
template std::vector<Report> check_during_training(ad::Tape<float>&, ad::Var<float>, std::vector<ad::Parameter<float>*>,
                                                   const std::function<void()>&, std::size_t, const Options&);
template std::vector<Report> check_during_training(ad::Tape<double>&, ad::Var<double>,
                                                   std::vector<ad::Parameter<double>*>, const std::function<void()>&,
                                                   std::size_t, const Options&);

}  // namespace gc
