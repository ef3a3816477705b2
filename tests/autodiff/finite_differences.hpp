// Centered finite differences for the engine's own tests (the full checker is gradcheck/).
// Every element of every listed parameter is perturbed by ±eps, the recorded tape is replayed with
// forward(), and (J(θ+ε) − J(θ−ε)) / 2ε is compared with what backward() wrote into the
// parameter's gradient. Errors are the course's ‖a − n‖ / (‖a‖ + ‖n‖), per parameter block.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <autodiff/autodiff.hpp>

namespace fd {

struct BlockError {
  std::string name;
  double relative_error = 0;  // ‖analytic − numeric‖₂ / (‖analytic‖₂ + ‖numeric‖₂), 0 when both are 0
  double numeric_norm = 0;
  std::size_t worst = 0;      // the element with the largest |analytic − numeric|
  double worst_analytic = 0, worst_numeric = 0;
};

struct Report {
  std::vector<BlockError> blocks;
  double max_relative_error = 0;

  // One line per block, for the test log when an assertion fails.
  std::string str() const {
    std::string s;
    for (const auto& b : blocks)
      s += fmt::format("{}: relative error {:.3e} (worst element {}: analytic {:.12g}, numeric {:.12g}); ", b.name,
                       b.relative_error, b.worst, b.worst_analytic, b.worst_numeric);
    return s;
  }
};

// The cost must be (1, 1). Leaves the parameters' values as they were, and the tape replayed on them.
inline Report check(ad::Tape<double>& tape, ad::Var<double> cost, const std::vector<ad::Parameter<double>*>& params,
                    double eps = 1e-6) {
  tape.forward();
  tape.backward(cost);
  std::vector<ad::Tensor<double>> analytic;
  for (auto* p : params) analytic.push_back(p->grad);

  Report report;
  for (std::size_t k = 0; k < params.size(); ++k) {
    ad::Parameter<double>& p = *params[k];
    BlockError block{.name = p.name};
    double diff2 = 0, a2 = 0, n2 = 0, worst = -1;
    for (std::size_t i = 0; i < p.value.size(); ++i) {
      double& x = p.value.data()[i];
      const double saved = x;
      x = saved + eps;
      tape.forward();
      const double plus = cost.value()(0, 0);
      x = saved - eps;
      tape.forward();
      const double minus = cost.value()(0, 0);
      x = saved;
      const double numeric = (plus - minus) / (2 * eps), a = analytic[k].data()[i];
      diff2 += (a - numeric) * (a - numeric);
      a2 += a * a;
      n2 += numeric * numeric;
      if (std::abs(a - numeric) > worst) {
        worst = std::abs(a - numeric);
        block.worst = i;
        block.worst_analytic = a;
        block.worst_numeric = numeric;
      }
    }
    const double denominator = std::sqrt(a2) + std::sqrt(n2);
    block.relative_error = denominator > 0 ? std::sqrt(diff2) / denominator : 0.0;
    block.numeric_norm = std::sqrt(n2);
    report.max_relative_error = std::max(report.max_relative_error, block.relative_error);
    report.blocks.push_back(block);
  }
  tape.forward();
  return report;
}

}  // namespace fd

#include "fixtures.hpp"

namespace fd {

// Parameters named a, b, c, ... holding `values` (they outlive the tape), `build` applied to their
// Vars, its output weighed by a random cost, and every block checked.
template <class Build>
Report check_op(const std::vector<ad::Tensor<double>>& values, Build build, unsigned seed = 1, double eps = 1e-6) {
  std::mt19937 rng(seed);
  std::vector<ad::Parameter<double>> params;
  params.reserve(values.size());
  for (std::size_t k = 0; k < values.size(); ++k) params.emplace_back(std::string(1, char('a' + k)), values[k]);
  ad::Tape<double> tape;
  std::vector<ad::Var<double>> vars;
  std::vector<ad::Parameter<double>*> pointers;
  for (auto& p : params) {
    vars.push_back(tape.parameter(p));
    pointers.push_back(&p);
  }
  auto cost = fixtures::weighted_sum(build(vars), rng);
  return check(tape, cost, pointers, eps);
}

}  // namespace fd

// Smooth operations must agree with centered differences to this (the threshold). Every
// block must also have a nonzero gradient, or the comparison would prove nothing.
#define CHECK_GRADIENTS(report)                                                             \
  do {                                                                                      \
    const fd::Report r_ = (report);                                                         \
    BOOST_TEST_MESSAGE(r_.str());                                                           \
    BOOST_TEST(r_.max_relative_error < 1e-7, "finite differences disagree: " << r_.str()); \
    for (const auto& b_ : r_.blocks) BOOST_TEST(b_.numeric_norm > 0, b_.name << " has no gradient at all"); \
  } while (0)
