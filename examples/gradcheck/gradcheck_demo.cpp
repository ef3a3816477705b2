// What gradcheck tells you. The MLP of the course's gradient-checking exercise, 20-32-32-5 with
// tanh, softmax cross-entropy and L2, in double, checked three times:
//  1. as built from the engine's operations: every block passes;
//  2. with two bugs a user might write: a hand-written dense-tanh operation whose backward forgets
//     tanh' in db (layer 2), and an L2 term for W[3] computed through detach, so it is in the cost
//     but not in backward. The report flags exactly b[2] and W[3] and says why;
//  3. the same broken network in probes mode: one directional probe per block, element-level
//     checks only in the two blocks whose probe failed.
#include <cstdio>
#include <random>

#include <xtensor-blas/xlinalg.hpp>

#include <gradcheck/gradcheck.hpp>

namespace {

// A user's own fused layer, A_out = tanh(W·A + b), with its backward written from the course's
// formulas: dZ = dA_out ⊙ (1 − A_out²), dW = dZ·Aᵀ, db = Σ_j dZ, dA = Wᵀ·dZ. Its attribute plants
// the bug: db = Σ_j dA_out (tanh' forgotten in db only).
struct DenseTanhAttrs {
  bool forget_tanh_in_db;
};
struct DenseTanh {
  static void forward(ad::Tape<double>& t, ad::Node<double>& n) {
    const auto& W = t.value(n.parents[0]);
    const auto& A = t.value(n.parents[1]);
    const auto& b = t.value(n.parents[2]);
    n.value = xt::tanh(xt::linalg::dot(W, A) + b);
  }
  static void backward(ad::Tape<double>& t, ad::Node<double>& n) {
    const auto& W = t.value(n.parents[0]);
    const auto& A = t.value(n.parents[1]);
    const ad::Tensor<double> dZ = n.grad * (1.0 - n.value * n.value);
    // Each sink assigns on a sweep's first contribution and adds later ones (the engine's contract).
    t.sink(n.parents[0]).add(xt::linalg::dot(dZ, xt::transpose(A)));
    if (t.needs_grad(n.parents[1])) t.sink(n.parents[1]).add(xt::linalg::dot(xt::transpose(W), dZ));
    const ad::Tensor<double>& for_db = n.attrs<DenseTanhAttrs>().forget_tanh_in_db ? n.grad : dZ;
    t.sink(n.parents[2]).add(xt::sum(for_db, {1}, xt::keep_dims));
  }
  static constexpr ad::OpDef<double> def{"dense_tanh", forward, backward};
};

ad::Var<double> dense_tanh(ad::Var<double> W, ad::Var<double> A, ad::Var<double> b, bool forget_tanh_in_db,
                           std::source_location where = std::source_location::current()) {
  ad::Tape<double>& tape = W.tape();
  return {&tape, tape.record(DenseTanh::def, {W.index(), A.index(), b.index()}, where,
                             DenseTanhAttrs{forget_tanh_in_db})};
}

ad::Tensor<double> randn(std::size_t rows, std::size_t cols, double scale, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0, scale);
  ad::Tensor<double> t = xt::empty<double>({rows, cols});
  for (double& x : t) x = normal(rng);
  return t;
}

constexpr std::size_t n[] = {20, 32, 32, 5}, m = 16;
constexpr double lambda = 0.7;

// The cost λ/(2m)Σ‖W[l]‖² + cross-entropy, correct or with the two bugs.
ad::Var<double> cost(ad::Tape<double>& tape, std::vector<ad::Parameter<double>>& params, const ad::Tensor<double>& X,
                     const ad::Tensor<double>& Y, bool broken) {
  ad::Var<double> A = tape.input("X", X), l2;
  for (int l = 1; l <= 3; ++l) {
    auto W = tape.parameter(params[2 * (l - 1)]);
    auto b = tape.parameter(params[2 * l - 1]);
    if (l < 3) A = broken ? dense_tanh(W, A, b, l == 2) : ad::linear(W, A, b, ad::Activation::tanh);
    else A = ad::linear(W, A, b, ad::Activation::linear);
    auto term = ad::mul_scalar(ad::sum(ad::square(W)), lambda / (2.0 * m));
    if (broken && l == 3) term = ad::detach(term);  // logged as part of the cost, cut from backward
    l2 = l == 1 ? term : l2 + term;
  }
  return ad::softmax_cross_entropy(A, tape.input("Y", Y)) + l2;
}

}  // namespace

int main(int, char** argv) {
  ad::use_best_blas_kernels(argv);
  std::mt19937_64 rng(1);
  std::vector<ad::Parameter<double>> params;
  params.reserve(6);
  for (int l = 1; l <= 3; ++l) {
    params.emplace_back(fmt::format("W[{}]", l), randn(n[l], n[l - 1], 1 / std::sqrt(double(n[l - 1])), rng));
    params.emplace_back(fmt::format("b[{}]", l), randn(n[l], 1, 0.3, rng));
  }
  const ad::Tensor<double> X = randn(n[0], m, 1, rng);
  ad::Tensor<double> Y = xt::zeros<double>({n[3], m});
  for (std::size_t j = 0; j < m; ++j) Y(j % n[3], j) = 1;
  std::vector<ad::Parameter<double>*> blocks;
  for (auto& p : params) blocks.push_back(&p);

  gc::Options options;
  options.l2_scale = lambda / m;  // lets the checker recognise an L2 term left out of backward

  bool as_expected = true;
  {
    ad::Tape<double> tape;
    auto J = cost(tape, params, X, Y, false);
    const auto report = gc::check(tape, J, blocks, options);
    std::printf("1. The network built from the engine's operations:\n\n%s\n", report.table().c_str());
    as_expected = as_expected && report.passed();
  }
  ad::Tape<double> tape;
  auto J = cost(tape, params, X, Y, true);
  {
    const auto report = gc::check(tape, J, blocks, options);
    std::printf("2. With a hand-written dense-tanh whose db forgets tanh', and W[3]'s L2 term detached:\n\n%s\n",
                report.table().c_str());
    as_expected = as_expected && !report.passed() && report.block("b[2]")->verdict == gc::Verdict::fail &&
                  report.block("W[3]")->verdict == gc::Verdict::fail;
  }
  {
    options.mode = gc::Mode::probes;
    const auto report = gc::check(tape, J, blocks, options);
    std::printf("3. The same, in probes mode (element-level checks only where a probe failed):\n\n%s",
                report.table().c_str());
  }
  if (!as_expected) std::printf("\nunexpected: the reports above do not show what this example is about\n");
  return as_expected ? 0 : 1;
}
