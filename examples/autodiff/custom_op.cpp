// Extending the engine: an operation of your own, written with autodiff/operation_kit.hpp (which
// states the contract) and checked with gc::check_jacobian in double.
//
// softplus_β(x) = log(1 + exp(β·x)) / β, a smooth relu whose sharpness is the attribute β. Above
// β·x > threshold it returns x itself (exp would overflow; the two pieces differ by < 1e-9 there),
// so it is piecewise: `branches` names the piece of every element, and the checker excuses an
// element whose finite difference straddles the switch.
//
// Exit status 0 when both checks pass (the `examples` suite runs it).
#include <cmath>
#include <cstdio>
#include <random>

#include <autodiff/operation_kit.hpp>
#include <autodiff/ops.hpp>
#include <gradcheck/gradcheck.hpp>

namespace {

// 1. The attributes: a trivially copyable struct, stored in the node and read back typed.
struct SoftplusAttrs {
  double beta;
  double threshold;
};

// 2. The operation: forward and backward side by side, plus branches since it is piecewise.
template <class T>
struct Softplus {
  static void forward(ad::Tape<T>& tape, ad::Node<T>& node) {
    const auto [beta, threshold] = ad::kit::attrs<SoftplusAttrs>(node);
    // map_forward sizes node.value with ensure_shape: a replay with the same shapes allocates nothing.
    ad::kit::map_forward(tape, node, [=](T x) {
      const T bx = T(beta) * x;
      return bx > T(threshold) ? x : T(std::log1p(std::exp(bx)) / beta);
    });
  }
  // d/dx = σ(β·x) (1 on the linear piece). map_backward writes dx = dy · d(x, y) through the
  // parent's GradSink, which adds to what another reader of x already wrote in this sweep.
  static void backward(ad::Tape<T>& tape, ad::Node<T>& node) {
    const auto [beta, threshold] = ad::kit::attrs<SoftplusAttrs>(node);
    ad::kit::map_backward(tape, node, [=](T x, T) {
      const T bx = T(beta) * x;
      return bx > T(threshold) ? T(1) : T(1) / (T(1) + std::exp(-bx));
    });
  }
  // One byte per element: 0 on the smooth piece, 1 on the linear one.
  static void branches(const ad::Tape<T>& tape, const ad::Node<T>& node, std::vector<std::uint8_t>& out) {
    const auto [beta, threshold] = ad::kit::attrs<SoftplusAttrs>(node);
    for (T x : tape.value(node.parents[0])) out.push_back(T(beta) * x > T(threshold) ? 1 : 0);
  }
  static constexpr ad::OpDef<T> def{"softplus", forward, backward, branches};
};

// 3. The function users call: checks its scalar arguments once (ConfigError naming the caller's
// line), then records the node, which runs forward at once.
template <class T>
ad::Var<T> softplus(ad::Var<T> x, double beta = 1, double threshold = 20,
                    std::source_location where = std::source_location::current()) {
  if (!(beta > 0))
    throw ad::ConfigError(fmt::format("softplus: beta must be > 0, got {}{}", beta, ad::site_suffix(where)));
  ad::Tape<T>& tape = ad::kit::common_tape("softplus", {x});
  return ad::kit::as_var(
      tape, tape.record(Softplus<T>::def, {x.index()}, where, SoftplusAttrs{.beta = beta, .threshold = threshold}));
}

}  // namespace

int main() {
  std::mt19937_64 rng(14);
  std::uniform_real_distribution<double> uniform(-3, 3);
  ad::Tensor<double> values = xt::empty<double>({3, 5});
  for (double& v : values) v = uniform(rng);
  values(0, 0) = 2.5;  // β·x = 25 > threshold 20: the linear piece
  ad::Parameter<double> X("X", values);

  // The operation's full Jacobian by backward (one unit seed per output) against centered differences.
  const gc::Report alone = gc::check_jacobian(
      [](ad::Tape<double>&, const std::vector<ad::Var<double>>& in) { return softplus(in[0], 10.0); }, {&X});
  std::printf("softplus alone:\n%s\n", alone.table().c_str());

  // x read by two operations (softplus and the product): its gradient is the sum of both
  // contributions, which the sinks accumulate without the operation choosing = or +=.
  const gc::Report fan_out = gc::check_jacobian(
      [](ad::Tape<double>&, const std::vector<ad::Var<double>>& in) { return ad::mul(softplus(in[0], 10.0), in[0]); },
      {&X});
  std::printf("softplus(x) * x:\n%s\n", fan_out.table().c_str());

  bool refused = false;
  try {
    ad::Tape<double> tape;
    softplus(tape.parameter(X), -1.0);
  } catch (const ad::ConfigError& e) {
    refused = true;
    std::printf("a bad beta is refused: %s\n", e.what());
  }

  const bool ok = alone.passed() && fan_out.passed() && refused;
  std::printf("custom_op: %s\n", ok ? "check_jacobian passed" : "FAILED");
  return ok ? 0 : 1;
}
