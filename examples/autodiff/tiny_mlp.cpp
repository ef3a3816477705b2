// A lesson in the engine alone: a 2-16-16-1 tanh network learns an XOR-like problem (is x1·x2 > 0?)
// with plain gradient descent, in float.
//
// The graph is recorded once on a tape and then replayed: each step runs tape.forward() and
// tape.backward(J) on the same nodes, which writes every parameter's gradient (overwriting the last
// one), and we step the weights against it. Evaluating on a test set of another size is just a
// feed of new inputs and one more forward().
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include <autodiff/autodiff.hpp>

namespace {

// m points uniform in [-1, 1]², one per column (the course's X is (n_x, m)); label 1 when x1·x2 > 0.
void make_xor(std::size_t m, std::mt19937& rng, ad::Tensor<float>& X, ad::Tensor<float>& Y) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  X = xt::empty<float>({std::size_t(2), m});
  Y = xt::empty<float>({std::size_t(1), m});
  for (std::size_t j = 0; j < m; ++j) {
    X(0, j) = u(rng);
    X(1, j) = u(rng);
    Y(0, j) = X(0, j) * X(1, j) > 0 ? 1.f : 0.f;
  }
}

// Fraction of examples whose logit has the label's sign (σ(z) > 0.5 ⇔ z > 0).
float accuracy(const ad::Tensor<float>& logits, const ad::Tensor<float>& Y) {
  std::size_t right = 0;
  for (std::size_t j = 0; j < Y.size(); ++j) right += (logits(0, j) > 0) == (Y(0, j) > 0.5f);
  return float(right) / float(Y.size());
}

}  // namespace

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  const int steps = argc > 1 ? std::atoi(argv[1]) : 4000;
  const float learning_rate = 1.0f;
  std::mt19937 rng(1);

  ad::Tensor<float> X_train, Y_train, X_test, Y_test;
  make_xor(256, rng, X_train, Y_train);
  make_xor(1000, rng, X_test, Y_test);

  // W[l] is (n[l], n[l-1]) with Xavier scale 1/√n[l-1] (for tanh), b[l] is (n[l], 1) of zeros.
  // The parameters live outside the tape, at stable addresses: a vector reserved up front.
  const std::size_t n[] = {2, 16, 16, 1};
  std::vector<ad::Parameter<float>> params;
  params.reserve(6);
  for (int l = 1; l <= 3; ++l) {
    std::normal_distribution<float> normal(0.f, 1.f / std::sqrt(float(n[l - 1])));
    ad::Tensor<float> W = xt::empty<float>({n[l], n[l - 1]});
    for (float& w : W) w = normal(rng);
    params.emplace_back(fmt::format("W[{}]", l), W);
    params.emplace_back(fmt::format("b[{}]", l), ad::Tensor<float>(xt::zeros<float>({n[l], std::size_t(1)})));
  }

  // Record the graph once: A[l] = tanh(W[l]·A[l-1] + b[l]), then the logits Z[3] and the cost.
  ad::Tape<float> tape;
  auto X = tape.input("X", X_train);
  auto Y = tape.input("Y", Y_train);
  auto A = X;
  for (int l = 1; l <= 2; ++l)
    A = ad::linear(tape.parameter(params[2 * l - 2]), A, tape.parameter(params[2 * l - 1]), ad::Activation::tanh);
  auto Z3 = ad::linear(tape.parameter(params[4]), A, tape.parameter(params[5])).named("Z[3]");
  auto J = ad::sigmoid_cross_entropy(Z3, Y);  // binary cross-entropy on σ(Z[3]), averaged over m

  // Train: replay forward and backward, then W := W − α·dW for every parameter.
  for (int step = 0; step <= steps; ++step) {
    tape.forward();
    tape.backward(J);
    if (step % 500 == 0) std::printf("step %5d   cost %.4f\n", step, J.value()(0, 0));
    for (auto& p : params) {
      float* w = p.value.data();
      const float* g = p.grad.data();
      for (std::size_t i = 0; i < p.value.size(); ++i) w[i] -= learning_rate * g[i];
    }
  }

  tape.forward();
  std::printf("train accuracy %.1f%%\n", 100 * accuracy(Z3.value(), Y_train));
  // Evaluate: feed the test set (1000 columns instead of 256) and replay forward only.
  tape.feed(X, X_test);
  tape.feed(Y, Y_test);
  tape.forward();
  std::printf("test accuracy  %.1f%%   (test cost %.4f)\n", 100 * accuracy(Z3.value(), Y_test), J.value()(0, 0));
}
