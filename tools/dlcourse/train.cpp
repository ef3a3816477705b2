// dlcourse train: a model from its spec, trained on the data, with a progress bar (or one line per
// epoch when not on a terminal), optionally saved as a checkpoint (normalization included).
#include <fmt/format.h>

#include <nn/checkpoint.hpp>
#include <nn/search_results.hpp>

#include "commands.hpp"
#include "data.hpp"
#include "model.hpp"

namespace dlcourse {
namespace {

struct TrainArgs {
  std::string spec, save, history;
  std::size_t epochs = 0;
  bool json = false;
  DataOptions data;
};

void run(const TrainArgs& a) {
  TrainingSpec spec = read_spec(a.spec);
  if (a.epochs) spec.epochs = a.epochs;
  auto split = a.data.load_train();
  nn::Dataset<float>* dev = split.dev.x.size() ? &split.dev : nullptr;
  const auto normalizer = normalize(spec, split.train, dev);
  nn::TrialModel<float> m;
  // With --json the progress goes to stderr: stdout holds the JSON document only.
  build_trial(m, spec, split.train.features(), spec.seed, nn::Progress::automatic, a.json ? &std::cerr : nullptr);
  const nn::History h = m.trainer->fit(split.train, dev);
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
  cmd->add_option("--spec", a->spec, "the model and training spec (JSON)")->required();
  cmd->add_option("--epochs", a->epochs, "epochs to train (default: the spec's)");
  cmd->add_option("--save", a->save, "write a checkpoint (.npz) after training");
  cmd->add_option("--history", a->history, "write the per-epoch history as CSV");
  cmd->add_flag("--json", a->json, "print the result as one JSON document");
  a->data.add_to(*cmd, true);
  cmd->callback([a] { run(*a); });
}

}  // namespace dlcourse
