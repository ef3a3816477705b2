// dlcourse train: a model from its spec, trained on the data, with a progress bar (or one line per
// epoch when not on a terminal), optionally saved as a checkpoint (normalization included).
// Under `mpirun -np N` (an MPI build) the N processes train the one model data-parallel: each reads
// the same data, takes its shard of every global mini-batch, and one allreduce of the gradients
// makes every step the one a single process would take (nn/data_parallel.hpp). Process 0 alone
// prints, writes the history and saves the checkpoint.
#include <fmt/format.h>

#include <nn/checkpoint.hpp>
#include <nn/panda.hpp>
#include <nn/schedule.hpp>
#include <nn/search_results.hpp>

#include "commands.hpp"
#include "data.hpp"
#include "model.hpp"
#include "mpi_job.hpp"

namespace dlcourse {
namespace {

struct TrainArgs {
  std::string spec, save, history, resume, schedule, plot;
  double learning_rate = 0;
  std::size_t epochs = 0;
  bool json = false;
  bool sync_batch_norm = false;
  DataOptions data;
};

// Panda: train a checkpoint on (nn::babysit), with a new learning rate or schedule.
void resume(const TrainArgs& a) {
  const auto manifest = nn::read_checkpoint_manifest(a.resume);
  const auto extra = manifest.value("extra", nlohmann::json::object());
  if (!extra.is_object() || !extra.contains("training"))
    throw nn::ConfigError(fmt::format("{}: not written by `dlcourse train --save` (no training fields)", a.resume));
  const TrainingSpec spec = parse_spec(extra["training"], a.resume + " (training fields)");
  auto split = a.data.load_train();
  nn::Dataset<float>* dev = split.dev.x.size() ? &split.dev : nullptr;
  if (manifest.value("normalizer", false)) {
    nn::Normalizer<float> normalizer;
    nn::load_model<float>(a.resume, &normalizer);
    normalizer.apply(split.train);
    if (dev) normalizer.apply(*dev);
  }
  nn::PandaOptions o;
  if (a.learning_rate > 0) o.learning_rate = a.learning_rate;
  if (!a.schedule.empty()) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(a.schedule);
    } catch (const nlohmann::json::parse_error& e) {
      throw nn::ConfigError(fmt::format("--schedule: not JSON: {}", e.what()));
    }
    auto with = nlohmann::json{{"layers", nlohmann::json::array({{{"type", "dense"}, {"units", 1}}})}, {"schedule", j}};
    o.schedule = nn::Schedule::from_json(parse_spec(with, "--schedule").optimizer["schedule"]);
  }
  o.train = {.epochs = a.epochs ? a.epochs : spec.epochs, .batch_size = spec.batch_size, .l2 = spec.l2,
             .seed = spec.seed, .out = a.json ? &std::cerr : nullptr};
  o.plot_stem = a.plot;
  const nn::History h = nn::babysit<float>(a.resume, spec.loss, split.train, dev, o);
  auto epochs = nlohmann::json::array();
  for (const auto& e : h.epochs) epochs.push_back(nn::to_json(e));
  if (a.json) print_json({{"epochs", epochs}, {"checkpoint", a.resume}});
  else fmt::print("{} epochs in the history of {} (saved after each)\n", h.epochs.size(), a.resume);
}

void run(const TrainArgs& a) {
  nn::ProcessGroup* job = mpi_job();
  if (job && !a.resume.empty())
    throw nn::ConfigError(fmt::format("train --resume trains one process; this is an MPI job of {}: run it without mpirun",
                                      job->size()));
  if (!a.resume.empty()) return resume(a);
  if (a.spec.empty()) throw nn::ConfigError("train: give --spec (a new model) or --resume (a checkpoint to train on)");
  TrainingSpec spec = read_spec(a.spec);
  if (a.epochs) spec.epochs = a.epochs;
  auto split = a.data.load_train();
  nn::Dataset<float>* dev = split.dev.x.size() ? &split.dev : nullptr;
  const auto normalizer = normalize(spec, split.train, dev);
  nn::TrialModel<float> m;
  // With --json the progress goes to stderr: stdout holds the JSON document only.
  build_trial(m, spec, split.train.features(), spec.seed, nn::Progress::automatic, a.json ? &std::cerr : nullptr,
              {.group = job, .batch_norm = a.sync_batch_norm ? nn::BatchNormStatistics::synchronized
                                                              : nn::BatchNormStatistics::per_process});
  const nn::History h = m.trainer->fit(split.train, dev);
  if (job && job->rank() != 0) return;  // every process holds the same model and history
  if (!a.history.empty()) h.write_csv(a.history);
  auto epochs = nlohmann::json::array();
  for (const auto& e : h.epochs) epochs.push_back(nn::to_json(e));
  if (!a.save.empty())
    nn::save_checkpoint(a.save, m.model, static_cast<const nn::Optimizer<float>*>(m.optimizer.get()),
                        normalizer.fitted() ? &normalizer : nullptr,
                        {{"training", to_json(spec)}, {"history", epochs}, {"changes", nlohmann::json::array()}});
  const auto& last = h.epochs.back();
  if (a.json) {
    print_json({{"epochs", epochs}, {"stopped_early", h.stopped_early}, {"checkpoint", a.save}});
  } else {
    fmt::print("trained {} epochs: cost {:.5f}", h.epochs.size(), last.cost);
    if (dev) fmt::print(", dev cost {:.5f}, dev accuracy {:.4f}", last.dev_cost, last.dev_accuracy);
    fmt::print("\n");
    if (!a.save.empty()) fmt::print("saved {}\n", a.save);
  }
}

}  // namespace

void add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "train a model described in JSON (see tools/dlcourse/spec.hpp)");
  cmd->add_option("--spec", a->spec, "the model and training spec (JSON)");
  cmd->add_option("--resume", a->resume, "train a checkpoint of `train --save` on (panda), saving it after each epoch");
  cmd->add_option("--learning-rate", a->learning_rate, "with --resume: the new initial learning rate");
  cmd->add_option("--schedule", a->schedule, "with --resume: the new schedule, e.g. '{\"kind\": \"exponential\", \"rate\": 0.9}'");
  cmd->add_option("--plot", a->plot, "with --resume: redraw the history as PLOT.csv/.png after each epoch");
  cmd->add_option("--epochs", a->epochs, "epochs to train (default: the spec's)");
  cmd->add_option("--save", a->save, "write a checkpoint (.npz) after training");
  cmd->add_option("--history", a->history, "write the per-epoch history as CSV");
  cmd->add_flag("--json", a->json, "print the result as one JSON document");
  cmd->add_flag("--sync-batch-norm", a->sync_batch_norm,
                "under mpirun: batch norm uses the whole global mini-batch's statistics (default: each "
                "process its shard's)");
  a->data.add_to(*cmd, true);
  cmd->callback([a] { run(*a); });
}

}  // namespace dlcourse
