// The usual trial of a search: a model trained to the job's budget on a training set, scored by
// its dev cost after the last epoch. The model, optimizer and trainer stay in the trial's state,
// so an ASHA promotion trains on from the rung before; a promotion whose state is empty (a resumed
// or distributed search) first replays the fits of job.earlier_budgets, so that both give the same
// record (this job's epochs only, the same bits). Outcomes: finished; diverged when the
// trainer refused a step (nn::DivergenceError: a non-finite cost or gradient, or a cost far above
// its start) or the dev cost is not finite; failed for any
// other exception (run_search records it); interrupted when the search is being stopped (the
// trainer stops after the current epoch).
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <string>

#include "nn/search_runner.hpp"
#include "nn/trainer.hpp"

namespace nn {

template <class T>
struct TrialModel {
  Sequential<T> model;
  std::unique_ptr<Optimizer<T>> optimizer;
  std::unique_ptr<Trainer<T>> trainer;  // over model and optimizer (so TrialModel never moves)
  std::function<bool(const EpochRecord&)> epoch_sink;  // the current job's (a trainer keeps its callbacks)
  std::size_t jobs_done = 0;  // the trial's jobs (fits) this model has been through
};

// Fills a TrialModel for a job: model (from job.values, seeded by job.seed), optimizer, trainer.
template <class T>
using TrialBuilder = std::function<void(TrialModel<T>&, const TrialJob&)>;

template <class T>
TrialReport train_trial(TrialContext& context, const TrialBuilder<T>& build, const Dataset<T>& train,
                        const Dataset<T>& dev) {
  using Kept = std::shared_ptr<TrialModel<T>>;
  if (!context.state.has_value()) {
    auto m = std::make_shared<TrialModel<T>>();
    build(*m, context.job);
    if (!m->trainer) throw ConfigError("train_trial: the builder made no trainer");
    m->trainer->on_epoch([p = m.get()](Trainer<T>&, const EpochRecord& e) { return !p->epoch_sink || p->epoch_sink(e); });
    context.state = m;
  }
  TrialModel<T>& m = *std::any_cast<Kept&>(context.state);
  Trainer<T>& trainer = *m.trainer;
  TrialReport report;
  trainer.options().progress = Progress::none;
  bool asked_to_stop = false;
  bool recording = false;
  m.epoch_sink = [&](const EpochRecord& e) {
    if (recording) report.epochs.push_back(e);
    asked_to_stop = context.stop_requested();
    return !asked_to_stop;
  };
  struct Unhook {
    TrialModel<T>& m;
    ~Unhook() { m.epoch_sink = nullptr; }
  } unhook{m};
  try {
    // A model that has not been through the earlier jobs of its trial (a fresh one, or one kept
    // from a lower rung while the rungs between ran elsewhere) first replays their fits one by one
    // (each with its own early stopping), as a model kept throughout went through them; their
    // epochs are not this job's.
    const auto& earlier = context.job.earlier_budgets;
    for (; m.jobs_done < earlier.size(); ++m.jobs_done) {
      trainer.options().epochs = earlier[m.jobs_done] - trainer.epochs_done();
      trainer.fit(train, &dev);
      if (asked_to_stop) {
        report.outcome = Outcome::interrupted;
        return report;
      }
    }
    const std::size_t done = trainer.epochs_done();
    if (done >= context.job.budget) throw ConfigError("train_trial: the trial has already trained to this budget");
    trainer.options().epochs = context.job.budget - done;
    recording = true;
    trainer.fit(train, &dev);
    ++m.jobs_done;
  } catch (const DivergenceError& e) {
    // A refused step (a non-finite cost or gradient, or the divergence guard); bad data (DataError)
    // and settings refused up front (ConfigError) fail the trial instead.
    report.outcome = Outcome::diverged;
    report.error = e.what();
    return report;  // (run_search drops the trial's state)
  }
  if (asked_to_stop && trainer.epochs_done() < context.job.budget) {
    report.outcome = Outcome::interrupted;
    return report;
  }
  report.score = report.epochs.empty() ? INFINITY : report.epochs.back().dev_cost;
  if (!std::isfinite(report.score)) {
    report.outcome = Outcome::diverged;
    report.error = "the dev cost is not finite";
  }
  return report;
}

}  // namespace nn
