// Lesson 6 — batch normalization (course 2, week 3).
//
// In a layer, z_norm = (z − μ) / √(σ² + ε) over the mini-batch and z̃ = γ·z_norm + β, with no b
// in z = W·a before it: the mean subtraction cancels any b (its gradient is exactly 0) and β
// takes its place. The same 2-16-16-1 ReLU network, on a small synthetic problem whose features
// have offset and very different scales, is trained with and without batch norm (same
// initialization, same α, same mini-batches): the cost per epoch. At test time one example has no
// batch: its z is normalized with the μ, σ² the training kept as exponentially weighted averages
// (nn::BatchNormState, β = 0.9); normalizing it with its own "batch" statistics gives z_norm = 0
// whatever the input, so every example gets the same prediction.
#include <cmath>
#include <xtensor/xnorm.hpp>
#include <xtensor/xview.hpp>
#include <vector>

#include <nn/init.hpp>
#include <nn/ops.hpp>
#include <xtensor-blas/xlinalg.hpp>

#include "lesson.hpp"

namespace {

constexpr std::size_t n[] = {2, 16, 16, 1}, L = 3, m_train = 512, m_test = 256, batch = 32, epochs = 30;
constexpr double alpha = 0.05;

struct Data {
  ad::Tensor<double> X, Y;
};

// Points in a ring problem: label 1 outside the circle of radius 1.2 in standardized coordinates;
// the features themselves are 3 + u and 10·v − 20 (offset, scales 1 and 10).
Data make_data(std::size_t m, const char* stream) {
  auto rng = nn::rng_for(6, stream);
  Data d{xt::zeros<double>({std::size_t(2), m}), xt::zeros<double>({std::size_t(1), m})};
  for (std::size_t j = 0; j < m; ++j) {
    const double u = nn::standard_normal(rng), v = nn::standard_normal(rng);
    d.X(0, j) = 3 + u;
    d.X(1, j) = 10 * v - 20;
    d.Y(0, j) = u * u + v * v > 1.2 * 1.2;
  }
  return d;
}

ad::Tensor<double> columns(const ad::Tensor<double>& t, std::size_t begin, std::size_t count) {
  return xt::view(t, xt::all(), xt::range(begin, begin + count));
}

// The network's parameters; with batch norm, γ[l] and β[l] for the hidden layers and no b[l].
struct Model {
  bool batch_norm;
  std::vector<ad::Parameter<double>> params;
  std::vector<nn::BatchNormState<double>> state;
  Model(bool bn) : batch_norm(bn), state(L - 1) {
    auto rng = nn::rng_for(6, "weights");  // the same W[l] for both models
    params.reserve(3 * L);
    for (std::size_t l = 1; l <= L; ++l) {
      ad::Tensor<double> W = xt::empty<double>({n[l], n[l - 1]});
      for (double& w : W) w = std::sqrt(2.0 / double(n[l - 1])) * nn::standard_normal(rng);
      params.emplace_back(fmt::format("W[{}]", l), W);
      if (bn && l < L) {
        params.emplace_back(fmt::format("γ[{}]", l), ad::Tensor<double>(xt::ones<double>({n[l], std::size_t(1)})));
        params.emplace_back(fmt::format("β[{}]", l), ad::Tensor<double>(xt::zeros<double>({n[l], std::size_t(1)})));
      } else {
        params.emplace_back(fmt::format("b[{}]", l), ad::Tensor<double>(xt::zeros<double>({n[l], std::size_t(1)})));
      }
    }
    for (auto& s : state) {
      s.running_mean = xt::zeros<double>({n[1], std::size_t(1)});
      s.running_var = xt::ones<double>({n[1], std::size_t(1)});
    }
  }
  std::vector<ad::Parameter<double>*> all() {
    std::vector<ad::Parameter<double>*> v;
    for (auto& p : params) v.push_back(&p);
    return v;
  }
  // The logits: hidden layers relu(z̃) with z̃ = γ·z_norm + β (batch norm) or relu(W·a + b).
  ad::Var<double> logits(ad::Tape<double>& tape, ad::Var<double> A, bool training) {
    std::size_t k = 0;
    for (std::size_t l = 1; l <= L; ++l) {
      auto W = tape.parameter(params[k++]);
      if (batch_norm && l < L) {
        auto gamma = tape.parameter(params[k++]);
        auto beta = tape.parameter(params[k++]);
        A = ad::relu(nn::batch_norm(ad::matmul(W, A), gamma, beta, state[l - 1], training));
      } else {
        A = ad::linear(W, A, tape.parameter(params[k++]), l < L ? ad::Activation::relu : ad::Activation::linear);
      }
    }
    return A;
  }
};

// Cost per epoch (over the whole training set, after the epoch), mini-batch gradient descent.
std::vector<double> train(Model& model, const Data& train_set) {
  ad::Tape<double> tape;
  auto X = tape.input("X", columns(train_set.X, 0, batch));
  auto Y = tape.input("Y", columns(train_set.Y, 0, batch));
  auto J = ad::sigmoid_cross_entropy(model.logits(tape, X, true), Y);
  ad::Tape<double> eval;  // the cost on the whole set, with the running statistics
  auto J_all = ad::sigmoid_cross_entropy(model.logits(eval, eval.input("X", train_set.X), false),
                                         eval.input("Y", train_set.Y));
  std::vector<double> costs;
  for (std::size_t e = 0; e < epochs; ++e) {
    for (std::size_t b = 0; b < m_train; b += batch) {
      tape.feed(X, columns(train_set.X, b, batch));
      tape.feed(Y, columns(train_set.Y, b, batch));
      tape.forward();
      tape.backward(J);
      for (auto& p : model.params) p.value -= alpha * p.grad;
    }
    eval.forward();
    costs.push_back(J_all.value()(0, 0));
  }
  return costs;
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = lesson::parse(argc, argv, "Lesson 6: batch normalization, with and without, and at test time");
  fmt::print("Lesson 6: batch norm in a 2-16-16-1 ReLU network, features 3 + u and 10·v − 20\n");
  lesson::Claims claims("lesson06");
  const Data train_set = make_data(m_train, "train"), test_set = make_data(m_test, "test");

  {  // z̃ = γ·z_norm + β by hand, and a b before batch norm getting exactly no gradient.
    auto rng = nn::rng_for(6, "one layer");
    ad::Tensor<double> Z = xt::empty<double>({std::size_t(3), std::size_t(8)});
    for (double& z : Z) z = 5 + 2 * nn::standard_normal(rng);
    ad::Parameter<double> b("b", ad::Tensor<double>{{0.3}, {-1.0}, {2.0}});
    ad::Parameter<double> gamma("γ", ad::Tensor<double>{{1.5}, {0.5}, {2.0}});
    ad::Parameter<double> beta("β", ad::Tensor<double>{{0.1}, {-0.2}, {0.7}});
    nn::BatchNormState<double> state{xt::zeros<double>({std::size_t(3), std::size_t(1)}),
                                     xt::ones<double>({std::size_t(3), std::size_t(1)})};
    ad::Tape<double> tape;
    auto out = nn::batch_norm(tape.input("Z", Z) + tape.parameter(b), tape.parameter(gamma), tape.parameter(beta),
                              state, true);
    auto J = ad::sum(ad::square(out));
    tape.backward(J);
    double max_diff = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      double mu = 0, var = 0;
      for (std::size_t j = 0; j < 8; ++j) mu += Z(i, j) / 8;
      for (std::size_t j = 0; j < 8; ++j) var += (Z(i, j) - mu) * (Z(i, j) - mu) / 8;
      for (std::size_t j = 0; j < 8; ++j) {
        const double z_norm = (Z(i, j) - mu) / std::sqrt(var + state.epsilon);
        max_diff = std::max(max_diff, std::abs(out.value()(i, j) - (gamma.value(i, 0) * z_norm + beta.value(i, 0))));
      }
    }
    claims.add("z_tilde_max_diff", "max |batch_norm(z) − (γ·z_norm + β)| by hand", "0", max_diff);
    claims.add("db_norm", "‖db‖ of a b added before batch norm", "0 (b is cancelled)", xt::norm_l2(b.grad)());
    claims.add("dbeta_norm", "‖dβ‖ (β takes its place)", "> 0", xt::norm_l2(beta.grad)());
  }

  Model plain(false), normed(true);
  const auto plain_costs = train(plain, train_set);
  const auto bn_costs = train(normed, train_set);
  claims.add("plain_final_cost", fmt::format("cost after {} epochs, no batch norm (α = {})", epochs, alpha), "-",
             plain_costs.back());
  claims.add("bn_final_cost", fmt::format("cost after {} epochs, batch norm", epochs), "lower", bn_costs.back());
  auto epochs_to = [](const std::vector<double>& c, double target) {
    for (std::size_t e = 0; e < c.size(); ++e)
      if (c[e] <= target) return double(e + 1);
    return double(c.size() + 1);
  };
  claims.add("plain_epochs_to_0.3", "epochs to a cost ≤ 0.3, no batch norm", "more", epochs_to(plain_costs, 0.3));
  claims.add("bn_epochs_to_0.3", "epochs to a cost ≤ 0.3, batch norm", "fewer", epochs_to(bn_costs, 0.3));

  {  // Test time: running statistics vs a single example's own statistics.
    auto accuracy_of = [&](const ad::Tensor<double>& logits, std::size_t j) {
      return double((logits(0, j) > 0) == (test_set.Y(0, j) > 0.5));
    };
    ad::Tape<double> eval;
    auto running = normed.logits(eval, eval.input("X", test_set.X), false);
    double right_running = 0;
    for (std::size_t j = 0; j < m_test; ++j) right_running += accuracy_of(running.value(), j);

    // A batch of one has μ = z and σ² = 0: z_norm = 0 whatever the input. nn refuses it in training
    // mode; by the formula every hidden layer outputs relu(β[l]), so the logit is one number,
    // W[3]·relu(β[2]) + b[3], for every example.
    double refused = 0;
    try {
      ad::Tape<double> single;
      single.set_frozen(true);  // would leave the running statistics alone
      normed.logits(single, single.input("x", columns(test_set.X, 0, 1)), true);
    } catch (const ad::ShapeError& e) {
      refused = 1;
      fmt::print("a batch of one in training mode: {}\n", e.what());
    }
    claims.add("single_refused", "nn::batch_norm refuses batch statistics of a single example", "1", refused);
    const auto& beta2 = normed.params[5].value;  // W[1] γ[1] β[1] W[2] γ[2] β[2] W[3] b[3]
    const ad::Tensor<double> a2 = xt::maximum(beta2, 0.0);
    const double logit = xt::linalg::dot(normed.params[6].value, a2)(0, 0) + normed.params[7].value(0, 0);
    double right_single = 0, positives = 0;
    for (std::size_t j = 0; j < m_test; ++j) {
      right_single += (logit > 0) == (test_set.Y(0, j) > 0.5);
      positives += test_set.Y(0, j);
    }
    {  // Batch statistics of the whole test set at once (m = 256): a valid batch, close to running.
      ad::Tape<double> whole;
      whole.set_frozen(true);
      auto batch_logits = normed.logits(whole, whole.input("X", test_set.X), true);
      double right = 0;
      for (std::size_t j = 0; j < m_test; ++j) right += accuracy_of(batch_logits.value(), j);
      claims.add("test_accuracy_test_batch", "test accuracy, the whole test set as one batch (m = 256)", "≈ running",
                 right / m_test);
    }
    claims.add("test_accuracy_running", "test accuracy, μ and σ² from the running (EWA) statistics", "high",
               right_running / m_test);
    claims.add("test_accuracy_single", "test accuracy, each example as its own batch of 1 (by hand)",
               "one answer for all", right_single / m_test);
    claims.add("majority_share", "  share of the majority class in the test set", "-",
               std::max(positives, m_test - positives) / m_test);

    // The running mean against the layer-1 mean of z = W·x over the whole training set.
    const ad::Tensor<double> Z1 = xt::linalg::dot(normed.params[0].value, train_set.X);
    const ad::Tensor<double> mean = xt::mean(Z1, {1}, xt::keep_dims);
    claims.add("running_mean_rel_diff", "‖running μ[1] − mean of z[1] over the training set‖ / ‖mean‖", "small",
               xt::norm_l2(normed.state[0].running_mean - mean)() / xt::norm_l2(mean)());
  }

  std::vector<double> epoch;
  for (std::size_t e = 1; e <= epochs; ++e) epoch.push_back(double(e));
  lesson::report(plot::line(args.out / "lesson06_training_curves",
                            {.x_name = "epoch",
                             .x = epoch,
                             .series = {{"no batch norm", plain_costs}, {"batch norm", bn_costs}},
                             .log_x = false,
                             .log_y = true},
                            {"Training cost, same network, α and mini-batches", "epoch", "cost"}));
  claims.finish(args.out);
}
