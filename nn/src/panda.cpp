#include "nn/panda.hpp"

#include <fmt/format.h>

#include <plot/plot.hpp>

#include "nn/checkpoint.hpp"
#include "nn/search_results.hpp"

namespace nn {
namespace {

void plot_history(const std::filesystem::path& stem, const History& h) {
  plot::LinePlot costs;
  costs.x_name = "epoch";
  plot::Series cost{"cost", {}}, dev{"dev_cost", {}};
  for (const auto& e : h.epochs) {
    costs.x.push_back(double(e.epoch));
    cost.y.push_back(e.cost);
    dev.y.push_back(e.dev_cost);
  }
  costs.series = {cost, dev};
  plot::line(stem, costs, {.title = "babysitting: cost by epoch", .x = "epoch", .y = "cost"});
}

}  // namespace

template <class T>
void start_babysitting(const std::string& checkpoint, const Sequential<T>& model, const Optimizer<T>& optimizer) {
  save_checkpoint(checkpoint, model, &optimizer, static_cast<const Normalizer<T>*>(nullptr),
                  {{"history", nlohmann::json::array()}, {"changes", nlohmann::json::array()}});
}

template <class T>
History babysit(const std::string& checkpoint, Loss loss, const Dataset<T>& train, const Dataset<T>* dev,
                const PandaOptions& options) {
  const auto manifest = read_checkpoint_manifest(checkpoint);
  if (!manifest.contains("optimizer") || manifest["optimizer"].is_null())
    throw CheckpointError(fmt::format("babysit: {} holds no optimizer state to train on with", checkpoint));
  // Normalization statistics in the checkpoint are kept in it (the data come normalized).
  Normalizer<T> normalizer;
  Normalizer<T>* kept = manifest.value("normalizer", false) ? &normalizer : nullptr;
  Sequential<T> model = load_model<T>(checkpoint, kept);
  auto optimizer = make_optimizer<T>(manifest["optimizer"]);
  nlohmann::json extra = load_checkpoint(checkpoint, model, optimizer.get(), kept);
  if (!extra.is_object()) extra = nlohmann::json::object();
  History history;
  for (const auto& e : extra.value("history", nlohmann::json::array())) history.epochs.push_back(epoch_from_json(e));
  const std::size_t before = history.epochs.size();

  // The changes: a new α0 and/or schedule, both counted from this resume (the trainer starts its
  // epochs at 0, and so does the schedule).
  auto config = optimizer->config();
  if (options.learning_rate) config["learning_rate"] = *options.learning_rate;
  if (options.schedule) {
    options.schedule->validate();
    config["schedule"] = options.schedule->to_json();
  }
  optimizer->configure(config);
  auto changes = extra.value("changes", nlohmann::json::array());
  changes.push_back({{"after_epoch", before},
                     {"learning_rate", optimizer->initial_learning_rate()},
                     {"schedule", optimizer->schedule().to_json()}});
  extra["changes"] = changes;

  Trainer<T> trainer(model, loss, *optimizer, options.train);
  trainer.on_epoch([&](Trainer<T>&, const EpochRecord& e) {
    EpochRecord r = e;
    r.epoch = before + e.epoch;
    history.epochs.push_back(r);
    auto records = nlohmann::json::array();
    for (const auto& x : history.epochs) records.push_back(to_json(x));
    extra["history"] = records;
    save_checkpoint(checkpoint, model, static_cast<const Optimizer<T>*>(optimizer.get()),
                    static_cast<const Normalizer<T>*>(kept), extra);
    if (!options.plot_stem.empty()) plot_history(options.plot_stem, history);
    return true;
  });
  const History run = trainer.fit(train, dev);
  history.stopped_early = run.stopped_early;
  history.train_accuracy_full_pass = run.train_accuracy_full_pass;
  return history;
}

template void start_babysitting(const std::string&, const Sequential<float>&, const Optimizer<float>&);
template void start_babysitting(const std::string&, const Sequential<double>&, const Optimizer<double>&);
template History babysit(const std::string&, Loss, const Dataset<float>&, const Dataset<float>*, const PandaOptions&);
template History babysit(const std::string&, Loss, const Dataset<double>&, const Dataset<double>*,
                         const PandaOptions&);

}  // namespace nn
