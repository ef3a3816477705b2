// Lesson 1 — numerical approximation of gradients (course 2, week 1).
//
// f(θ) = θ³ at θ = 1, whose derivative is g(θ) = 3θ² = 3. The two-sided difference
// (f(θ+ε) − f(θ−ε)) / 2ε has error O(ε²) (here exactly ε²), the one-sided (f(θ+ε) − f(θ)) / ε
// has error O(ε) (3ε + ε²). The engine records f once on a tape and replays it at θ ± ε; its
// backward gives the exact g. An ε sweep from 1e-1 to 1e-12 shows both orders on a log-log plot
// and where rounding (about machine ε / ε) takes over.
#include <cmath>
#include <vector>

#include <autodiff/autodiff.hpp>

#include "lesson.hpp"

namespace {

// The least-squares slope of log10(error) against log10(ε) over the points with lo ≤ ε ≤ hi.
double log_log_slope(const std::vector<double>& eps, const std::vector<double>& err, double lo, double hi) {
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < eps.size(); ++i) {
    if (eps[i] < lo || eps[i] > hi) continue;
    const double x = std::log10(eps[i]), y = std::log10(err[i]);
    n += 1, sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = lesson::parse(argc, argv, "Lesson 1: numerical approximation of gradients (θ³ at θ = 1)");
  fmt::print("Lesson 1: numerical approximation of gradients, f(θ) = θ³ at θ = 1\n");

  ad::Parameter<double> theta("θ", ad::Tensor<double>{{1.0}});
  ad::Tape<double> tape;
  auto J = ad::pow(tape.parameter(theta), 3.0);  // f(θ) = θ³, a (1, 1) cost
  tape.backward(J);
  const double g = theta.grad(0, 0);  // the engine's exact derivative 3θ²

  // f at θ + h, replaying the recorded graph (θ restored afterwards).
  auto f_at = [&](double h) {
    theta.value(0, 0) = 1.0 + h;
    tape.forward();
    const double value = J.value()(0, 0);
    theta.value(0, 0) = 1.0;
    return value;
  };
  auto centered = [&](double eps) { return (f_at(eps) - f_at(-eps)) / (2 * eps); };
  auto one_sided = [&](double eps) { return (f_at(eps) - f_at(0)) / eps; };

  lesson::Claims claims("lesson01");
  claims.add("analytic", "g(θ) = 3θ² (the engine's backward)", "3", g);
  claims.add("centered_at_0.01", "two-sided difference, ε = 0.01", "3.0001", centered(0.01));
  claims.add("centered_error_at_0.01", "  its error (ε²)", "0.0001", std::abs(centered(0.01) - 3));
  claims.add("one_sided_at_0.01", "one-sided difference, ε = 0.01", "3.0301", one_sided(0.01));
  claims.add("one_sided_error_at_0.01", "  its error (3ε + ε²)", "0.0301", std::abs(one_sided(0.01) - 3));

  // The sweep: three points a decade, 1e-1 .. 1e-12.
  std::vector<double> eps, centered_error, one_sided_error, eps_squared, three_eps;
  for (int k = 3; k <= 36; ++k) {
    const double e = std::pow(10.0, -k / 3.0);
    eps.push_back(e);
    centered_error.push_back(std::abs(centered(e) - g));
    one_sided_error.push_back(std::abs(one_sided(e) - g));
    eps_squared.push_back(e * e);
    three_eps.push_back(3 * e);
  }
  auto best = [&](const std::vector<double>& err) {
    std::size_t i = 0;
    for (std::size_t j = 0; j < err.size(); ++j)
      if (err[j] > 0 && (err[i] == 0 || err[j] < err[i])) i = j;
    return eps[i];
  };
  claims.add("centered_slope", "two-sided: error ∝ ε^slope, ε in [1e-3, 1e-1]", "O(ε²): 2",
             log_log_slope(eps, centered_error, 1e-3, 0.11));
  claims.add("one_sided_slope", "one-sided: error ∝ ε^slope, ε in [1e-3, 1e-1]", "O(ε): 1",
             log_log_slope(eps, one_sided_error, 1e-3, 0.11));
  claims.add("centered_best_eps", "two-sided: ε of the smallest error", "~ (machine ε)^(1/3)", best(centered_error));
  claims.add("one_sided_best_eps", "one-sided: ε of the smallest error", "~ (machine ε)^(1/2)", best(one_sided_error));
  claims.add("centered_error_at_1e-12", "two-sided error at ε = 1e-12 (rounding)", "~ machine ε / ε",
             centered_error.back());

  lesson::report(plot::line(args.out / "lesson01_eps_sweep",
                            {.x_name = "epsilon",
                             .x = eps,
                             .series = {{"two-sided |error|", centered_error},
                                        {"one-sided |error|", one_sided_error},
                                        {"eps^2", eps_squared},
                                        {"3 eps", three_eps}},
                             .log_x = true,
                             .log_y = true},
                            {"Gradient of θ³ at θ = 1: error of the difference quotients", "ε", "|approximation − 3|"}));
  claims.finish(args.out);
}
