// Lesson 9: tuning the course's way. Sample at random on each hyperparameter's scale (α = 10^r,
// β = 1 − 10^r), zoom in from coarse to fine, let ASHA stop the bad trials early, train many
// models at once (caviar: the same trial gives the same bits on 2 workers as on 1), or babysit one
// (panda: lower its learning rate from a checkpoint and train on, history appended).
// Everything trains on a small synthetic 3-class problem, so the lesson runs in seconds.
#include <cmath>

#include <fmt/format.h>

#include <nn/nn.hpp>

#include "lesson.hpp"

namespace {

// Three overlapping Gaussian classes in 2-D (the dev set from another seed).
nn::Dataset<float> classes(std::size_t per_class, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  const std::size_t m = 3 * per_class;
  nn::Dataset<float> d{ad::Tensor<float>::from_shape({m, 2}), ad::Tensor<float>::from_shape({m, 3})};
  d.y.fill(0);
  for (std::size_t i = 0; i < m; ++i) {
    const std::size_t c = i % 3;
    const double angle = 2.0944 * double(c);
    d.x(i, 0) = float(1.2 * std::cos(angle) + noise(rng));
    d.x(i, 1) = float(1.2 * std::sin(angle) + noise(rng));
    d.y(i, c) = 1;
  }
  return d;
}

const nn::Dataset<float> train = classes(100, 1), dev = classes(60, 2);

nn::TrialReport small_mlp(nn::TrialContext& c) {
  return nn::train_trial<float>(
      c,
      [](nn::TrialModel<float>& m, const nn::TrialJob& job) {
        const auto& h = job.values;
        m.model.dense(std::size_t(h.at("hidden_units")), nn::Activation::relu);
        if (h.count("keep_prob")) m.model.dropout(h.at("keep_prob"));
        m.model.dense(3);
        m.model.build(2, job.seed);
        m.optimizer = std::make_unique<nn::Adam<float>>(h.at("alpha"));
        m.trainer = std::make_unique<nn::Trainer<float>>(
            m.model, nn::Loss::softmax_cross_entropy, *m.optimizer,
            nn::TrainOptions{.batch_size = 32, .seed = job.seed, .progress = nn::Progress::none});
      },
      train, dev);
}

nn::RunOptions serial() { return {.workers = 1, .results_path = {}, .stop = nullptr, .on_record = {}}; }

}  // namespace

int main(int argc, char** argv) {
  const auto args = lesson::parse(argc, argv, "Lesson 9: hyperparameter search: scales, coarse to fine, ASHA, caviar, panda");
  lesson::Claims claims("lesson09");

  // --- 1. the right scale -------------------------------------------------------------------
  const nn::SearchDimension alpha_log{"alpha", 1e-4, 1, nn::Scale::log}, alpha_lin{"alpha", 1e-4, 1, nn::Scale::linear};
  const nn::SearchDimension beta_log{"beta", 0.9, 0.999, nn::Scale::one_minus_log}, beta_lin{"beta", 0.9, 0.999};
  const int draws = 20000;
  std::mt19937_64 rng(9);
  std::vector<double> per_decade_log(4, 0), per_decade_lin(4, 0);
  double beta_log_above = 0, beta_lin_above = 0;
  for (int i = 0; i < draws; ++i) {
    per_decade_log[std::min(3, int(std::floor(std::log10(nn::sample(alpha_log, rng)) + 4)))] += 1.0 / draws;
    per_decade_lin[std::min(3, int(std::floor(std::log10(nn::sample(alpha_lin, rng)) + 4)))] += 1.0 / draws;
    beta_log_above += (nn::sample(beta_log, rng) > 0.99) / double(draws);
    beta_lin_above += (nn::sample(beta_lin, rng) > 0.99) / double(draws);
  }
  claims.add("log_scale_first_decade", "α = 10^r, r uniform in [-4, 0]: share of draws in [1e-4, 1e-3]", "1/4",
             per_decade_log[0]);
  claims.add("linear_scale_last_decade", "α uniform in [1e-4, 1]: share of draws in [0.1, 1]", "90%",
             per_decade_lin[3]);
  claims.add("beta_log_above_0.99", "β = 1 - 10^r in [0.9, 0.999]: share of draws above 0.99", "1/2", beta_log_above);
  claims.add("beta_linear_above_0.99", "β uniform in [0.9, 0.999]: share of draws above 0.99", "~9%", beta_lin_above);
  lesson::report(plot::line(args.out / "lesson09_scales",
                            {.x_name = "decade", .x = {-4, -3, -2, -1},
                             .series = {{"log_scale", per_decade_log}, {"linear_scale", per_decade_lin}}},
                            {.title = "share of 20000 draws of α in each decade [10^k, 10^(k+1)]", .x = "k", .y = "share"}));

  // --- 2. coarse to fine --------------------------------------------------------------------
  const std::vector<nn::SearchDimension> space = {{"alpha", 1e-4, 1, nn::Scale::log},
                                                  {"hidden_units", 2, 64, nn::Scale::log, true}};
  nn::CoarseToFineScheduler ctf(space, 3, {.rounds = 3, .trials_per_round = 12, .keep_best = 3, .margin = 0.25, .budget = 5});
  const auto ctf_run = nn::run_search(ctf, small_mlp, serial());
  std::vector<double> best_per_round(3, INFINITY);
  for (const auto& r : ctf_run.records)
    best_per_round[ctf.round_of(r.job.trial)] = std::min(best_per_round[ctf.round_of(r.job.trial)], r.report.score);
  auto decades = [](const nn::SearchDimension& d) { return std::log10(d.hi / d.lo); };
  claims.add("ctf_alpha_decades_round_1", "coarse to fine: decades of α sampled in round 1", "the whole range",
             decades(ctf.spaces()[0][0]));
  claims.add("ctf_alpha_decades_round_3", "coarse to fine: decades of α sampled in round 3", "a zoomed-in region",
             decades(ctf.spaces()[2][0]));
  claims.add("ctf_best_dev_cost_round_1", "coarse to fine: best dev cost in round 1", "-", best_per_round[0]);
  claims.add("ctf_best_dev_cost_round_3", "coarse to fine: best dev cost in round 3", "better or as good",
             best_per_round[2]);
  for (const auto& p : nn::plot_scores(args.out / "lesson09_ctf", ctf_run.records, space)) lesson::report(p);

  // --- 3. ASHA against training every trial fully -------------------------------------------
  auto asha_space = space;
  asha_space.push_back({"keep_prob", 0.5, 1});
  const std::size_t trials = 27, full = 9;
  nn::AshaScheduler asha(asha_space, 4, {.trials = trials, .min_budget = 1, .max_budget = full, .eta = 3});
  const auto asha_run = nn::run_search(asha, small_mlp, serial());
  std::size_t asha_epochs = 0;
  for (const auto& r : asha_run.records) asha_epochs += r.report.epochs.size();  // trained on from the rung before
  nn::RandomScheduler everything(asha_space, 4, trials, full);  // the same 27 points (same seed, same ids)
  const auto full_run = nn::run_search(everything, small_mlp, serial());
  const auto asha_best = nn::best_trials(asha_run.records, 1).at(0);
  const auto full_ranked = nn::best_trials(full_run.records, trials);
  double rank = 0;
  for (std::size_t k = 0; k < full_ranked.size(); ++k)
    if (full_ranked[k].job.trial == asha_best.job.trial) rank = double(k + 1);
  claims.add("asha_epoch_share", "ASHA (27 trials, 1 -> 9 epochs, eta 3): epochs trained / 27 x 9",
             "most trials stop at r", double(asha_epochs) / double(trials * full));
  claims.add("asha_winner_rank", "rank of ASHA's winner among the 27 trials all trained 9 epochs", "near the top", rank);
  claims.add("asha_scheduler_share", "ASHA: the scheduler's share of the search's wall time", "< 1%",
             asha_run.scheduler_seconds / asha_run.seconds);
  for (const auto& p : nn::plot_scores(args.out / "lesson09_asha", asha_run.records, asha_space)) lesson::report(p);

  // --- 4. caviar: 2 at once give the bits of 1 at a time -------------------------------------
  nn::RandomScheduler one(asha_space, 5, 6, 3), two(asha_space, 5, 6, 3);
  const auto r1 = nn::run_search(one, small_mlp, serial());
  const auto r2 = nn::run_search(two, small_mlp, {.workers = 2, .results_path = {}, .stop = nullptr, .on_record = {}});
  double max_difference = 0;
  for (const auto& a : r1.records)
    for (const auto& b : r2.records)
      if (a.job.trial == b.job.trial) max_difference = std::max(max_difference, std::abs(a.report.score - b.report.score));
  claims.add("caviar_max_difference", "caviar: largest dev-cost difference, 2 workers vs 1, same trials",
             "0 (same seed, same trial)", max_difference);

  // --- 5. panda: babysit one model ------------------------------------------------------------
  const auto checkpoint = (args.out / "lesson09_panda.npz").string();
  nn::Sequential<float> model;
  model.dense(16, nn::Activation::relu).dense(3);
  model.build(2, 1);
  nn::Adam<float> adam(0.05);
  nn::start_babysitting(checkpoint, model, adam);
  nn::PandaOptions day1{.learning_rate = {}, .schedule = {},
                        .train = {.epochs = 4, .batch_size = 32, .progress = nn::Progress::none},
                        .plot_stem = args.out / "lesson09_panda"};
  nn::babysit<float>(checkpoint, nn::Loss::softmax_cross_entropy, train, &dev, day1);
  auto day2 = day1;
  day2.learning_rate = 0.005;  // the curve flattened: a tenth of the learning rate
  const auto history = nn::babysit<float>(checkpoint, nn::Loss::softmax_cross_entropy, train, &dev, day2);
  claims.add("panda_epochs", "panda: epochs in the history after 4 + 4 (lr / 10 from epoch 5)", "8 (appended)",
             double(history.epochs.size()));
  claims.add("panda_learning_rate_epoch_8", "panda: learning rate at epoch 8", "0.005", history.epochs.back().learning_rate);
  fmt::print("wrote {}.csv and its picture\n", (args.out / "lesson09_panda").string());

  claims.finish(args.out);
  return 0;
}
