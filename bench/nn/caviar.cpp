// Caviar vs one at a time: the same trials (a random search's, same seed) trained
//   caviar) 2 at once, each on 1 BLAS thread (run_search with 2 workers), and
//   serial)  1 at a time on 2 BLAS threads (run_search with 1 worker, OpenBLAS at 2 threads),
// plus 1 at a time on 1 BLAS thread, the yardstick of both. The three run in alternating rounds
// (order rotated each round) so that all see the same machine load; the figures are medians over
// the rounds. Prints trials per hour of each and the ratio caviar/serial (the target:
// >= 1.8 on 2 cores), then why the ratio is what it is:
//   s = (1 x 1 time) / (1 x 2 time): what a second BLAS thread gives one trial;
//   e = (1 x 1 time) / (2 x caviar time): caviar's parallel efficiency (1: two trials at once
//       each as fast as one alone, the whole time);
//   ratio = 2e / s, so it cannot exceed 2 / s however good caviar is.
// Then an ASHA search on 2 workers, and the scheduler's own share of its wall time (target < 1%).
//
//   build/bench/nn/caviar                                       # the lead's measurement
//   build/bench/nn/caviar --rounds 1 --trials 2 --epochs 1 --limit 1200 --dev 200 --asha-trials 3   # a quick check
#include <cblas.h>
#include <sys/resource.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>

#include <nn/nn.hpp>

#include "fashion_trials.hpp"

namespace {

// Process CPU seconds (user + system), to show where a configuration's cores went.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Config {
  const char* name;
  std::size_t workers;
  int blas_threads;
  std::vector<double> seconds, cpu;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  ad::use_best_blas_kernels(argv);
  CLI::App app{"caviar: 2 trials at once x 1 BLAS thread vs 1 at a time x 2 BLAS threads; ASHA's overhead"};
  std::size_t rounds = 3, trials = 8, epochs = 3, limit = 0, dev_size = 5000, asha_trials = 18, batch_size = 128,
              max_hidden = 256;
  app.add_option("--rounds", rounds, "alternating rounds of the three configurations")->capture_default_str();
  app.add_option("--trials", trials, "trials of each configuration (the same trials)")->capture_default_str();
  app.add_option("--epochs", epochs, "epochs per trial")->capture_default_str();
  app.add_option("--limit", limit, "Fashion-MNIST training images used, dev included (0: all 60000)")
      ->capture_default_str();
  app.add_option("--dev", dev_size, "of them, the dev set")->capture_default_str();
  app.add_option("--batch-size", batch_size, "mini-batch size of every trial")->capture_default_str();
  app.add_option("--max-hidden", max_hidden, "hidden units drawn in [max/2, max] (log scale)")->capture_default_str();
  app.add_option("--asha-trials", asha_trials, "trials of the ASHA run (1 → 4 epochs, η = 2; 0: skip)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (rounds == 0 || trials == 0 || batch_size == 0 || max_hidden < 4) {
    fmt::print(stderr, "caviar: --rounds, --trials and --batch-size must be at least 1, --max-hidden at least 4\n");
    return 2;
  }

  bench::FashionTrials d;
  try {
    d = bench::FashionTrials::load(limit, dev_size, batch_size);
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "caviar: {}\n", e.what());
    return 2;
  }
  const auto space = bench::fashion_search_space(double(max_hidden));
  auto trial = [&](nn::TrialContext& c) { return d(c); };
  fmt::print(
      "BLAS kernels: {}; {} rounds of {} trials of {} epochs on {} images (MLP 784-h-h/2-10, h in [{}, {}], "
      "batch {})\n",
      ad::blas_kernel_name(), rounds, trials, epochs, d.train.size(), max_hidden / 2, max_hidden, batch_size);

  std::array<Config, 3> configs{{{"1 at a time x 1 BLAS thread ", 1, 1, {}, {}},
                                 {"1 at a time x 2 BLAS threads", 1, 2, {}, {}},
                                 {"2 at once    x 1 BLAS thread ", 2, 1, {}, {}}}};
  const int blas_before = openblas_get_num_threads();
  for (std::size_t r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < configs.size(); ++k) {
      Config& c = configs[(k + r) % configs.size()];
      openblas_set_num_threads(c.blas_threads);
      nn::RandomScheduler scheduler(space, 1, trials, epochs);
      const double cpu0 = cpu_seconds();
      const auto result = nn::run_search(scheduler, trial,
                                         {.workers = c.workers, .results_path = {}, .stop = nullptr, .on_record = {}});
      c.cpu.push_back(cpu_seconds() - cpu0);
      c.seconds.push_back(result.seconds);
    }
    const double ratio = configs[1].seconds.back() / configs[2].seconds.back();
    fmt::print("round {}: {:.1f} s, {:.1f} s, {:.1f} s (1x1, 1x2, 2x1); ratio {:.2f}\n", r + 1,
               configs[0].seconds.back(), configs[1].seconds.back(), configs[2].seconds.back(), ratio);
  }
  openblas_set_num_threads(blas_before);

  for (const Config& c : configs) {
    const double s = median(c.seconds);
    fmt::print("{}: {:7.1f} s {:8.1f} trials/hour, {:.2f} cores busy\n", c.name, s, double(trials) / s * 3600,
               median(c.cpu) / s);
  }
  const double t1 = median(configs[0].seconds), t2 = median(configs[1].seconds), tc = median(configs[2].seconds);
  std::vector<double> ratios;
  for (std::size_t r = 0; r < rounds; ++r) ratios.push_back(configs[1].seconds[r] / configs[2].seconds[r]);
  const double s = t1 / t2, e = t1 / (2 * tc);
  fmt::print("second BLAS thread's speed-up s = {:.2f}; caviar's parallel efficiency e = {:.2f}\n", s, e);
  fmt::print("ratio caviar / one at a time (median of rounds; target >= 1.8): {:.2f}, at most 2/s = {:.2f} here\n",
             median(ratios), 2 / s);

  if (asha_trials) {
    nn::AshaScheduler asha(space, 2, {.trials = asha_trials, .min_budget = 1, .max_budget = 4, .eta = 2});
    const auto r = nn::run_search(asha, trial, {.workers = 2, .results_path = {}, .stop = nullptr, .on_record = {}});
    fmt::print("ASHA: {} jobs in {:.1f} s, scheduler {:.3f} ms = {:.4f}% of the search (target < 1%)\n",
               r.records.size(), r.seconds, r.scheduler_seconds * 1e3, 100 * r.scheduler_seconds / r.seconds);
    fmt::print("{}", nn::summary_table(r.records, space, 3));
  }
  return 0;
}
