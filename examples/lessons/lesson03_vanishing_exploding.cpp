// Lesson 3 — vanishing and exploding gradients (course 2, week 1).
//
// A deep linear network, g(z) = z and b[l] = 0, with W[l] = a·I for l < L and W[L] = I, computes
// ŷ = W[L]·W[L−1]···W[1]·x = a^(L−1)·x: with a = 1.5 it explodes, with a = 0.5 it vanishes,
// exponentially in L. Backward does the same to the gradient reaching each layer:
// dA[l] = (W[L]···W[l+1])ᵀ·dŷ = a^(L−1−l)·dŷ. The network is an nn::Sequential of linear Dense
// layers, read layer by layer with nn::Inspector (Trainer::inspect: one forward and backward).
#include <cmath>
#include <vector>

#include <nn/nn.hpp>

#include "lesson.hpp"

namespace {

// The network of depth L with weight a·I, run forward and backward on x = (1, 2)ᵀ with
// J = Σ ŷ (so dŷ = (1, 1)ᵀ): ‖ŷ‖/‖x‖ and ‖dA[l]‖, ‖dW[l]‖ for l = 1..L.
struct DeepLinear {
  double gain = 0;               // ‖ŷ‖ / ‖x‖
  std::vector<double> dA_norm;   // dA_norm[l − 1] = ‖dA[l]‖, l = 1..L (dA[L] = dŷ)
  std::vector<double> dW_norm;
};

// J is the mean squared error Σ(ŷ − y)² of the one example, with y = ŷ − 1/2 so that dŷ = 2(ŷ − y)
// = (1, 1)ᵀ: the course's J = Σ ŷ, whose gradient is 1 for every output.
DeepLinear run(double a, int L) {
  nn::Sequential<double> model;
  for (int l = 1; l <= L; ++l) model.dense(2);
  model.build(2);
  for (int l = 1; l <= L; ++l)
    model.parameter(fmt::format("W[{}]", l)).value = xt::eye<double>(2) * (l < L ? a : 1.0);  // b[l] = 0
  nn::Dataset<double> data;
  data.x = ad::Tensor<double>{{1.0, 2.0}};
  data.y = xt::zeros<double>({std::size_t(1), std::size_t(2)});
  nn::GradientDescent<double> never_used(0.1);
  nn::Trainer<double> trainer(model, nn::Loss::mean_squared_error, never_used);
  const std::vector<std::size_t> example{0};
  const auto y_hat = trainer.inspect(data, example).A(std::size_t(L));  // ŷ, (2, 1)
  for (std::size_t i = 0; i < 2; ++i) data.y(0, i) = y_hat(i, 0) - 0.5;
  const auto inside = trainer.inspect(data, example);
  DeepLinear out;
  out.gain = inside.stats(std::size_t(L)).A.norm / std::sqrt(5.0);  // ‖x‖ = √5
  for (const auto& s : inside.stats()) out.dW_norm.push_back(s.dW.norm);
  for (int l = 1; l <= L; ++l) out.dA_norm.push_back(nn::stats_of(inside.dA(std::size_t(l))).norm);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = lesson::parse(argc, argv, "Lesson 3: vanishing and exploding gradients in a deep linear network");
  fmt::print("Lesson 3: vanishing/exploding gradients, W[l] = a·I (l < L), W[L] = I, ŷ = a^(L−1)·x\n");
  lesson::Claims claims("lesson03");

  for (double a : {1.5, 0.5})
    for (int L : {10, 50}) {
      const double measured = run(a, L).gain;
      claims.add(fmt::format("gain_{}_L{}", a, L), fmt::format("a = {}, L = {}: ‖ŷ‖/‖x‖", a, L),
                 fmt::format("{:.4g}", std::pow(a, L - 1)), measured);
    }

  // The course's quiz: which of these vanishes the most?
  struct Option { const char* text; double a; int L; };
  const Option quiz[] = {{"w = 0.5E, 5 layers", 0.5, 5}, {"w = 1.5E, 10 layers", 1.5, 10},
                         {"w = 0.3E, 5 layers", 0.3, 5}, {"w = 0.3E, 10 layers", 0.3, 10}};
  int answer = 0;
  double smallest = INFINITY;
  for (int i = 0; i < 4; ++i) {
    const double g = run(quiz[i].a, quiz[i].L).gain;
    claims.add(fmt::format("quiz_{}", i + 1), fmt::format("quiz ({}) {}: ‖ŷ‖/‖x‖", i + 1, quiz[i].text),
               fmt::format("{:.3g}", std::pow(quiz[i].a, quiz[i].L - 1)), g);
    if (g < smallest) smallest = g, answer = i + 1;
  }
  claims.add("quiz_answer", "quiz: the option that vanishes most", "(4) 0.3E, 10 layers", answer);

  // Per-layer gradients in a 20-layer network.
  const int L = 20;
  std::vector<double> layer;
  for (int l = 1; l <= L; ++l) layer.push_back(l);
  std::vector<plot::Series> dA_series;
  for (double a : {1.5, 1.0, 0.5}) {
    const DeepLinear net = run(a, L);
    dA_series.push_back({fmt::format("a = {}", a), net.dA_norm});
    claims.add(fmt::format("dA1_over_dA{}_{}", L - 1, a), fmt::format("a = {}: ‖dA[1]‖ / ‖dA[{}]‖", a, L - 1),
               fmt::format("a^{} = {:.3g}", L - 2, std::pow(a, L - 2)), net.dA_norm[0] / net.dA_norm[L - 2]);
    // dW[l] = dZ[l]·A[l−1]ᵀ = a^(L−1−l)·a^(l−1): one size for every l < L, a^(L−2) times √2·‖x‖.
    claims.add(fmt::format("dW1_{}", a), fmt::format("a = {}: ‖dW[1]‖ (= ‖dW[l]‖ for l < L)", a),
               fmt::format("√10·a^{} = {:.3g}", L - 2, std::sqrt(10.0) * std::pow(a, L - 2)), net.dW_norm[0]);
  }
  lesson::report(plot::line(args.out / "lesson03_gradient_per_layer",
                            {.x_name = "layer", .x = layer, .series = dA_series, .log_y = true},
                            {fmt::format("‖dA[l]‖ in a {}-layer linear network, W[l] = a·I", L), "layer l",
                             "‖dA[l]‖"}));

  // The quiz as curves: ‖ŷ‖/‖x‖ against depth.
  std::vector<double> depth;
  std::vector<plot::Series> gains;
  for (int d = 1; d <= 10; ++d) depth.push_back(d);
  for (double a : {1.5, 0.5, 0.3}) {
    plot::Series s{fmt::format("a = {}", a), {}};
    for (int d = 1; d <= 10; ++d) s.y.push_back(run(a, d).gain);
    gains.push_back(s);
  }
  lesson::report(plot::line(args.out / "lesson03_output_vs_depth",
                            {.x_name = "L", .x = depth, .series = gains, .log_y = true},
                            {"‖ŷ‖/‖x‖ = a^(L−1) against the depth L", "L (layers)", "‖ŷ‖ / ‖x‖"}));
  claims.finish(args.out);
}
