// Lesson 2 — gradient checking, the course's way and ours (course 2, week 1).
//
// The course's recipe: every parameter W[1], b[1], …, W[L], b[L] as one vector θ, the gradient
// dθ from backward in the same order, dθ_approx[i] = (J(θ + εe_i) − J(θ − εe_i)) / 2ε with
// ε = 1e-7, and one relative error ‖dθ_approx − dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂): ~1e-7 great,
// ~1e-3 a bug. Here it is done by hand with gc::to_vector / gc::from_vector / gc::relative_error,
// beside gc::check (the same per block, with a verdict and a diagnosis), on a 4-5-3-1 tanh network
// with a sigmoid output and the L2 term λ/(2m)·Σ‖W[l]‖², at random initialization and after
// training. With dropout the course says switch it off, since each evaluation of J draws a new
// mask; a frozen tape reuses its last mask, and the check holds with dropout on. Then one planted
// bug at a time, in a hand-written dense-tanh layer: the course's single number says "a bug", the
// report says in which block and why.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <xtensor-blas/xlinalg.hpp>

#include <gradcheck/gradcheck.hpp>

#include "lesson.hpp"

namespace {

constexpr std::size_t n[] = {4, 5, 3, 1}, L = 3, m = 8;
constexpr double lambda = 0.7, eps = 1e-7;

enum Bug : int { none, db_forgets_tanh_prime, dW_times_m, dW_sign_flipped, l2_left_out_of_backward };

// A user's own layer tanh(W·A + b) with backward from the course's formulas, dZ = dA ⊙ (1 − A²),
// dW = dZ·Aᵀ, db = Σ_j dZ, dA_prev = Wᵀ·dZ; its attribute plants one bug (an enum Bug).
struct DenseTanhAttrs {
  Bug bug;
};
struct DenseTanh {
  static void forward(ad::Tape<double>& t, ad::Node<double>& node) {
    node.value = xt::tanh(xt::linalg::dot(t.value(node.parents[0]), t.value(node.parents[1])) +
                          t.value(node.parents[2]));
  }
  static void backward(ad::Tape<double>& t, ad::Node<double>& node) {
    const auto& W = t.value(node.parents[0]);
    const auto& A = t.value(node.parents[1]);
    const ad::Tensor<double> dZ = node.grad * (1.0 - node.value * node.value);
    ad::Tensor<double> dW = xt::linalg::dot(dZ, xt::transpose(A));
    const Bug bug = node.attrs<DenseTanhAttrs>().bug;
    if (bug == dW_times_m) dW *= double(m);
    if (bug == dW_sign_flipped) dW = -dW;
    t.sink(node.parents[0]).add(dW);  // the sink assigns or accumulates (a node read twice)
    if (t.needs_grad(node.parents[1])) t.sink(node.parents[1]).add(xt::linalg::dot(xt::transpose(W), dZ));
    const ad::Tensor<double>& for_db = bug == db_forgets_tanh_prime ? node.grad : dZ;
    t.sink(node.parents[2]).add(xt::sum(for_db, {1}, xt::keep_dims));
  }
  static constexpr ad::OpDef<double> def{"dense_tanh", forward, backward};
};

ad::Var<double> dense_tanh(ad::Var<double> W, ad::Var<double> A, ad::Var<double> b, Bug bug) {
  ad::Tape<double>& tape = W.tape();
  return {&tape, tape.record(DenseTanh::def, {W.index(), A.index(), b.index()}, std::source_location::current(),
                             DenseTanhAttrs{bug})};
}

struct Network {
  std::vector<ad::Parameter<double>> params;
  std::vector<ad::Parameter<double>*> blocks;  // W[1], b[1], …, W[L], b[L]: the order of θ
  ad::Tensor<double> X, Y;
};

Network make_network(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  auto randn = [&](std::size_t r, std::size_t c, double scale) {
    ad::Tensor<double> t = xt::empty<double>({r, c});
    for (double& x : t) x = scale * normal(rng);
    return t;
  };
  Network net;
  net.params.reserve(2 * L);
  for (std::size_t l = 1; l <= L; ++l) {
    net.params.emplace_back(fmt::format("W[{}]", l), randn(n[l], n[l - 1], 1 / std::sqrt(double(n[l - 1]))));
    net.params.emplace_back(fmt::format("b[{}]", l), randn(n[l], 1, 0.1));
  }
  for (auto& p : net.params) net.blocks.push_back(&p);
  net.X = randn(n[0], m, 1);
  net.Y = xt::zeros<double>({n[L], m});
  for (std::size_t j = 0; j < m; ++j) net.Y(0, j) = net.X(0, j) + net.X(1, j) > 0;
  return net;
}

// J = cross-entropy + λ/(2m)·Σ‖W[l]‖², hidden layers tanh (the hand-written layer carrying `bug`
// in layer 2), optionally inverted dropout after each hidden layer.
ad::Var<double> record_cost(ad::Tape<double>& tape, Network& net, Bug bug, double keep_prob = 1.0) {
  ad::Var<double> A = tape.input("X", net.X), l2;
  for (std::size_t l = 1; l <= L; ++l) {
    auto W = tape.parameter(net.params[2 * (l - 1)]);
    auto b = tape.parameter(net.params[2 * l - 1]);
    if (l == L) A = ad::linear(W, A, b);
    else if (l == 2 && bug != none && bug != l2_left_out_of_backward) A = dense_tanh(W, A, b, bug);
    else A = ad::linear(W, A, b, ad::Activation::tanh);
    if (l < L && keep_prob < 1) A = ad::dropout(A, keep_prob);
    auto term = ad::mul_scalar(ad::sum(ad::square(W)), lambda / (2.0 * m));
    if (bug == l2_left_out_of_backward && l == 1) term = ad::detach(term);  // in J, not in backward
    l2 = l == 1 ? term : l2 + term;
  }
  return ad::sigmoid_cross_entropy(A, tape.input("Y", net.Y)) + l2;
}

// The course's gradient check, step by step: θ, dθ from backward, dθ_approx by centered
// differences, one relative error. The parameters are left as found.
double course_check(ad::Tape<double>& tape, ad::Var<double> J, Network& net) {
  tape.forward();
  tape.backward(J);
  const ad::Tensor<double> theta = gc::to_vector(net.blocks);
  const ad::Tensor<double> grad = gc::gradients_to_vector(net.blocks);
  ad::Tensor<double> gradapprox = xt::zeros_like(theta);
  auto J_at = [&](const ad::Tensor<double>& t) {
    gc::from_vector(t, net.blocks);
    tape.forward();
    return J.value()(0, 0);
  };
  for (std::size_t i = 0; i < theta.size(); ++i) {
    ad::Tensor<double> plus = theta, minus = theta;
    plus(i, 0) += eps;
    minus(i, 0) -= eps;
    gradapprox(i, 0) = (J_at(plus) - J_at(minus)) / (2 * eps);
  }
  gc::from_vector(theta, net.blocks);
  tape.forward();
  return gc::relative_error(gradapprox, grad);
}

gc::Options checker_options() {
  gc::Options options;  // the course's ε = 1e-7 and thresholds
  options.l2_scale = lambda / m;
  return options;
}

void train(ad::Tape<double>& tape, ad::Var<double> J, Network& net, int steps) {
  for (int s = 0; s < steps; ++s) {
    tape.forward();
    tape.backward(J);
    for (auto* p : net.blocks) p->value -= 0.5 * p->grad;
  }
}

// One figure column: each block's relative error (the floor 1e-16 stands for exactly 0 on log axes).
std::vector<double> per_block(const gc::Report& r) {
  std::vector<double> v;
  for (const auto& b : r.blocks) v.push_back(std::max(b.relative_error, 1e-16));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = lesson::parse(argc, argv, "Lesson 2: gradient checking, the course's way and the checker's");
  fmt::print("Lesson 2: gradient checking a 4-5-3-1 tanh network with L2 (λ = {}), m = {}, ε = {}\n", lambda, m, eps);
  lesson::Claims claims("lesson02");
  plot::LinePlot figure{.x_name = "block", .x = {}, .series = {}, .log_y = true};
  for (std::size_t i = 1; i <= 2 * L; ++i) figure.x.push_back(double(i));

  {  // At random initialization and after training: the course's number and the checker's.
    Network net = make_network(2);
    ad::Tape<double> tape;
    auto J = record_cost(tape, net, none);
    claims.add("course_init", "course's check at random init: relative error over θ", "< 1e-7",
               course_check(tape, J, net));
    const gc::Report at_init = gc::check(tape, J, net.blocks, checker_options());
    claims.add("checker_init", "gc::check at random init: relative error", "< 1e-7", at_init.relative_error);
    claims.add("checker_init_passed", "  passed (every block)", "1", at_init.passed());
    tape.forward();
    const double J0 = J.value()(0, 0);
    train(tape, J, net, 300);
    tape.forward();
    claims.add("cost_drop", "cost after 300 steps / cost at init", "< 1", J.value()(0, 0) / J0);
    // Near the minimum the gradients are small (~1e-4), and rounding in J(θ ± ε), ~1e-16·|J|/ε,
    // is no longer negligible beside them at ε = 1e-7: the course's number lands near 1e-7.
    claims.add("course_trained", "course's check after training (small gradients)", "~1e-7: look closer",
               course_check(tape, J, net));
    const gc::Report trained = gc::check(tape, J, net.blocks, checker_options());
    claims.add("checker_trained", "gc::check after training: relative error at ε = 1e-7", "~1e-7",
               trained.relative_error);
    double graded = 0;
    for (const auto& b : trained.blocks) graded = std::max(graded, b.best_relative_error);
    claims.add("checker_trained_graded", "  worst block at the ε its sweep graded (1e-5, 1e-4)", "< 1e-7", graded);
    claims.add("checker_trained_passed", "  passed (every block)", "1", trained.passed());
    figure.series.push_back({"random init", per_block(at_init)});
    figure.series.push_back({"after training", per_block(trained)});
    fmt::print("\nThe checker's report after training:\n{}", trained.table());
  }

  {  // Dropout: a new mask at every evaluation of J, unless the tape is frozen.
    Network net = make_network(2);
    ad::Tape<double> tape;
    tape.seed(22);
    auto J = record_cost(tape, net, none, 0.8);
    claims.add("course_dropout_live", "course's check with dropout on, new masks each J", "meaningless (≫ 1e-7)",
               course_check(tape, J, net));
    const gc::Report live = gc::check(tape, J, net.blocks, checker_options());
    claims.add("checker_dropout_live_deterministic", "gc::check on the live tape freezes the masks: J deterministic",
               "1", live.deterministic);
    claims.add("checker_dropout_live_passed", "  and passes", "1", live.passed());
    tape.set_frozen(true);  // the last masks are reused by every replay
    claims.add("course_dropout_frozen", "course's check with dropout on, frozen masks", "< 1e-7",
               course_check(tape, J, net));
    tape.set_frozen(false);
    const gc::Report frozen = gc::check(tape, J, net.blocks, checker_options());  // runs frozen itself
    claims.add("checker_dropout_frozen", "gc::check with dropout: relative error", "< 1e-7",
               frozen.relative_error);
    claims.add("checker_dropout_frozen_passed", "  passed (every block)", "1", frozen.passed());
    figure.series.push_back({"dropout, frozen masks", per_block(frozen)});
  }

  // One planted bug at a time: where it is, what the course's single number says, what the report says.
  struct Planted {
    Bug bug;
    const char* key;
    const char* what;
    const char* block;
  };
  const Planted planted[] = {{db_forgets_tanh_prime, "db_forgets_tanh_prime", "db[2] = Σ dA (tanh' forgotten)", "b[2]"},
                             {dW_times_m, "dW_times_m", "dW[2] = m·dZ·Aᵀ (a 1/m too few)", "W[2]"},
                             {dW_sign_flipped, "dW_sign_flipped", "dW[2] with its sign flipped", "W[2]"},
                             {l2_left_out_of_backward, "l2_left_out", "W[1]'s L2 term in J, not in backward", "W[1]"}};
  const auto bugs_csv = args.out / "lesson02_bugs.csv";
  std::FILE* bugs = std::fopen(bugs_csv.c_str(), "w");
  if (!bugs) throw plot::Error(fmt::format("lesson02: cannot write {}", bugs_csv));
  fmt::print(bugs, "bug,planted_in,course_relative_error,failing_blocks,diagnosis\n");
  fmt::print("\nOne planted bug at a time:\n");
  for (const auto& p : planted) {
    Network net = make_network(2);
    ad::Tape<double> tape;
    auto J = record_cost(tape, net, p.bug);
    const double course = course_check(tape, J, net);
    const gc::Report report = gc::check(tape, J, net.blocks, checker_options());
    std::string failing, diagnosis;
    int failures = 0, right_block = 0;
    for (const auto& b : report.blocks) {
      if (b.verdict != gc::Verdict::fail) continue;
      failing += (failures++ ? " " : "") + b.name;
      right_block += b.name == p.block;
      if (b.name == p.block) diagnosis = b.diagnosis;
    }
    fmt::print("  {}: course's relative error {:.2e}; failing: {}\n    {}: {}\n", p.what, course, failing, p.block,
               diagnosis);
    auto quoted = [](std::string s) {
      std::string q = "\"";
      for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    };
    fmt::print(bugs, "{},{},{},{},{}\n", p.key, p.block, course, failing, quoted(diagnosis));
    claims.add(fmt::format("{}_course", p.key), fmt::format("{}: course's relative error", p.what), "> 1e-3", course);
    claims.add(fmt::format("{}_failing_blocks", p.key), "  blocks the checker fails", "1", failures);
    claims.add(fmt::format("{}_named", p.key), fmt::format("  the failing block is {}", p.block), "1", right_block);
    figure.series.push_back({fmt::format("bug: {}", p.key), per_block(report)});
  }
  if (std::fclose(bugs) != 0) throw plot::Error(fmt::format("lesson02: writing {} failed", bugs_csv));
  fmt::print("wrote {}\n", bugs_csv);

  lesson::report(plot::line(args.out / "lesson02_block_errors", figure,
                            {"Relative error per block: W[1] b[1] W[2] b[2] W[3] b[3]", "block (1 = W[1] … 6 = b[3])",
                             "relative error"}));
  claims.finish(args.out);
}
