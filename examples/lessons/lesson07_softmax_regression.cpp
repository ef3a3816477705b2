// Lesson 7 — softmax regression (course 2, week 3).
//
// The course's example z[L] = (5, 2, −1, 3): softmax (0.842, 0.042, 0.002, 0.114), hardmax
// (1, 0, 0, 0). A softmax classifier with no hidden layer, Z = W·X + b, trained on three clouds
// of 2-D points: the class regions it predicts are separated by straight lines,
// (w_i − w_j)·x + b_i − b_j = 0. The gradient of the cost with respect to the logits is
// dZ = ŷ − y per example ((ŷ − y)/m for the cost averaged over m), confirmed by the gradient
// checker on the logits as a parameter.
#include <cmath>
#include <vector>

#include <gradcheck/gradcheck.hpp>
#include <nn/init.hpp>

#include "lesson.hpp"

namespace {

constexpr std::size_t classes = 3, per_class = 100, m = classes * per_class;

// The column's class: the index of its largest value (hardmax's 1).
std::size_t hardmax(const ad::Tensor<double>& Z, std::size_t j) {
  std::size_t best = 0;
  for (std::size_t c = 1; c < Z.shape()[0]; ++c)
    if (Z(c, j) > Z(best, j)) best = c;
  return best;
}

std::vector<double> row(const ad::Tensor<double>& t, std::size_t r) {
  std::vector<double> v(t.shape()[1]);
  for (std::size_t j = 0; j < v.size(); ++j) v[j] = t(r, j);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = lesson::parse(argc, argv, "Lesson 7: softmax regression, its linear regions and dZ = ŷ − y");
  fmt::print("Lesson 7: softmax regression on three clouds of points, Z = W·X + b\n");
  lesson::Claims claims("lesson07");

  {  // The course's example, through the engine's softmax.
    ad::Tape<double> tape;
    auto z = tape.input("z", ad::Tensor<double>{{5.0}, {2.0}, {-1.0}, {3.0}});
    const ad::Tensor<double> a = ad::softmax(z).value();
    const char* course[] = {"0.842", "0.042", "0.002", "0.114"};
    for (std::size_t i = 0; i < 4; ++i)
      claims.add(fmt::format("softmax_{}", i + 1), fmt::format("softmax(5, 2, −1, 3)[{}]", i + 1), course[i], a(i, 0));
    claims.add("hardmax", "hardmax(5, 2, −1, 3): the row of its 1", "1 (first)", double(hardmax(a, 0) + 1));
  }

  // Three Gaussian clouds, one column per example.
  const double centres[classes][2] = {{-2.0, -1.0}, {2.0, -1.0}, {0.0, 2.5}};
  auto rng = nn::rng_for(7, "points");
  ad::Tensor<double> X = xt::zeros<double>({std::size_t(2), m}), Y = xt::zeros<double>({classes, m});
  std::vector<int> label(m);
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t c = j / per_class;
    X(0, j) = centres[c][0] + 0.9 * nn::standard_normal(rng);
    X(1, j) = centres[c][1] + 0.9 * nn::standard_normal(rng);
    Y(c, j) = 1;
    label[j] = int(c);
  }

  ad::Parameter<double> W("W", ad::Tensor<double>(xt::zeros<double>({classes, std::size_t(2)})));
  ad::Parameter<double> b("b", ad::Tensor<double>(xt::zeros<double>({classes, std::size_t(1)})));
  ad::Tape<double> tape;
  auto Xin = tape.input("X", X);
  auto Yin = tape.input("Y", Y);
  auto Z = ad::linear(tape.parameter(W), Xin, tape.parameter(b)).named("Z");
  auto J = ad::softmax_cross_entropy(Z, Yin);
  for (int step = 0; step < 300; ++step) {
    tape.forward();
    tape.backward(J);
    W.value -= 0.5 * W.grad;
    b.value -= 0.5 * b.grad;
  }
  tape.forward();
  std::size_t right = 0;
  for (std::size_t j = 0; j < m; ++j) right += hardmax(Z.value(), j) == std::size_t(label[j]);
  claims.add("cost", "cost after 300 steps of gradient descent", "-", J.value()(0, 0));
  claims.add("accuracy", "training accuracy", "≈ 1 (separable clouds)", double(right) / m);

  {  // dZ = (ŷ − y)/m, and the checker's verdict on it: the logits as a parameter.
    ad::Parameter<double> logits("Z", Z.value());
    ad::Tape<double> check_tape;
    auto cost = ad::softmax_cross_entropy(check_tape.parameter(logits), check_tape.input("Y", Y));
    check_tape.backward(cost);
    ad::Tape<double> softmax_tape;
    const ad::Tensor<double> y_hat = ad::softmax(softmax_tape.input("Z", Z.value())).value();
    double max_diff = 0;
    for (std::size_t c = 0; c < classes; ++c)
      for (std::size_t j = 0; j < m; ++j)
        max_diff = std::max(max_diff, std::abs(logits.grad(c, j) - (y_hat(c, j) - Y(c, j)) / double(m)));
    claims.add("dZ_max_diff", "max |dZ − (ŷ − y)/m| (the engine's backward)", "0", max_diff);
    const gc::Report report = gc::check(check_tape, cost, {&logits});
    claims.add("gradcheck_relative_error", "gradient check of dZ: relative error", "< 1e-7", report.relative_error);
    claims.add("gradcheck_passed", "gradient check passed", "1", report.passed() ? 1.0 : 0.0);
  }

  // The regions: the grid fed through the same tape (a feed of another column count), hardmax of Z.
  plot::Grid regions = plot::Grid::axes(-5, 5, 120, -4, 6, 120);
  ad::Tensor<double> grid_points = xt::zeros<double>({std::size_t(2), regions.x.size() * regions.y.size()});
  for (std::size_t i = 0; i < regions.x.size(); ++i)
    for (std::size_t k = 0; k < regions.y.size(); ++k) {
      grid_points(0, i * regions.y.size() + k) = regions.x[i];
      grid_points(1, i * regions.y.size() + k) = regions.y[k];
    }
  tape.feed(Xin, grid_points);
  tape.feed(Yin, ad::Tensor<double>(xt::zeros<double>({classes, grid_points.shape()[1]})));
  tape.forward();
  for (std::size_t j = 0; j < regions.z.size(); ++j) regions.z[j] = double(hardmax(Z.value(), j));

  // Linear boundaries: every grid point next to a point of another class lies within one grid
  // step of the line (w_i − w_j)·x + b_i − b_j = 0 between the two classes.
  const double step = std::hypot(regions.x[1] - regions.x[0], regions.y[1] - regions.y[0]);
  double worst = 0;
  for (std::size_t i = 0; i + 1 < regions.x.size(); ++i)
    for (std::size_t k = 0; k < regions.y.size(); ++k) {
      const auto a = std::size_t(regions.at(i, k)), c = std::size_t(regions.at(i + 1, k));
      if (a == c) continue;
      const double dw0 = W.value(a, 0) - W.value(c, 0), dw1 = W.value(a, 1) - W.value(c, 1);
      const double distance = std::abs(dw0 * regions.x[i] + dw1 * regions.y[k] + b.value(a, 0) - b.value(c, 0)) /
                              std::hypot(dw0, dw1);
      worst = std::max(worst, distance / step);
    }
  claims.add("boundary_distance", "boundary cells: distance to the line w_i·x + b_i = w_j·x + b_j (grid steps)",
             "≤ 1 (linear boundaries)", worst);

  lesson::report(plot::regions(args.out / "lesson07_regions", {row(X, 0), row(X, 1), label}, regions,
                               {"Softmax regression: predicted classes (hardmax of W·x + b)", "x1", "x2"}));
  claims.finish(args.out);
}
