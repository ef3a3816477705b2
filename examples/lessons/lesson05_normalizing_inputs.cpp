// Lesson 5 — normalizing inputs (course 2, week 1).
//
// Linear regression, ŷ = w1·x1 + w2·x2 + b, with x1 of scale 1 and x2 of scale 30. Raw, the cost
// J(w1, w2) is a long narrow valley: gradient descent must use a learning rate small enough for
// the steep direction (1/λ_max of the Hessian) and crawls along the flat one. Normalized with
// the training set's μ and σ (nn::Normalizer), the contours are round and a few steps suffice.
// A test set normalized with its own μ and σ instead of the training set's is shifted: its cost
// is far higher.
#include <cmath>
#include <vector>

#include <autodiff/autodiff.hpp>
#include <nn/init.hpp>
#include <nn/normalize.hpp>

#include "lesson.hpp"

namespace {

constexpr std::size_t m = 200;
constexpr double scale2 = 30.0;

struct Problem {
  ad::Tensor<double> x_rows, y;  // (m, 2) one example per row, as nn's Dataset; y (1, m)
};

// y = 2·x1 + 0.1·x2 + 1 + noise; x2_shift moves the x2 of every example (a test set drawn elsewhere).
Problem make(std::size_t count, const char* name, double x2_shift) {
  auto rng = nn::rng_for(5, name);
  Problem p{xt::zeros<double>({count, std::size_t(2)}), xt::zeros<double>({std::size_t(1), count})};
  for (std::size_t i = 0; i < count; ++i) {
    p.x_rows(i, 0) = nn::standard_normal(rng);
    p.x_rows(i, 1) = scale2 * nn::standard_normal(rng) + x2_shift;
    p.y(0, i) = 2 * p.x_rows(i, 0) + 0.1 * p.x_rows(i, 1) + 1 + 0.1 * nn::standard_normal(rng);
  }
  return p;
}

// Gradient descent on the MSE cost of a linear model, on the engine's replayed tape.
struct Regression {
  ad::Parameter<double> W{"W", xt::zeros<double>({std::size_t(1), std::size_t(2)})};
  ad::Parameter<double> b{"b", xt::zeros<double>({std::size_t(1), std::size_t(1)})};
  ad::Tape<double> tape;
  ad::Var<double> X, Y, J;
  Regression(const ad::Tensor<double>& x_rows, const ad::Tensor<double>& y) {
    X = tape.input("X", xt::transpose(x_rows));  // the course's (n_x, m)
    Y = tape.input("Y", y);
    J = ad::mean(ad::square(ad::linear(tape.parameter(W), X, tape.parameter(b)) - Y));
  }
  double cost() {
    tape.forward();
    return J.value()(0, 0);
  }
  // The largest eigenvalue of J's Hessian, (2/m)·[X; 1][X; 1]ᵀ (power iteration): GD is stable
  // below α = 2/λ_max, and α = 1/λ_max is the fastest safe rate for the steep direction.
  double lambda_max() const {
    const auto& x = tape.value(X.index());
    const std::size_t n = x.shape()[1];
    double H[3][3] = {};
    for (std::size_t j = 0; j < n; ++j) {
      const double v[3] = {x(0, j), x(1, j), 1.0};
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) H[r][c] += 2.0 * v[r] * v[c] / double(n);
    }
    double u[3] = {1, 1, 1}, lambda = 0;
    for (int it = 0; it < 500; ++it) {
      double w[3] = {};
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) w[r] += H[r][c] * u[c];
      lambda = std::sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
      for (int r = 0; r < 3; ++r) u[r] = w[r] / lambda;
    }
    return lambda;
  }
  // Steps until J ≤ target (at most `limit`); the (w1, w2) path of the first `keep` steps.
  int descend(double alpha, double target, int limit, std::vector<double>& w1, std::vector<double>& w2, int keep) {
    for (int step = 0; step < limit; ++step) {
      if (step < keep) w1.push_back(W.value(0, 0)), w2.push_back(W.value(0, 1));
      tape.forward();
      if (J.value()(0, 0) <= target) return step;
      tape.backward(J);
      W.value -= alpha * W.grad;
      b.value -= alpha * b.grad;
    }
    return limit;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const auto args = lesson::parse(argc, argv, "Lesson 5: normalizing inputs (raw vs normalized features)");
  fmt::print("Lesson 5: normalizing inputs, ŷ = w1·x1 + w2·x2 + b, x1 of scale 1, x2 of scale {}\n", scale2);
  lesson::Claims claims("lesson05");
  const Problem train = make(m, "train", 0.0);

  nn::Normalizer<double> normalizer;
  normalizer.fit(train.x_rows);  // μ and σ of the training set only
  ad::Tensor<double> x_normalized = train.x_rows;
  normalizer.apply(x_normalized);

  Regression raw(train.x_rows, train.y), normalized(x_normalized, train.y);
  // The target: within 1% of the cost the normalized model converges to.
  Regression reference(x_normalized, train.y);
  std::vector<double> unused1, unused2;
  reference.descend(1 / reference.lambda_max(), 0, 2000, unused1, unused2, 0);
  const double target = 1.01 * reference.cost();

  const double raw_kappa = raw.lambda_max(), normalized_kappa = normalized.lambda_max();
  std::vector<double> raw_w1, raw_w2, norm_w1, norm_w2;
  const int raw_steps = raw.descend(1 / raw_kappa, target, 200000, raw_w1, raw_w2, 60);
  const int norm_steps = normalized.descend(1 / normalized_kappa, target, 200000, norm_w1, norm_w2, 60);
  claims.add("raw_lambda_max", "raw: λ_max of the Hessian (α = 1/λ_max)", "large (x2's scale²)", raw_kappa);
  claims.add("normalized_lambda_max", "normalized: λ_max of the Hessian", "~2", normalized_kappa);
  claims.add("raw_steps", "raw: steps to reach J ≤ 1.01·J*", "many", raw_steps);
  claims.add("normalized_steps", "normalized: steps to reach J ≤ 1.01·J*", "few", norm_steps);
  claims.add("target_cost", "J* (the converged cost) · 1.01", "-", target);

  // The contours of J(w1, w2) with b at its final value: elongated raw, round normalized.
  auto surface = [](Regression& r, double x0, double x1, double y0, double y1) {
    const double w1 = r.W.value(0, 0), w2 = r.W.value(0, 1);
    auto g = plot::Grid::sample(x0, x1, 70, y0, y1, 70, [&](double a, double c) {
      r.W.value(0, 0) = a;
      r.W.value(0, 1) = c;
      return r.cost();
    });
    r.W.value(0, 0) = w1, r.W.value(0, 1) = w2;
    g.z_name = "J";
    return g;
  };
  lesson::report(plot::trajectories(args.out / "lesson05_raw_contours", surface(raw, -1.0, 4.0, -0.5, 0.5),
                                    {{"gradient descent (raw)", raw_w1, raw_w2}},
                                    {"Raw features: J(w1, w2), the first 60 steps", "w1", "w2"}, {.levels = 14, .log_z = true}));
  lesson::report(plot::trajectories(args.out / "lesson05_normalized_contours",
                                    surface(normalized, -1.0, 4.0, -1.0, 4.0),
                                    {{"gradient descent (normalized)", norm_w1, norm_w2}},
                                    {"Normalized features: J(w1, w2)", "w1", "w2"}, {.levels = 14, .log_z = true}));

  // A test set whose x2 sits higher: normalized with the training set's μ, σ (right) or its own.
  const Problem test = make(50, "test", 20.0);
  ad::Tensor<double> with_train = test.x_rows, with_own = test.x_rows;
  normalizer.apply(with_train);
  nn::Normalizer<double> own;
  own.fit(test.x_rows);
  own.apply(with_own);
  auto test_cost = [&](const ad::Tensor<double>& x_rows) {
    normalized.tape.feed(normalized.X, xt::transpose(x_rows));
    normalized.tape.feed(normalized.Y, test.y);
    return normalized.cost();
  };
  const double right = test_cost(with_train), wrong = test_cost(with_own);
  claims.add("test_cost_train_stats", "test cost, normalized with the training μ, σ", "low", right);
  claims.add("test_cost_own_stats", "test cost, normalized with its own μ, σ", "high", wrong);
  claims.finish(args.out);
}
