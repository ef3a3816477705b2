// A seeded generator of random graphs over every operation of autodiff/ops.hpp, for
// test_random_graphs.cpp: random shapes, broadcasting both ways, nodes reused by several
// operations, reductions, matrix products with every transpose flag, shape operations, losses.
//
// Values are inspected as the graph grows, so every operation is applied only where finite
// differences are meaningful: log, sqrt and fractional powers of values ≥ 0.2, divisors at least
// 0.3 away from 0, exp of values < 3, and relu/abs/leaky_relu/clip/maximum/minimum (and fused
// relu activations, through a probe node of the pre-activation) only on inputs at least `margin`
// away from their kink. An operation that does not fit is skipped for another. Large values are
// scaled back. Detach cuts the gradient but not the value: parameters the value of a detached node
// depends on are not compared with finite differences (which would see them), and those that reach
// the cost only through a detach must come back exactly zero.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>

#include "fixtures.hpp"

namespace rg {

using Mask = std::uint64_t;  // bit k: parameter k

struct Node {
  ad::Var<double> var;
  std::string id;          // "n7", in the description
  Mask value_deps = 0;     // parameters the value depends on
  Mask grad_deps = 0;      // parameters a gradient flows back to
  bool consumed = false;   // read by some operation (unconsumed nodes are summed into the cost)
};

class RandomGraph {
 public:
  static constexpr double margin = 0.05;  // distance kept from kinks
  static constexpr std::size_t max_params = 24;

  explicit RandomGraph(std::uint32_t seed) : rng_(seed) {
    std::uniform_int_distribution<int> leaves(2, 3), steps(3, 12);
    for (int k = leaves(rng_); k > 0; --k) fresh_parameter(dim(), dim());
    if (coin(0.3)) constant_leaf(dim(), dim());
    const int n = steps(rng_);
    for (int s = 0; s < n; ++s) apply_one();
    build_cost();
    tape.set_frozen(true);  // dropout keeps the mask it drew while the graph was built
  }

  // Everything the test needs, after construction.
  std::deque<ad::Parameter<double>> params;  // before the tape: they outlive it
  ad::Tape<double> tape;
  ad::Var<double> cost;
  std::vector<ad::Parameter<double>*> checkable;     // compared with finite differences
  std::vector<ad::Parameter<double>*> detached_only;  // reach the cost only through detach: gradient 0
  std::vector<std::string> ops;                       // operations applied, in order (with repeats)
  std::string description;                            // one line per node

  // Every operation name the generator can apply (the coverage the test asserts).
  static std::vector<std::string> all_operations() {
    std::vector<std::string> names;
    for (const auto& [name, f] : table()) names.push_back(name);
    return names;
  }

 private:
  using Op = bool (RandomGraph::*)();
  static const std::map<std::string, Op>& table() {
    static const std::map<std::string, Op> t = {
        {"add", &RandomGraph::op_add}, {"sub", &RandomGraph::op_sub}, {"mul", &RandomGraph::op_mul},
        {"div", &RandomGraph::op_div}, {"maximum", &RandomGraph::op_maximum}, {"minimum", &RandomGraph::op_minimum},
        {"neg", &RandomGraph::op_neg}, {"add_scalar", &RandomGraph::op_add_scalar},
        {"mul_scalar", &RandomGraph::op_mul_scalar}, {"rsub_scalar", &RandomGraph::op_rsub_scalar},
        {"rdiv_scalar", &RandomGraph::op_rdiv_scalar}, {"matmul", &RandomGraph::op_matmul},
        {"transpose", &RandomGraph::op_transpose}, {"linear", &RandomGraph::op_linear},
        {"linear_rows", &RandomGraph::op_linear_rows}, {"sum", &RandomGraph::op_sum},
        {"sum_axis", &RandomGraph::op_sum_axis}, {"mean", &RandomGraph::op_mean},
        {"mean_axis", &RandomGraph::op_mean_axis}, {"exp", &RandomGraph::op_exp}, {"log", &RandomGraph::op_log},
        {"sqrt", &RandomGraph::op_sqrt}, {"square", &RandomGraph::op_square}, {"pow", &RandomGraph::op_pow},
        {"abs", &RandomGraph::op_abs}, {"tanh", &RandomGraph::op_tanh}, {"sigmoid", &RandomGraph::op_sigmoid},
        {"relu", &RandomGraph::op_relu}, {"leaky_relu", &RandomGraph::op_leaky_relu},
        {"clip", &RandomGraph::op_clip}, {"softmax", &RandomGraph::op_softmax},
        {"log_softmax", &RandomGraph::op_log_softmax},
        {"softmax_cross_entropy", &RandomGraph::op_softmax_cross_entropy},
        {"sigmoid_cross_entropy", &RandomGraph::op_sigmoid_cross_entropy}, {"reshape", &RandomGraph::op_reshape},
        {"slice_rows", &RandomGraph::op_slice_rows}, {"slice_cols", &RandomGraph::op_slice_cols},
        {"concat", &RandomGraph::op_concat}, {"dropout", &RandomGraph::op_dropout},
        {"detach", &RandomGraph::op_detach}, {"operator+", &RandomGraph::op_plus},
        {"operator-", &RandomGraph::op_minus}, {"operator*", &RandomGraph::op_times},
        {"operator/", &RandomGraph::op_divide}, {"unary operator-", &RandomGraph::op_negate},
        {"operator with scalar", &RandomGraph::op_scalar_operator},
    };
    return t;
  }

  // --- randomness -------------------------------------------------------------------------------
  std::size_t dim() { return std::uniform_int_distribution<std::size_t>(1, 4)(rng_); }
  bool coin(double p) { return std::bernoulli_distribution(p)(rng_); }
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  template <class C>
  auto& choose(C& c) {
    return c[std::uniform_int_distribution<std::size_t>(0, c.size() - 1)(rng_)];
  }

  // --- the pool of nodes ------------------------------------------------------------------------
  Node& add_node(ad::Var<double> v, Mask value_deps, Mask grad_deps, const std::string& how) {
    nodes_.push_back({v, fmt::format("n{}", nodes_.size()), value_deps, grad_deps});
    description += fmt::format("{} ({}, {}) = {}\n", nodes_.back().id, v.rows(), v.cols(), how);
    return nodes_.back();
  }
  Node& fresh_parameter(std::size_t rows, std::size_t cols) {
    if (params.size() == max_params) return constant_leaf(rows, cols);
    const std::size_t k = params.size();
    params.emplace_back(fmt::format("p{}", k), fixtures::away_from_zero(rows, cols, rng_, 0.2, 1.5));
    return add_node(tape.parameter(params.back()), Mask(1) << k, Mask(1) << k, params.back().name);
  }
  Node& constant_leaf(std::size_t rows, std::size_t cols) {
    auto value = fixtures::away_from_zero(rows, cols, rng_, 0.2, 1.5);
    if (coin(0.5)) return add_node(tape.input("x", value), 0, 0, "input");
    return add_node(tape.constant(value, "c"), 0, 0, "constant");
  }
  // Recent nodes are likelier, so graphs grow deep as well as wide. Returns an index: the pool
  // grows (and may reallocate) while an operation picks its operands.
  std::size_t pick() {
    if (coin(0.5)) return nodes_.size() - 1;
    return std::uniform_int_distribution<std::size_t>(0, nodes_.size() - 1)(rng_);
  }
  // A node (existing, or a new parameter) that broadcasts with `shape`: each dimension equal or 1.
  std::size_t pick_broadcastable(ad::Shape shape) {
    std::vector<std::size_t> fits;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const auto s = nodes_[i].var.shape();
      if ((s[0] == shape[0] || s[0] == 1 || shape[0] == 1) && (s[1] == shape[1] || s[1] == 1 || shape[1] == 1))
        fits.push_back(i);
    }
    if (fits.empty() || coin(0.3)) {
      fresh_parameter(coin(0.3) ? 1 : shape[0], coin(0.3) ? 1 : shape[1]);
      return nodes_.size() - 1;
    }
    return choose(fits);
  }
  // A node with the given rows (or cols), existing or new.
  std::size_t pick_with(std::size_t rows, std::size_t cols) {
    std::vector<std::size_t> fits;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const auto s = nodes_[i].var.shape();
      if ((rows == 0 || s[0] == rows) && (cols == 0 || s[1] == cols)) fits.push_back(i);
    }
    if (fits.empty() || coin(0.4)) {
      fresh_parameter(rows ? rows : dim(), cols ? cols : dim());
      return nodes_.size() - 1;
    }
    return choose(fits);
  }

  // Records the result of an operation on `operands`; scales it back when it grew large.
  void result(ad::Var<double> v, std::vector<std::size_t> operands, const std::string& how) {
    Mask value = 0, grad = 0;
    std::string args;
    for (std::size_t i : operands) {
      nodes_[i].consumed = true;
      value |= nodes_[i].value_deps;
      grad |= nodes_[i].grad_deps;
      args += (args.empty() ? "" : ", ") + nodes_[i].id;
    }
    add_node(v, value, grad, fmt::format("{}({})", how, args));
    const double largest = xt::amax(xt::abs(v.value()))();
    if (largest > 8) {
      const std::size_t last = nodes_.size() - 1;
      nodes_[last].consumed = true;
      add_node(ad::mul_scalar(v, 2 / largest), value, grad, fmt::format("mul_scalar({}, {:.6g})", nodes_[last].id, 2 / largest));
    }
  }

  // --- value conditions -------------------------------------------------------------------------
  const ad::Tensor<double>& value(std::size_t i) const { return nodes_[i].var.value(); }
  double min_abs(std::size_t i) const { return xt::amin(xt::abs(value(i)))(); }
  double min(std::size_t i) const { return xt::amin(value(i))(); }
  double max(std::size_t i) const { return xt::amax(value(i))(); }
  bool away_from(std::size_t i, double point) const { return xt::amin(xt::abs(value(i) - point))() > margin; }

  void apply_one() {
    const auto& t = table();
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto it = std::next(t.begin(), std::uniform_int_distribution<long>(0, long(t.size()) - 1)(rng_));
      if ((this->*(it->second))()) {
        ops.push_back(it->first);
        return;
      }
    }
    op_tanh();  // always applicable
    ops.push_back("tanh");
  }

  // --- the operations ---------------------------------------------------------------------------
  using Binary = ad::Var<double> (*)(ad::Var<double>, ad::Var<double>, std::source_location);
  bool binary(Binary f, const char* name, bool divisor, bool kinked) {
    std::size_t a = pick(), b = pick_broadcastable(nodes_[a].var.shape());
    if (coin(0.5)) std::swap(a, b);  // the broadcast operand on either side
    if (divisor && min_abs(b) < 0.3) return false;
    if (kinked && xt::amin(xt::abs(value(a) - value(b)))() <= margin) return false;
    result(f(nodes_[a].var, nodes_[b].var, std::source_location::current()), {a, b}, name);
    return true;
  }
  bool op_add() { return binary(&ad::add<double>, "add", false, false); }
  bool op_sub() { return binary(&ad::sub<double>, "sub", false, false); }
  bool op_mul() { return binary(&ad::mul<double>, "mul", false, false); }
  bool op_div() { return binary(&ad::div<double>, "div", true, false); }
  bool op_maximum() { return binary(&ad::maximum<double>, "maximum", false, true); }
  bool op_minimum() { return binary(&ad::minimum<double>, "minimum", false, true); }

  template <class F>
  bool operator_form(const char* name, bool divisor, F f) {
    std::size_t a = pick(), b = pick_broadcastable(nodes_[a].var.shape());
    if (coin(0.5)) std::swap(a, b);
    if (divisor && min_abs(b) < 0.3) return false;
    result(f(nodes_[a].var, nodes_[b].var), {a, b}, name);
    return true;
  }
  bool op_plus() { return operator_form("operator+", false, [](auto a, auto b) { return a + b; }); }
  bool op_minus() { return operator_form("operator-", false, [](auto a, auto b) { return a - b; }); }
  bool op_times() { return operator_form("operator*", false, [](auto a, auto b) { return a * b; }); }
  bool op_divide() { return operator_form("operator/", true, [](auto a, auto b) { return a / b; }); }
  bool op_negate() {
    const std::size_t a = pick();
    result(-nodes_[a].var, {a}, "operator-");
    return true;
  }
  bool op_scalar_operator() {
    const std::size_t a = pick();
    const double s = uniform(0.5, 2) * (coin(0.5) ? 1 : -1);
    const auto x = nodes_[a].var;
    switch (std::uniform_int_distribution<int>(0, 7)(rng_)) {
      case 0: result(x + s, {a}, fmt::format("operator+ {:.6g}", s)); break;
      case 1: result(s + x, {a}, fmt::format("{:.6g} operator+", s)); break;
      case 2: result(x - s, {a}, fmt::format("operator- {:.6g}", s)); break;
      case 3: result(s - x, {a}, fmt::format("{:.6g} operator-", s)); break;
      case 4: result(x * s, {a}, fmt::format("operator* {:.6g}", s)); break;
      case 5: result(s * x, {a}, fmt::format("{:.6g} operator*", s)); break;
      case 6: result(x / s, {a}, fmt::format("operator/ {:.6g}", s)); break;
      default:
        if (min_abs(a) < 0.3) return false;
        result(s / x, {a}, fmt::format("{:.6g} operator/", s));
    }
    return true;
  }

  bool op_neg() {
    const std::size_t a = pick();
    result(ad::neg(nodes_[a].var), {a}, "neg");
    return true;
  }
  bool scalar_op(ad::Var<double> (*f)(ad::Var<double>, double, std::source_location), const char* name,
                 bool divisor) {
    const std::size_t a = pick();
    if (divisor && min_abs(a) < 0.3) return false;
    const double s = uniform(-2, 2);
    result(f(nodes_[a].var, s, std::source_location::current()), {a}, fmt::format("{} {:.6g}", name, s));
    return true;
  }
  bool op_add_scalar() { return scalar_op(&ad::add_scalar<double>, "add_scalar", false); }
  bool op_mul_scalar() { return scalar_op(&ad::mul_scalar<double>, "mul_scalar", false); }
  bool op_rsub_scalar() { return scalar_op(&ad::rsub_scalar<double>, "rsub_scalar", false); }
  bool op_rdiv_scalar() { return scalar_op(&ad::rdiv_scalar<double>, "rdiv_scalar", true); }

  bool op_matmul() {
    const bool ta = coin(0.5), tb = coin(0.5);
    const std::size_t a = pick();
    const auto sa = nodes_[a].var.shape();
    const std::size_t inner = ta ? sa[0] : sa[1];
    const std::size_t b = tb ? pick_with(0, inner) : pick_with(inner, 0);
    result(ad::matmul(nodes_[a].var, nodes_[b].var, ta, tb), {a, b}, fmt::format("matmul[{}{}]", ta ? "T" : "", tb ? "T" : ""));
    return true;
  }
  bool op_transpose() {
    const std::size_t a = pick();
    result(ad::transpose(nodes_[a].var), {a}, "transpose");
    return true;
  }
  // linear and linear_rows: W (n, k), b (n, 1), A (k, m) or X (m, k).
  bool fused(bool rows_layout) {
    const std::size_t x = pick();
    const auto sx = nodes_[x].var.shape();
    const std::size_t k = rows_layout ? sx[1] : sx[0];
    const std::size_t W = pick_with(0, k);
    const std::size_t b = pick_with(nodes_[W].var.rows(), 1);
    const ad::Activation acts[] = {ad::Activation::linear, ad::Activation::relu, ad::Activation::leaky_relu,
                                   ad::Activation::tanh, ad::Activation::sigmoid};
    const ad::Activation act = acts[std::uniform_int_distribution<int>(0, 4)(rng_)];
    const double slope = uniform(0.01, 0.3);
    auto f = rows_layout ? &ad::linear_rows<double> : &ad::linear<double>;
    if (act == ad::Activation::relu || act == ad::Activation::leaky_relu) {
      // A probe of the pre-activation (left unused) tells whether it is away from the kink.
      const auto z = f(nodes_[W].var, nodes_[x].var, nodes_[b].var, ad::Activation::linear, slope,
                       std::source_location::current());
      if (xt::amin(xt::abs(z.value()))() <= margin) return false;
    }
    result(f(nodes_[W].var, nodes_[x].var, nodes_[b].var, act, slope, std::source_location::current()), {W, x, b},
           fmt::format("{}[{}, slope {:.6g}]", rows_layout ? "linear_rows" : "linear", ad::to_string(act), slope));
    return true;
  }
  bool op_linear() { return fused(false); }
  bool op_linear_rows() { return fused(true); }

  bool op_sum() {
    const std::size_t a = pick();
    result(ad::sum(nodes_[a].var), {a}, "sum");
    return true;
  }
  bool op_mean() {
    const std::size_t a = pick();
    result(ad::mean(nodes_[a].var), {a}, "mean");
    return true;
  }
  bool op_sum_axis() {
    const std::size_t a = pick();
    const int axis = coin(0.5);
    const bool keep = coin(0.5);
    result(ad::sum(nodes_[a].var, axis, keep), {a}, fmt::format("sum[axis {}, keepdims {}]", axis, keep));
    return true;
  }
  bool op_mean_axis() {
    const std::size_t a = pick();
    const int axis = coin(0.5);
    const bool keep = coin(0.5);
    result(ad::mean(nodes_[a].var, axis, keep), {a}, fmt::format("mean[axis {}, keepdims {}]", axis, keep));
    return true;
  }

  template <class F>
  bool unary(const char* name, bool ok, std::size_t a, F f) {
    if (!ok) return false;
    result(f(nodes_[a].var), {a}, name);
    return true;
  }
  bool op_exp() { const auto a = pick(); return unary("exp", max(a) < 3, a, [](auto v) { return ad::exp(v); }); }
  bool op_log() { const auto a = pick(); return unary("log", min(a) >= 0.2, a, [](auto v) { return ad::log(v); }); }
  bool op_sqrt() { const auto a = pick(); return unary("sqrt", min(a) >= 0.2, a, [](auto v) { return ad::sqrt(v); }); }
  bool op_square() { const auto a = pick(); return unary("square", true, a, [](auto v) { return ad::square(v); }); }
  bool op_abs() { const auto a = pick(); return unary("abs", away_from(a, 0), a, [](auto v) { return ad::abs(v); }); }
  bool op_tanh() { const auto a = pick(); return unary("tanh", true, a, [](auto v) { return ad::tanh(v); }); }
  bool op_sigmoid() { const auto a = pick(); return unary("sigmoid", true, a, [](auto v) { return ad::sigmoid(v); }); }
  bool op_relu() { const auto a = pick(); return unary("relu", away_from(a, 0), a, [](auto v) { return ad::relu(v); }); }
  bool op_detach() {
    const std::size_t a = pick();
    tainted_ |= nodes_[a].value_deps;
    nodes_[a].consumed = true;
    add_node(ad::detach(nodes_[a].var), nodes_[a].value_deps, 0, fmt::format("detach({})", nodes_[a].id));
    return true;
  }
  bool op_leaky_relu() {
    const std::size_t a = pick();
    if (!away_from(a, 0)) return false;
    const double slope = uniform(0.01, 0.3);
    result(ad::leaky_relu(nodes_[a].var, slope), {a}, fmt::format("leaky_relu {:.6g}", slope));
    return true;
  }
  bool op_pow() {
    const std::size_t a = pick();
    const std::array<double, 7> exponents = {2, 3, -1, -2, 0.5, 1.5, -0.5};
    const double e = choose(exponents);
    const bool integer = e == std::round(e);
    if (!integer && min(a) < 0.2) return false;
    if (e < 0 && min_abs(a) < 0.3) return false;
    result(ad::pow(nodes_[a].var, e), {a}, fmt::format("pow {}", e));
    return true;
  }
  bool op_clip() {
    const std::size_t a = pick();
    const double lo = uniform(-1.5, 0.5), hi = lo + uniform(0.2, 2);
    if (!away_from(a, lo) || !away_from(a, hi)) return false;
    result(ad::clip(nodes_[a].var, lo, hi), {a}, fmt::format("clip [{:.6g}, {:.6g}]", lo, hi));
    return true;
  }
  bool op_softmax() {
    const std::size_t a = pick();
    const int axis = coin(0.5);
    result(ad::softmax(nodes_[a].var, axis), {a}, fmt::format("softmax[axis {}]", axis));
    return true;
  }
  bool op_log_softmax() {
    const std::size_t a = pick();
    const int axis = coin(0.5);
    result(ad::log_softmax(nodes_[a].var, axis), {a}, fmt::format("log_softmax[axis {}]", axis));
    return true;
  }
  // Targets: columns that are distributions (softmax) or entries in [0, 1] (sigmoid).
  bool op_softmax_cross_entropy() {
    const std::size_t a = pick();
    ad::Tensor<double> Y = fixtures::uniform(nodes_[a].var.rows(), nodes_[a].var.cols(), 0.1, 1, rng_);
    const ad::Tensor<double> column_sums = xt::sum(Y, {0}, xt::keep_dims);
    Y /= column_sums;
    result(ad::softmax_cross_entropy(nodes_[a].var, tape.constant(Y, "Y")), {a}, "softmax_cross_entropy");
    return true;
  }
  bool op_sigmoid_cross_entropy() {
    const std::size_t a = pick();
    const auto Y = fixtures::uniform(nodes_[a].var.rows(), nodes_[a].var.cols(), 0, 1, rng_);
    result(ad::sigmoid_cross_entropy(nodes_[a].var, tape.constant(Y, "Y")), {a}, "sigmoid_cross_entropy");
    return true;
  }
  bool op_reshape() {
    const std::size_t a = pick();
    const std::size_t n = value(a).size();
    std::vector<std::size_t> divisors;
    for (std::size_t d = 1; d <= n; ++d)
      if (n % d == 0) divisors.push_back(d);
    const std::size_t rows = choose(divisors);
    result(ad::reshape(nodes_[a].var, rows, n / rows), {a}, fmt::format("reshape ({}, {})", rows, n / rows));
    return true;
  }
  bool slice(bool rows) {
    const std::size_t a = pick();
    const std::size_t n = rows ? nodes_[a].var.rows() : nodes_[a].var.cols();
    const std::size_t begin = std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
    const std::size_t end = std::uniform_int_distribution<std::size_t>(begin + 1, n)(rng_);
    auto v = rows ? ad::slice_rows(nodes_[a].var, begin, end) : ad::slice_cols(nodes_[a].var, begin, end);
    result(v, {a}, fmt::format("{} [{}, {})", rows ? "slice_rows" : "slice_cols", begin, end));
    return true;
  }
  bool op_slice_rows() { return slice(true); }
  bool op_slice_cols() { return slice(false); }
  bool op_concat() {
    const int axis = coin(0.5);
    const std::size_t first = pick();
    const auto s = nodes_[first].var.shape();
    std::vector<std::size_t> parts = {first};
    const int more = std::uniform_int_distribution<int>(1, 2)(rng_);
    for (int k = 0; k < more; ++k) parts.push_back(axis == 0 ? pick_with(0, s[1]) : pick_with(s[0], 0));
    std::vector<ad::Var<double>> vars;
    for (std::size_t i : parts) vars.push_back(nodes_[i].var);
    result(ad::concat(vars, axis), parts, fmt::format("concat[axis {}]", axis));
    return true;
  }
  bool op_dropout() {
    const std::size_t a = pick();
    const double keep = uniform(0.5, 0.9);
    result(ad::dropout(nodes_[a].var, keep), {a}, fmt::format("dropout {:.6g}", keep));
    return true;
  }

  // The cost: Σ over the nodes nothing reads of (node ⊙ a random weight), so every part of the
  // graph reaches it.
  void build_cost() {
    std::vector<std::size_t> sinks;
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      if (!nodes_[i].consumed) sinks.push_back(i);
    Mask grad = 0;
    for (std::size_t i : sinks) {
      auto term = fixtures::weighted_sum(nodes_[i].var, rng_);
      cost = cost.valid() ? ad::add(cost, term) : term;
      grad |= nodes_[i].grad_deps;
    }
    description += "cost = Σ weighted";
    for (std::size_t i : sinks) description += " " + nodes_[i].id;
    description += "\n";
    for (std::size_t k = 0; k < params.size(); ++k) {
      const Mask bit = Mask(1) << k;
      if (!(tainted_ & bit)) checkable.push_back(&params[k]);
      else if (!(grad & bit)) detached_only.push_back(&params[k]);
    }
  }

  std::mt19937 rng_;  // the fixtures' generator
  std::vector<Node> nodes_;
  Mask tainted_ = 0;  // parameters some detached value depends on
};

}  // namespace rg
