// Tuning an MLP on Fashion-MNIST the course's way, at full speed: ASHA over the learning rate α
// (log scale), Adam's β1 (1 − β on a log scale), L2's λ (log scale), dropout's keep_prob (linear)
// and the hidden units (integers, log scale), trials on --workers cores at once, every finished
// one in a results file that the same command resumes from after Ctrl-C.
//
//   build/examples/nn/fashion_search                        # 27 trials, 1 → 9 epochs, 2 workers
//   build/examples/nn/fashion_search --trials 81 --limit 0 --results big.jsonl --plots search
//
// Prints the best trials and writes the score against each hyperparameter (--plots DIR).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <nn/nn.hpp>

namespace {

const std::vector<nn::SearchDimension> space = {
    {"alpha", 1e-4, 1e-1, nn::Scale::log},
    {"beta1", 0.8, 0.999, nn::Scale::one_minus_log},
    {"lambda", 1e-6, 1e-2, nn::Scale::log},
    {"keep_prob", 0.5, 1, nn::Scale::linear},
    {"hidden_units", 32, 512, nn::Scale::log, true},
};

// 784 → hidden (ReLU, dropout) → hidden/2 (ReLU, dropout) → 10, Adam; everything seeded by the trial.
void build(nn::TrialModel<float>& m, const nn::TrialJob& job, std::size_t batch) {
  const auto& h = job.values;
  const auto hidden = std::size_t(h.at("hidden_units"));
  m.model.dense(hidden, nn::Activation::relu)
      .dropout(h.at("keep_prob"))
      .dense(std::max<std::size_t>(hidden / 2, 1), nn::Activation::relu)
      .dropout(h.at("keep_prob"))
      .dense(10);
  m.model.build(784, job.seed);
  m.optimizer = std::make_unique<nn::Adam<float>>(h.at("alpha"), h.at("beta1"));
  m.trainer = std::make_unique<nn::Trainer<float>>(
      m.model, nn::Loss::softmax_cross_entropy, *m.optimizer,
      nn::TrainOptions{.batch_size = batch, .l2 = h.at("lambda"), .seed = job.seed, .progress = nn::Progress::none});
}

}  // namespace

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  CLI::App app{"ASHA over α, β1, λ, keep_prob and hidden units of an MLP on Fashion-MNIST"};
  std::size_t trials = 27, min_epochs = 1, max_epochs = 9, eta = 3, workers = 2, limit = 12000, dev_size = 2000,
              batch = 128, top = 10;
  std::uint64_t seed = 0;
  std::string data_dir = nn::fashion_mnist_dir, results = "fashion_search.jsonl", plots;
  app.add_option("--trials", trials, "trials started (rung 0)")->capture_default_str();
  app.add_option("--min-epochs", min_epochs, "epochs at rung 0")->capture_default_str();
  app.add_option("--max-epochs", max_epochs, "epochs at the top rung")->capture_default_str();
  app.add_option("--eta", eta, "the top 1/eta of a rung goes on")->capture_default_str();
  app.add_option("--workers", workers, "trials at once (one core and one BLAS thread each)")->capture_default_str();
  app.add_option("--limit", limit, "training images used, dev set included (0: all 60000)")->capture_default_str();
  app.add_option("--dev", dev_size, "of them, held out to score the trials")->capture_default_str();
  app.add_option("--batch", batch, "mini-batch size")->capture_default_str();
  app.add_option("--seed", seed, "the search's seed")->capture_default_str();
  app.add_option("--data", data_dir, "directory of the Fashion-MNIST .gz files")->capture_default_str();
  app.add_option("--results", results, "JSONL results file (resumed when it exists; empty: none)")->capture_default_str();
  app.add_option("--plots", plots, "directory for score vs hyperparameter plots");
  app.add_option("--top", top, "best trials printed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    auto all = nn::load_fashion_mnist<float>("train", data_dir, limit);
    if (dev_size >= all.size()) throw nn::ConfigError(fmt::format("--dev {} leaves no training images", dev_size));
    std::vector<std::size_t> train_idx(all.size() - dev_size), dev_idx(dev_size);
    std::iota(train_idx.begin(), train_idx.end(), 0);
    std::iota(dev_idx.begin(), dev_idx.end(), all.size() - dev_size);
    auto train = nn::subset(all, train_idx), dev = nn::subset(all, dev_idx);
    nn::Normalizer<float> normalizer;
    normalizer.fit(train);
    normalizer.apply(train);
    normalizer.apply(dev);
    fmt::print("{} training and {} dev images; ASHA: {} trials, {} → {} epochs, η = {}, {} workers\n", train.size(),
               dev.size(), trials, min_epochs, max_epochs, eta, workers);

    nn::AshaScheduler asha(space, seed, {.trials = trials, .min_budget = min_epochs, .max_budget = max_epochs, .eta = eta});
    auto trial = [&](nn::TrialContext& c) {
      return nn::train_trial<float>(
          c, [&](nn::TrialModel<float>& m, const nn::TrialJob& job) { build(m, job, batch); }, train, dev);
    };
    nn::InterruptGuard interrupt;
    std::size_t done = 0;
    const auto result = nn::run_search(
        asha, trial,
        {.workers = workers, .results_path = results, .stop = &interrupt.flag(), .on_record = [&](const nn::TrialRecord& r) {
           const double acc = r.report.epochs.empty() ? NAN : r.report.epochs.back().dev_accuracy;
           fmt::print("[{:3}] trial {:3} rung {} ({} epochs, {:5.1f} s): {:<13} dev cost {:.4f}, accuracy {:.4f}\n",
                      ++done, r.job.trial, r.job.rung, r.job.budget, r.seconds, nn::to_string(r.report.outcome),
                      r.report.score, acc);
           std::fflush(stdout);
         }});
    fmt::print("\n{} jobs ({} from {}) in {:.1f} s; the scheduler's own time: {:.4f}% of it{}\n\n",
               result.records.size(), result.restored, results.empty() ? "no file" : results, result.seconds,
               100 * result.scheduler_seconds / std::max(result.seconds, 1e-9),
               result.interrupted ? "\ninterrupted: run the same command to resume" : "");
    fmt::print("{}", nn::summary_table(result.records, space, top));
    if (!plots.empty()) {
      std::filesystem::create_directories(plots);
      for (const auto& p : nn::plot_scores(std::filesystem::path(plots) / "fashion_search", result.records, space))
        if (p.drawn) fmt::print("wrote {}\n", p.png.string());
    }
    return result.interrupted ? 130 : 0;
  } catch (const ad::Error& e) {
    fmt::print(stderr, "fashion_search: {}\n", e.what());
    return 1;
  }
}
