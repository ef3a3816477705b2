// The ways into the checker: a recorded tape (replayed), a closure that rebuilds the graph, a
// single operation's Jacobian, and a check before and after some training.
#include <cmath>
#include <type_traits>

#include "driver.hpp"

namespace gc {
namespace detail {
namespace {

// Everything of the model a check could change, restored on scope exit (even on an exception):
// parameter values and gradients, the tape's frozen flag and random state, and the node values
// (replayed at the restored θ, still frozen so dropout keeps its masks).
template <class T>
class Preserve {
 public:
  // Values of the checked parameters (the check perturbs them); gradients of every parameter on
  // the tape (every backward the check runs rewrites them all, checked or not).
  Preserve(ad::Tape<T>& tape, const std::vector<ad::Parameter<T>*>& params)
      : tape_(tape), params_(params), all_(tape.parameters()), frozen_(tape.frozen()), rng_(tape.rng()) {
    for (auto* p : params_) values_.push_back(p->value);
    for (auto* p : all_) grads_.push_back(p->grad);
  }
  ~Preserve() {
    for (std::size_t k = 0; k < params_.size(); ++k) params_[k]->value = values_[k];
    try {
      tape_.set_frozen(true);
      tape_.forward();
    } catch (...) {  // the values were valid when the check began; nothing better to do here
    }
    for (std::size_t k = 0; k < all_.size(); ++k) all_[k]->grad = grads_[k];
    tape_.set_frozen(frozen_);
    tape_.rng() = rng_;
  }
  Preserve(const Preserve&) = delete;
  Preserve& operator=(const Preserve&) = delete;

 private:
  ad::Tape<T>& tape_;
  std::vector<ad::Parameter<T>*> params_, all_;
  std::vector<ad::Tensor<T>> values_, grads_;
  bool frozen_;
  std::mt19937_64 rng_;
};

template <class T>
BlockView view(ad::Parameter<T>* p, bool reached) {
  BlockView b;
  b.name = p->name;
  b.shape = ad::shape_of(p->value);
  b.get = [p](std::size_t i) { return double(p->value.data()[i]); };
  b.set = [p](std::size_t i, double v) { p->value.data()[i] = T(v); };
  b.analytic.assign(p->grad.begin(), p->grad.end());
  b.reached = reached;
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

// The engine's contract on this graph: a zero seed gives zero gradients, backward is linear in
// its seed, a repeated backward gives the same gradients; and on a small graph of its own, fan-out
// accumulates (d/dx Σ(x·x + x) = 2x + 1).
template <class T>
std::vector<std::string> contract(ad::Tape<T>& tape, ad::Var<T> cost, const std::vector<ad::Parameter<T>*>& params) {
  std::vector<std::string> failures;
  std::vector<ad::Tensor<T>> once;
  for (auto* p : params) once.push_back(p->grad);
  auto each = [&](auto&& test) {
    for (std::size_t k = 0; k < params.size(); ++k) test(*params[k], once[k]);
  };
  ad::Tensor<T> seed = xt::zeros<T>({std::size_t(1), std::size_t(1)});
  tape.backward(cost, seed);
  each([&](auto& p, auto&) {
    for (T g : p.grad)
      if (g != 0) return failures.push_back(fmt::format("a zero seed gave a non-zero gradient in {}", p.name));
  });
  seed(0, 0) = 2;
  tape.backward(cost, seed);
  each([&](auto& p, auto& g1) {
    for (std::size_t i = 0; i < g1.size(); ++i)
      if (std::abs(double(p.grad.data()[i]) - 2 * double(g1.data()[i])) > 1e-12 * (1 + std::abs(2 * double(g1.data()[i]))))
        return failures.push_back(fmt::format("backward is not linear in its seed for {}", p.name));
  });
  tape.backward(cost);
  each([&](auto& p, auto& g1) {
    if (!std::equal(g1.begin(), g1.end(), p.grad.begin()))
      failures.push_back(fmt::format("a repeated backward changed the gradient of {}", p.name));
  });
  ad::Parameter<double> x("x", ad::Tensor<double>{{0.5, -1.5}, {2.0, 0.25}});
  {
    ad::Tape<double> own;
    auto v = own.parameter(x);
    own.backward(ad::sum(v * v + v));
  }
  for (std::size_t i = 0; i < 4; ++i)
    if (x.grad.data()[i] != 2 * x.value.data()[i] + 1) {
      failures.push_back("gradients do not accumulate over fan-out (d/dx Σ(x·x + x) ≠ 2x + 1)");
      break;
    }
  return failures;
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
    blocks.push_back(detail::view(p, tape.reached(*p)));
    blocks.back().first_node = tape.first_consumer(tape.index_of(*p));
  }
  const std::uint32_t out = cost.index();
  detail::Evaluator J;
  J.cost = [&tape, &J, out] {
    tape.forward(J.start);
    return double(tape.value(out)(0, 0));
  };
  if (tape.has_branches()) J.branches = [&tape](std::vector<std::uint8_t>& b) { tape.branches(b); };
  Report report = detail::run(J, blocks, o);
  report.notes.insert(report.notes.begin(), notes.notes.begin(), notes.notes.end());
  if (o.contract_checks) report.contract_failures = detail::contract(tape, cost, params);
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
  std::vector<detail::BlockView> blocks;
  {
    ad::Tape<double> tape;
    const auto cost = build(tape);
    // The backward below rewrites the gradient of every parameter the graph uses: keep them all.
    const auto all = tape.parameters();
    std::vector<ad::Tensor<double>> grads;
    for (auto* p : all) grads.push_back(p->grad);
    tape.backward(cost);
    for (auto* p : params) blocks.push_back(detail::view(p, tape.reached(*p)));
    for (std::size_t k = 0; k < all.size(); ++k) all[k]->grad = grads[k];
  }
  std::vector<std::uint8_t> last_branches;
  bool piecewise = false;
  detail::Evaluator J;
  J.cost = [&] {
    ad::Tape<double> tape;  // each evaluation's tape starts from the same random state
    auto cost = build(tape);
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
  o.l2_scale = 0;  // an operation's Jacobian has no L2 term
  ad::Tape<double> tape;
  std::vector<ad::Var<double>> vars;
  for (auto* p : inputs) vars.push_back(tape.parameter(*p));
  const ad::Var<double> out = op(tape, vars);
  const auto all = tape.parameters();  // the inputs' (and any other parameter's) gradients are left as found
  std::vector<ad::Tensor<double>> grads;
  for (auto* p : all) grads.push_back(p->grad);
  const std::size_t outputs = tape.value(out.index()).size();
  // Analytic: row k of each input's Jacobian is its gradient under the unit seed e_k.
  std::vector<std::vector<double>> analytic(inputs.size());
  ad::Tensor<double> seed = xt::zeros<double>(tape.value(out.index()).shape());
  for (std::size_t k = 0; k < outputs; ++k) {
    seed.fill(0);
    seed.data()[k] = 1;
    tape.backward(out, seed);
    for (std::size_t b = 0; b < inputs.size(); ++b)
      analytic[b].insert(analytic[b].end(), inputs[b]->grad.begin(), inputs[b]->grad.end());
  }
  Report report;
  report.options = o;
  detail::Evaluator none;
  for (std::size_t b = 0; b < inputs.size(); ++b) {
    auto& p = *inputs[b];
    const std::size_t n = p.value.size();
    detail::Comparison c;
    for (std::size_t i = 0; i < n; ++i) {
      const double original = p.value.data()[i], h = o.eps * std::max(1.0, std::abs(original));
      p.value.data()[i] = original + h;
      tape.forward();
      const ad::Tensor<double> plus = tape.value(out.index());
      p.value.data()[i] = original - h;
      tape.forward();
      const ad::Tensor<double>& minus = tape.value(out.index());
      p.value.data()[i] = original;
      report.evaluations += 2;
      for (std::size_t k = 0; k < outputs; ++k) {
        c.index.push_back(k * n + i);
        c.numeric.push_back((plus.data()[k] - minus.data()[k]) / (2 * h));
        c.analytic.push_back(analytic[b][k * n + i]);
        c.kink.push_back(false);
      }
    }
    tape.forward();
    const detail::Errors e = detail::compare(c);
    BlockResult r;
    r.name = p.name;
    r.shape = {outputs, n};  // the Jacobian block: outputs × elements of this input
    r.checked = c.index.size();
    r.relative_error = e.relative;
    r.max_abs_diff = e.max_abs;
    r.numeric_norm = e.numeric_norm;
    r.analytic_norm = e.analytic_norm;
    r.best_eps = o.eps;
    if (!c.index.empty()) {
      r.worst_index = c.index[e.worst];
      r.worst_numeric = c.numeric[e.worst];
      r.worst_analytic = c.analytic[e.worst];
    }
    r.verdict = e.relative <= o.pass_threshold ? Verdict::pass
                : e.relative <= o.fail_threshold ? Verdict::warning
                                                 : Verdict::fail;
    if (r.verdict != Verdict::pass) {
      detail::BlockView bv;
      bv.name = p.name;
      bv.shape = r.shape;
      diagnose(none, bv, c, o, r, false);
    }
    report.blocks.push_back(std::move(r));
  }
  for (std::size_t k = 0; k < all.size(); ++k) all[k]->grad = grads[k];
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
