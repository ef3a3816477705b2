// Lesson 8 — optimizers, saddle points, plateaus and learning-rate decay (course 2, week 2).
//
// nn's GradientDescent, Momentum (β = 0.9), RMSProp (β2 = 0.9) and Adam, all at α = 0.05, moving one point
// (x, y) on two costs recorded on a tape:
// - a saddle, J = x² + y⁴/4 − y², started at (1.5, 0.001) on the ridge y ≈ 0: the escape along y
//   grows like (1 + 2α)^t for gradient descent, while RMSProp and Adam divide the tiny gradient by
//   its own scale and leave at once;
// - a plateau, J = 1 − exp(−(x² + y²)/2), started at (3.5, 3): the gradient is ~1e-4, gradient
//   descent barely moves, the adaptive methods walk at ~α per step.
// Then learning-rate decay with nn::Schedule: the course's α = α0 / (1 + decay_rate·epoch_num),
// exponential 0.95^epoch_num·α0 and a discrete staircase, and the course's table (α0 = 0.2,
// decay_rate = 1: epoch 1 → 0.1, 2 → 0.067, 3 → 0.05, 4 → 0.04).
//
// Epoch counting: Schedule::at(α0, epoch_num) and Optimizer::set_epoch(epoch_num) take the course's
// epoch_num, and nn's trainer runs its epoch e (from 1) at epoch_num = e: its first epoch already
// runs at α0/(1 + decay_rate), as in the course's table, which a 4-epoch training run reproduces.
// Then the four optimizers' curves on real data: 4000 Fashion-MNIST training images (1000 of them
// the dev set), a 784-64-10 ReLU network, 6 epochs each. Last, nn::ExponentiallyWeightedAverage
// on the course's quiz (θ1 = θ2 = 10, β = 0.5).
#include <cmath>
#include <vector>

#include <nn/nn.hpp>

#include "lesson.hpp"

namespace {

constexpr double alpha = 0.05;
constexpr int steps = 200;

using Cost = ad::Var<double> (*)(ad::Var<double>, ad::Var<double>);

ad::Var<double> saddle(ad::Var<double> x, ad::Var<double> y) {
  return ad::square(x) + ad::mul_scalar(ad::pow(y, 4.0), 0.25) - ad::square(y);
}
double saddle_at(double x, double y) { return x * x + y * y * y * y / 4 - y * y; }

ad::Var<double> plateau(ad::Var<double> x, ad::Var<double> y) {
  return 1.0 - ad::exp(ad::mul_scalar(ad::square(x) + ad::square(y), -0.5));
}
double plateau_at(double x, double y) { return 1 - std::exp(-(x * x + y * y) / 2); }

// The path of (x, y) under `optimizer` for `steps` updates, from (x0, y0).
plot::Trajectory run(nn::Optimizer<double>& optimizer, Cost cost, double x0, double y0) {
  ad::Parameter<double> x("x", ad::Tensor<double>{{x0}}), y("y", ad::Tensor<double>{{y0}});
  ad::Tape<double> tape;
  auto J = cost(tape.parameter(x), tape.parameter(y));
  plot::Trajectory path{optimizer.name(), {x0}, {y0}};
  for (int t = 0; t < steps; ++t) {
    tape.forward();
    tape.backward(J);
    optimizer.step({&x, &y});
    path.x.push_back(x.value(0, 0));
    path.y.push_back(y.value(0, 0));
  }
  return path;
}

// The first step at which `done(x, y)` holds (steps + 1 when never).
template <class F>
double first_step(const plot::Trajectory& p, F done) {
  for (std::size_t t = 0; t < p.x.size(); ++t)
    if (done(p.x[t], p.y[t])) return double(t);
  return double(steps + 1);
}

}  // namespace

int main(int argc, char** argv) {
  const auto args = lesson::parse(argc, argv, "Lesson 8: optimizers on a saddle and a plateau, learning-rate decay");
  fmt::print("Lesson 8: GD, momentum, RMSProp and Adam at α = {}, {} steps\n", alpha, steps);
  lesson::Claims claims("lesson08");

  struct Problem {
    const char* key;
    Cost cost;
    double (*at)(double, double);
    double x0, y0;
    plot::Grid grid;
    const char* title;
  };
  Problem problems[] = {
      {"saddle", saddle, saddle_at, 1.5, 1e-3, plot::Grid::sample(-2, 2, 81, -2, 2, 81, saddle_at),
       "Saddle J = x² + y⁴/4 − y² from (1.5, 0.001)"},
      {"plateau", plateau, plateau_at, 3.5, 3.0, plot::Grid::sample(-1, 4, 81, -1, 4, 81, plateau_at),
       "Plateau J = 1 − exp(−(x² + y²)/2) from (3.5, 3)"}};
  for (auto& problem : problems) {
    nn::GradientDescent<double> gd(alpha);
    nn::Momentum<double> momentum(alpha, 0.9);
    nn::RMSProp<double> rmsprop(alpha, 0.9);  // β2 = 0.999 without bias correction: a first step of α/√0.001
    nn::Adam<double> adam(alpha, 0.9, 0.999);
    std::vector<plot::Trajectory> paths;
    for (nn::Optimizer<double>* opt : std::initializer_list<nn::Optimizer<double>*>{&gd, &momentum, &rmsprop, &adam})
      paths.push_back(run(*opt, problem.cost, problem.x0, problem.y0));
    for (const auto& p : paths) {
      const std::string key = fmt::format("{}_{}", problem.key, p.name);
      if (std::string(problem.key) == "saddle")
        claims.add(key + "_escape", fmt::format("saddle, {}: steps until |y| > 0.5 (off the ridge)", p.name),
                   p.name == "gradient_descent" ? "slow, (1 + 2α)^t"
                   : p.name == "momentum"       ? "no faster: v = βv + (1 − β)dW warms up"
                                                : "fast: dW / √s",
                   first_step(p, [](double, double y) { return std::abs(y) > 0.5; }));
      else
        claims.add(key + "_leave", fmt::format("plateau, {}: steps until J < 0.5", p.name),
                   p.name == "gradient_descent" ? "never (stuck)"
                   : p.name == "momentum"       ? "stuck: v ≈ dW, no larger"
                                                : "walks off at ~α a step",
                   first_step(p, [&](double x, double y) { return problem.at(x, y) < 0.5; }));
      claims.add(key + "_final_cost", fmt::format("  its J after {} steps", steps), "-",
                 problem.at(p.x.back(), p.y.back()));
    }
    lesson::report(plot::trajectories(args.out / fmt::format("lesson08_{}", problem.key), problem.grid, paths,
                                      {problem.title, "x", "y"}));
  }

  // Learning-rate decay, α0 = 0.2: the course's table and the three schedules over 10 epochs.
  const double alpha0 = 0.2;
  const auto inverse = nn::Schedule::inverse_time(1.0);  // decay_rate = 1
  const char* course_table[] = {"0.1", "0.067", "0.05", "0.04"};
  // A 4-epoch training run on a tiny problem: the rates its history records.
  nn::Dataset<double> tiny;
  tiny.x = ad::Tensor<double>{{0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}, {0.0, 0.0}};
  tiny.y = nn::one_hot_rows<double>(std::vector<std::int32_t>{0, 1, 1, 0}, 2);
  nn::Sequential<double> model;
  model.dense(2);
  nn::GradientDescent<double> trained(alpha0, inverse);
  nn::TrainOptions options;
  options.epochs = 4;
  options.progress = nn::Progress::none;
  const auto history = nn::Trainer<double>(model, nn::Loss::softmax_cross_entropy, trained, options).fit(tiny);
  fmt::print("\nThe course's table, α0 = 0.2, decay_rate = 1 (nn's trainer epoch = the course's epoch_num):\n");
  fmt::print("  course epoch_num   course α   Schedule::at(α0, epoch_num)   trainer's epoch, its α\n");
  for (std::size_t k = 1; k <= 4; ++k) {
    nn::GradientDescent<double> opt(alpha0, inverse);
    opt.set_epoch(k);
    const auto& record = history.epochs[k - 1];
    fmt::print("  {:>16}   {:>8}   {:>27.4f}   {}, {:.4f}\n", k, course_table[k - 1], opt.learning_rate(), record.epoch,
               record.learning_rate);
    claims.add(fmt::format("trainer_alpha_epoch_{}", k), fmt::format("  the trainer's epoch {}: α", record.epoch),
               course_table[k - 1], record.learning_rate);
    claims.add(fmt::format("course_alpha_epoch_{}", k), fmt::format("α at the course's epoch_num {}", k),
               course_table[k - 1], inverse.at(alpha0, k));
    claims.add(fmt::format("optimizer_alpha_index_{}", k), fmt::format("  Optimizer::set_epoch({}).learning_rate()", k),
               course_table[k - 1], opt.learning_rate());
  }
  const auto exponential = nn::Schedule::exponential(0.95), staircase = nn::Schedule::step(3, 0.5);
  std::vector<double> epoch_num, a_inverse, a_exponential, a_staircase;
  for (std::size_t k = 0; k <= 10; ++k) {
    epoch_num.push_back(double(k));
    a_inverse.push_back(inverse.at(alpha0, k));
    a_exponential.push_back(exponential.at(alpha0, k));
    a_staircase.push_back(staircase.at(alpha0, k));
  }
  claims.add("exponential_epoch_10", "0.95^epoch_num · α0 at epoch_num 10", "0.2·0.95^10 = 0.1197", a_exponential[10]);
  claims.add("staircase_epoch_7", "staircase, halved every 3 epochs, at epoch_num 7", "0.2·0.5² = 0.05", a_staircase[7]);
  lesson::report(plot::line(args.out / "lesson08_decay",
                            {.x_name = "epoch_num",
                             .x = epoch_num,
                             .series = {{"1/(1 + epoch_num) alpha0", a_inverse},
                                        {"0.95^epoch_num alpha0", a_exponential},
                                        {"staircase 0.5 per 3 epochs", a_staircase}},
                             .log_x = false,
                             .log_y = false},
                            {"Learning-rate decay, α0 = 0.2", "epoch_num (the course's)", "α"}));

  // Curves on Fashion-MNIST (Debian's dataset-fashion-mnist): a subset, so that the lesson stays fast.
  {
    auto all = nn::load_fashion_mnist<float>("train", nn::fashion_mnist_dir, 4000);
    auto parts = nn::split(all, 0.25, 0.0, 1);
    nn::Normalizer<float> normalizer;
    normalizer.fit(parts.train);
    normalizer.apply(parts.train);
    normalizer.apply(parts.dev);
    nn::GradientDescent<float> gd(0.1);
    nn::Momentum<float> momentum(0.1, 0.9);
    nn::RMSProp<float> rmsprop(1e-3, 0.9);
    nn::Adam<float> adam(1e-3);
    std::vector<double> epoch;
    std::vector<plot::Series> costs, dev_accuracy;
    for (nn::Optimizer<float>* opt : std::initializer_list<nn::Optimizer<float>*>{&gd, &momentum, &rmsprop, &adam}) {
      nn::Sequential<float> model;
      model.dense(64, nn::Activation::relu).dense(10);
      model.build(parts.train.features(), 1);
      nn::TrainOptions options;
      options.epochs = 6;
      options.batch_size = 64;
      options.seed = 1;
      options.progress = nn::Progress::none;
      const auto h = nn::Trainer<float>(model, nn::Loss::softmax_cross_entropy, *opt, options).fit(parts.train, &parts.dev);
      plot::Series cost{opt->name(), {}}, accuracy{opt->name(), {}};
      epoch.clear();
      for (const auto& r : h.epochs) {
        epoch.push_back(double(r.epoch));
        cost.y.push_back(r.cost);
        accuracy.y.push_back(r.dev_accuracy);
      }
      claims.add(fmt::format("fashion_{}_first_cost", opt->name()), fmt::format("Fashion-MNIST, {}: cost in epoch 1", opt->name()),
                 "-", cost.y.front());
      claims.add(fmt::format("fashion_{}_last_cost", opt->name()), fmt::format("  cost in epoch {}", epoch.size()), "lower",
                 cost.y.back());
      claims.add(fmt::format("fashion_{}_dev_accuracy", opt->name()), "  dev accuracy", "~0.8", accuracy.y.back());
      costs.push_back(cost);
      dev_accuracy.push_back(accuracy);
    }
    lesson::report(plot::line(args.out / "lesson08_fashion_cost", {.x_name = "epoch", .x = epoch, .series = costs},
                              {"Fashion-MNIST (3000 images), 784-64-10: training cost", "epoch", "cost J"}));
    lesson::report(plot::line(args.out / "lesson08_fashion_dev_accuracy",
                              {.x_name = "epoch", .x = epoch, .series = dev_accuracy},
                              {"Fashion-MNIST (1000 dev images): dev accuracy", "epoch", "accuracy"}));
  }

  // The exponentially weighted average and its bias correction, the course's quiz.
  nn::ExponentiallyWeightedAverage v(0.5);
  v.add(10);
  v.add(10);
  claims.add("ewa_quiz_v2", "θ1 = θ2 = 10, β = 0.5: v2", "7.5", v.value());
  claims.add("ewa_quiz_v2_corrected", "  bias-corrected v2 / (1 − β²)", "10", v.corrected());
  claims.finish(args.out);
}
