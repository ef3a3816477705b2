// Lesson 4 — weight initialization for deep networks (course 2, week 1).
//
// Var(W[l]) = 2/n[l−1] (He, for ReLU), 1/n[l−1] (Xavier, for tanh), 2/(n[l−1] + n[l]) (Glorot):
// each measured on a large draw of nn::initialize. Then a 10-layer ReLU network (100 units a
// layer) under zeros, 0.01·N(0, 1), Xavier and He: the scale of each layer's activations A[l]
// and gradients dW[l]. He keeps both steady; Xavier halves the variance at every ReLU layer;
// 0.01 makes them vanish; zeros give exactly zero, and gradient descent never breaks the symmetry.
//
// The network is an nn::Sequential; the per-layer values are read with nn::Inspector
// (Trainer::inspect), by the course's layer number.
#include <cmath>
#include <string>
#include <vector>

#include <nn/nn.hpp>

#include "lesson.hpp"

namespace {

constexpr int hidden_layers = 10;
constexpr std::size_t units = 100, classes = 10, examples = 256;

double sample_variance(const ad::Tensor<double>& t) {
  double mean = 0, sq = 0;
  for (double v : t) mean += v;
  mean /= double(t.size());
  for (double v : t) sq += (v - mean) * (v - mean);
  return sq / double(t.size());
}

struct Scales {
  std::vector<double> activation_std, gradient_std;  // per hidden layer l = 1..10
  double max_row_spread = 0;  // max over l, i of max |W[l](i, :) − W[l](0, :)| after training
};

// Forward and backward once on `data`: per-layer scales; then `steps` of gradient descent.
Scales measure(const nn::Init& init, const nn::Dataset<double>& data, int steps) {
  nn::Sequential<double> model;
  for (int l = 1; l <= hidden_layers; ++l) model.dense(units, nn::Activation::relu, init);
  model.dense(classes, nn::Activation::linear, init);
  model.build(units, 4);  // W[l] drawn from nn::rng_for(4, "W[l]")
  nn::GradientDescent<double> gd(0.1);
  nn::TrainOptions options;
  options.progress = nn::Progress::none;
  nn::Trainer<double> trainer(model, nn::Loss::softmax_cross_entropy, gd, options);
  std::vector<std::size_t> all(data.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  const auto inside = trainer.inspect(data, all);
  Scales s;
  for (int l = 1; l <= hidden_layers; ++l) {
    const auto stats = inside.stats(std::size_t(l));
    s.activation_std.push_back(stats.A.std);
    s.gradient_std.push_back(stats.dW.std);
  }
  for (int step = 0; step < steps; ++step) trainer.step(data, all);
  for (int l = 1; l <= hidden_layers + 1; ++l) {
    const auto& W = model.parameter(fmt::format("W[{}]", l)).value;
    for (std::size_t i = 1; i < W.shape()[0]; ++i)
      for (std::size_t j = 0; j < W.shape()[1]; ++j)
        s.max_row_spread = std::max(s.max_row_spread, std::abs(W(i, j) - W(0, j)));
  }
  return s;
}

// Zero scales become gaps on the log plot (and empty cells in the CSV).
std::vector<double> positive(std::vector<double> v) {
  for (double& x : v)
    if (!(x > 0)) x = NAN;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = lesson::parse(argc, argv, "Lesson 4: weight initialization (He, Xavier, zeros, 0.01·random)");
  fmt::print("Lesson 4: weight initialization, a {}-layer ReLU network of {} units\n", hidden_layers, units);
  lesson::Claims claims("lesson04");

  // Variances of large draws: W is (n[l], n[l−1]) = (1000, 500).
  const std::size_t n_prev = 500, n_l = 1000;
  struct Rule { const char* key; const char* text; nn::Init init; double variance; const char* course; };
  const Rule rules[] = {{"he", "He: Var(W) · n[l−1] / 2", nn::Init::he(), 2.0 / n_prev, "2/n[l−1]"},
                        {"xavier", "Xavier: Var(W) · n[l−1]", nn::Init::xavier(), 1.0 / n_prev, "1/n[l−1]"},
                        {"glorot", "Glorot: Var(W) · (n[l−1] + n[l]) / 2", nn::Init::glorot(),
                         2.0 / double(n_prev + n_l), "2/(n[l−1]+n[l])"}};
  for (const auto& r : rules) {
    ad::Tensor<double> W = xt::zeros<double>({n_l, n_prev});
    auto rng = nn::rng_for(1, r.key);
    nn::initialize(W, r.init, rng);
    claims.add(fmt::format("{}_variance_ratio", r.key), r.text, fmt::format("1 ({})", r.course),
               sample_variance(W) / r.variance);
  }

  // The deep network on standard-normal inputs with random labels.
  auto rng = nn::rng_for(2, "X");
  nn::Dataset<double> data;  // one example per row
  data.x = xt::zeros<double>({examples, units});
  for (std::size_t k = 0; k < units; ++k)  // the draws in the course's (n, m) order
    for (std::size_t j = 0; j < examples; ++j) data.x(j, k) = nn::standard_normal(rng);
  std::vector<std::int32_t> labels;
  for (std::size_t j = 0; j < examples; ++j) labels.push_back(std::int32_t(nn::uniform01(rng) * classes));
  data.y = nn::one_hot_rows<double>(labels, classes);

  struct Candidate { const char* key; const char* name; nn::Init init; };
  const Candidate inits[] = {{"zeros", "zeros", nn::Init::zeros()},
                             {"small", "0.01·random", nn::Init::small_random()},
                             {"xavier", "Xavier", nn::Init::xavier()},
                             {"he", "He", nn::Init::he()}};
  std::vector<double> layer;
  for (int l = 1; l <= hidden_layers; ++l) layer.push_back(l);
  std::vector<plot::Series> activations, gradients;
  for (const auto& c : inits) {
    const Scales s = measure(c.init, data, 20);
    activations.push_back({c.name, positive(s.activation_std)});
    gradients.push_back({c.name, positive(s.gradient_std)});
    const double ratio = s.activation_std.front() > 0 ? s.activation_std.back() / s.activation_std.front() : 0;
    const char* course = c.init.kind == nn::InitKind::he       ? "~1 (kept)"
                         : c.init.kind == nn::InitKind::xavier ? "(1/√2)^9 = 0.044"
                         : c.init.kind == nn::InitKind::zeros  ? "0"
                                                               : "→ 0 (vanishes)";
    claims.add(fmt::format("{}_A10_std", c.key), fmt::format("{}: std A[10]", c.name), "-", s.activation_std.back());
    claims.add(fmt::format("{}_A10_over_A1", c.key), fmt::format("{}: std A[10] / std A[1]", c.name), course, ratio);
    claims.add(fmt::format("{}_dW1_std", c.key), fmt::format("{}: std dW[1]", c.name),
               c.init.kind == nn::InitKind::zeros ? "0" : "-", s.gradient_std.front());
    claims.add(fmt::format("{}_row_spread", c.key),
               fmt::format("{}: max |W[l](i,:) − W[l](0,:)| after 20 steps", c.name),
               c.init.kind == nn::InitKind::zeros ? "0 (symmetric)" : "> 0", s.max_row_spread);
  }
  lesson::report(plot::line(args.out / "lesson04_activation_scale",
                            {.x_name = "layer", .x = layer, .series = activations, .log_y = true},
                            {"std of A[l], 10 ReLU layers of 100 units (zeros: exactly 0, not drawn)", "layer l",
                             "std A[l]"}));
  lesson::report(plot::line(args.out / "lesson04_gradient_scale",
                            {.x_name = "layer", .x = layer, .series = gradients, .log_y = true},
                            {"std of dW[l] (zeros: exactly 0, not drawn)", "layer l", "std dW[l]"}));
  claims.finish(args.out);
}
