// dlcourse search: a hyperparameter search over a spec. The space is a JSON array of dimensions
//   [{"name": "learning_rate", "lo": 1e-4, "hi": 1e-1, "scale": "log"},
//    {"name": "beta1", "lo": 0.8, "hi": 0.999, "scale": "one_minus_log"},
//    {"name": "hidden_units", "lo": 32, "hi": 512, "scale": "log", "integer": true}]
// (names: see with_hyperparameters in spec.hpp). Methods: asha (successive halving from
// --min-epochs to --max-epochs), random (each trial --max-epochs), coarse-to-fine (--rounds of
// --trials each). Trials run on --workers threads; every finished one goes to --results (JSONL),
// from which the same command resumes after Ctrl-C. Prints the best trials; --plots DIR draws
// the score against each hyperparameter. Under `mpirun -np N` (when built with MPI) the search is
// distributed: every rank runs --workers trials, rank 0 alone schedules, writes and prints
// (nn/search_distributed.hpp).
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include <nn/search_asha.hpp>
#include <nn/search_coarse_to_fine.hpp>
#include <nn/search_results.hpp>
#include <nn/search_summary.hpp>

#ifdef DLCOURSE_WITH_MPI
#include <nn/search_distributed.hpp>
#endif

#include "commands.hpp"
#include "data.hpp"
#include "model.hpp"
#include "mpi_job.hpp"

namespace dlcourse {
namespace {

struct SearchArgs {
  std::string spec, space, method = "asha", results, plots;
  std::size_t trials = 27, min_epochs = 1, max_epochs = 9, eta = 3, rounds = 3, keep_best = 5, workers = 1, top = 10;
  std::uint64_t seed = 0;
  bool json = false;
  DataOptions data;
};

std::vector<nn::SearchDimension> read_space(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw nn::ConfigError(fmt::format("{}: cannot read the search space", path));
  try {
    return nn::space_from_json(nlohmann::json::parse(in));
  } catch (const nlohmann::json::parse_error& e) {
    throw nn::ConfigError(fmt::format("{}: not JSON: {}", path, e.what()));
  } catch (const nn::ConfigError& e) {
    throw nn::ConfigError(fmt::format("{}: {}", path, e.what()));
  }
}

std::unique_ptr<nn::Scheduler> make_scheduler(const SearchArgs& a, const std::vector<nn::SearchDimension>& space) {
  if (a.method == "asha")
    return std::make_unique<nn::AshaScheduler>(
        space, a.seed, nn::AshaOptions{.trials = a.trials, .min_budget = a.min_epochs, .max_budget = a.max_epochs, .eta = a.eta});
  if (a.method == "random") return std::make_unique<nn::RandomScheduler>(space, a.seed, a.trials, a.max_epochs);
  return std::make_unique<nn::CoarseToFineScheduler>(
      space, a.seed,
      nn::CoarseToFineOptions{.rounds = a.rounds, .trials_per_round = a.trials, .keep_best = a.keep_best,
                              .margin = 0.25, .budget = a.max_epochs});
}

// What every process of a search reads and builds before the first trial.
struct Setup {
  TrainingSpec spec;
  std::vector<nn::SearchDimension> space;
  nn::Split<float> split;
  std::unique_ptr<nn::Scheduler> scheduler;
};

void set_up(const SearchArgs& a, Setup& s) {
  s.spec = read_spec(a.spec);
  s.space = read_space(a.space);
  with_hyperparameters(s.spec, nn::sample_point(s.space, 0));  // refuses a name the spec cannot take, now
  s.split = a.data.load_train();
  if (s.split.dev.x.size() == 0) throw nn::ConfigError("search: trials are scored on a dev set: give --dev N");
  normalize(s.spec, s.split.train, &s.split.dev);
  s.scheduler = make_scheduler(a, s.space);
}

void run(const SearchArgs& a) {
  Setup setup;
#ifdef DLCOURSE_WITH_MPI
  nn::MpiWorld* world = mpi_job();  // null: one process
  const bool printer = !world || world->rank() == 0;  // only rank 0 prints and writes
  try {
    if (world) nn::on_every_rank(*world, [&] { set_up(a, setup); });
    else set_up(a, setup);
  } catch (const ad::Error& e) {
    end_with_agreed_error(e, printer);  // every rank threw: rank 0 says what failed
  }
#else
  mpi_job();  // under a launcher, refuses: this dlcourse has no MPI
  set_up(a, setup);
#endif
  const TrainingSpec& spec = setup.spec;
  const auto& space = setup.space;
  auto& split = setup.split;
  auto& scheduler = setup.scheduler;

  auto trial = [&](nn::TrialContext& c) {
    const TrainingSpec s = with_hyperparameters(spec, c.job.values);
    return nn::train_trial<float>(
        c,
        [&](nn::TrialModel<float>& m, const nn::TrialJob& job) {
          build_trial(m, s, split.train.features(), job.seed, nn::Progress::none, nullptr);
        },
        split.train, split.dev);
  };
  // Progress on stderr: one line rewritten in place on a terminal, a line per job otherwise.
  const bool tty = ::isatty(2);
  std::size_t done = 0;
  double best = INFINITY;
  auto progress = [&](const nn::TrialRecord& r) {
    ++done;
    if (r.report.score < best) best = r.report.score;
    const auto line = fmt::format("[{} jobs] trial {} ({} epochs): {} {:.5g}   best {:.5g}", done, r.job.trial,
                                  r.job.budget, nn::to_string(r.report.outcome), r.report.score, best);
    std::fprintf(stderr, tty ? "\r%s\033[K" : "%s\n", line.c_str());
  };
  nn::InterruptGuard interrupt;
  const nn::RunOptions options{
      .workers = a.workers, .results_path = a.results, .stop = &interrupt.flag(), .on_record = progress};
  nn::SearchResult result;
#ifdef DLCOURSE_WITH_MPI
  if (world) {
    try {
      result = nn::run_distributed_search(*world, *scheduler, trial, options);
    } catch (const ad::Error& e) {
      end_with_agreed_error(e, printer);
    }
  } else {
    result = nn::run_search(*scheduler, trial, options);
  }
  if (!printer) return;
#else
  result = nn::run_search(*scheduler, trial, options);
#endif
  if (tty && done) std::fprintf(stderr, "\n");
  if (!a.plots.empty()) {
    std::filesystem::create_directories(a.plots);
    nn::plot_scores(std::filesystem::path(a.plots) / "search", result.records, space);
  }
  const auto best_trials = nn::best_trials(result.records, a.top);
  if (a.json) {
    auto rows = nlohmann::json::array();
    for (const auto& r : best_trials) rows.push_back(nn::to_json(r));
    print_json({{"best", rows},
                {"jobs", result.records.size()},
                {"restored", result.restored},
                {"interrupted", result.interrupted},
                {"jobs_by_rank", result.jobs_by_rank},
                {"seconds", result.seconds},
                {"scheduler_seconds", result.scheduler_seconds}});
  } else {
    fmt::print("{} jobs ({} from the results file) in {:.1f} s{}\n", result.records.size(), result.restored,
               result.seconds, result.interrupted ? ", interrupted: run the same command to resume" : "");
    fmt::print("{}", nn::summary_table(result.records, space, a.top));
  }
}

}  // namespace

void add_search(CLI::App& app) {
  auto a = std::make_shared<SearchArgs>();
  auto* cmd = app.add_subcommand(
      "search", "search a spec's hyperparameters (ASHA, random or coarse to fine; over the ranks of mpirun -np N)");
  cmd->add_option("--spec", a->spec, "the model and training spec (JSON)")->required();
  cmd->add_option("--space", a->space, "the search space (JSON array of dimensions)")->required();
  cmd->add_option("--method", a->method, "asha, random or coarse-to-fine")
      ->capture_default_str()
      ->check(CLI::IsMember({"asha", "random", "coarse-to-fine"}));
  cmd->add_option("--trials", a->trials, "trials (per round for coarse-to-fine)")->capture_default_str();
  cmd->add_option("--min-epochs", a->min_epochs, "ASHA's budget at rung 0")->capture_default_str();
  cmd->add_option("--max-epochs", a->max_epochs, "the full budget of a trial")->capture_default_str();
  cmd->add_option("--eta", a->eta, "ASHA's reduction factor")->capture_default_str();
  cmd->add_option("--rounds", a->rounds, "coarse-to-fine rounds")->capture_default_str();
  cmd->add_option("--keep-best", a->keep_best, "coarse-to-fine: trials each round narrows around")->capture_default_str();
  cmd->add_option("--workers", a->workers, "trials run at once (one BLAS thread each; per rank under mpirun)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "the search's seed (trial seeds derive from it)")->capture_default_str();
  cmd->add_option("--results", a->results, "JSONL results file, resumed when it exists");
  cmd->add_option("--plots", a->plots, "directory for the score vs hyperparameter plots");
  cmd->add_option("--top", a->top, "best trials to print")->capture_default_str();
  cmd->add_flag("--json", a->json, "print the result as one JSON document");
  a->data.add_to(*cmd, true);
  cmd->callback([a] { run(*a); });
}

}  // namespace dlcourse
