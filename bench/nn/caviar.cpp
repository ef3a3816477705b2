// Caviar vs one at a time: the same trials (a random search's, same seed) trained
//   A) 2 at once, each on 1 BLAS thread (run_search with 2 workers), and
//   B) 1 at a time on 2 BLAS threads (run_search with 1 worker, OpenBLAS at 2 threads),
// in one run; prints trials per hour of each and the ratio A/B (the target: ≥ 1.8 on 2
// cores). Then an ASHA search on 2 workers, and the scheduler's own share of its wall time
// (target < 1%).
//
//   build/bench/nn/caviar                                       # the lead's measurement
//   build/bench/nn/caviar --trials 2 --epochs 1 --limit 1200 --dev 200 --asha-trials 3   # a quick check
#include <cblas.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <nn/nn.hpp>

namespace {

const std::vector<nn::SearchDimension> space = {
    {"alpha", 3e-4, 3e-3, nn::Scale::log},
    {"keep_prob", 0.7, 1, nn::Scale::linear},
    {"hidden_units", 128, 256, nn::Scale::log, true},
};

struct Data {
  nn::Dataset<float> train, dev;
};

nn::TrialReport run_trial(nn::TrialContext& c, const Data& d) {
  return nn::train_trial<float>(
      c,
      [](nn::TrialModel<float>& m, const nn::TrialJob& job) {
        const auto hidden = std::size_t(job.values.at("hidden_units"));
        m.model.dense(hidden, nn::Activation::relu).dropout(job.values.at("keep_prob")).dense(hidden / 2, nn::Activation::relu).dense(10);
        m.model.build(784, job.seed);
        m.optimizer = std::make_unique<nn::Adam<float>>(job.values.at("alpha"));
        m.trainer = std::make_unique<nn::Trainer<float>>(
            m.model, nn::Loss::softmax_cross_entropy, *m.optimizer,
            nn::TrainOptions{.batch_size = 128, .seed = job.seed, .progress = nn::Progress::none});
      },
      d.train, d.dev);
}

}  // namespace

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  CLI::App app{"caviar: 2 trials at once x 1 BLAS thread vs 1 at a time x 2 BLAS threads; ASHA's overhead"};
  std::size_t trials = 8, epochs = 3, limit = 0, dev_size = 5000, asha_trials = 18;
  app.add_option("--trials", trials, "trials of each configuration (the same trials)")->capture_default_str();
  app.add_option("--epochs", epochs, "epochs per trial")->capture_default_str();
  app.add_option("--limit", limit, "Fashion-MNIST training images used, dev included (0: all 60000)")->capture_default_str();
  app.add_option("--dev", dev_size, "of them, the dev set")->capture_default_str();
  app.add_option("--asha-trials", asha_trials, "trials of the ASHA run (1 → 4 epochs, η = 2; 0: skip)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto all = nn::load_fashion_mnist<float>("train", nn::fashion_mnist_dir, limit);
  std::vector<std::size_t> ti(all.size() - dev_size), di(dev_size);
  std::iota(ti.begin(), ti.end(), 0);
  std::iota(di.begin(), di.end(), all.size() - dev_size);
  Data d{nn::subset(all, ti), nn::subset(all, di)};
  nn::Normalizer<float> norm;
  norm.fit(d.train);
  norm.apply(d.train);
  norm.apply(d.dev);
  auto trial = [&](nn::TrialContext& c) { return run_trial(c, d); };
  fmt::print("BLAS kernels: {}; {} trials of {} epochs on {} images (MLP 784-h-h/2-10, h in [128, 256])\n",
             ad::blas_kernel_name(), trials, epochs, d.train.size());

  const int blas_before = openblas_get_num_threads();
  openblas_set_num_threads(2);
  nn::RandomScheduler serial_trials(space, 1, trials, epochs);
  const auto one_at_a_time = nn::run_search(serial_trials, trial, {.workers = 1, .results_path = {}, .stop = nullptr, .on_record = {}});
  nn::RandomScheduler parallel_trials(space, 1, trials, epochs);
  const auto caviar = nn::run_search(parallel_trials, trial, {.workers = 2, .results_path = {}, .stop = nullptr, .on_record = {}});
  openblas_set_num_threads(blas_before);

  const double per_hour_serial = double(trials) / one_at_a_time.seconds * 3600;
  const double per_hour_caviar = double(trials) / caviar.seconds * 3600;
  fmt::print("1 at a time x 2 BLAS threads: {:8.1f} s  {:8.1f} trials/hour\n", one_at_a_time.seconds, per_hour_serial);
  fmt::print("2 at once    x 1 BLAS thread:  {:8.1f} s  {:8.1f} trials/hour\n", caviar.seconds, per_hour_caviar);
  fmt::print("ratio (target >= 1.8): {:.2f}\n", per_hour_caviar / per_hour_serial);

  if (asha_trials) {
    nn::AshaScheduler asha(space, 2, {.trials = asha_trials, .min_budget = 1, .max_budget = 4, .eta = 2});
    const auto r = nn::run_search(asha, trial, {.workers = 2, .results_path = {}, .stop = nullptr, .on_record = {}});
    fmt::print("ASHA: {} jobs in {:.1f} s, scheduler {:.3f} ms = {:.4f}% of the search (target < 1%)\n",
               r.records.size(), r.seconds, r.scheduler_seconds * 1e3, 100 * r.scheduler_seconds / r.seconds);
    fmt::print("{}", nn::summary_table(r.records, space, 3));
  }
  return 0;
}
