// dlcourse gradcheck: the gradient checker from the shell. Checks d(cost)/dθ of a model (a spec's,
// freshly initialized, or a checkpoint's, trained) on the first examples of the data, in double,
// and prints the block table (W[1], b[1], gamma[1], ...). Exit status 2 when a block fails.
#include <numeric>

#include <fmt/format.h>

#include <nn/checkpoint.hpp>
#include <nn/gradcheck.hpp>

#include "commands.hpp"
#include "data.hpp"
#include "model.hpp"

namespace dlcourse {
namespace {

struct GradcheckArgs {
  std::string spec, checkpoint;
  std::size_t examples = 16;
  bool json = false, probes = false;
  DataOptions data;
};

void run(const GradcheckArgs& a) {
  if (a.spec.empty() == a.checkpoint.empty()) throw nn::ConfigError("gradcheck: give one of --spec and --checkpoint");
  auto split = a.data.load_train();
  nn::Sequential<float> model;
  nn::Loss loss = nn::Loss::softmax_cross_entropy;
  double l2 = 0;
  if (!a.spec.empty()) {
    const TrainingSpec spec = read_spec(a.spec);
    normalize(spec, split.train, nullptr);
    nn::TrialModel<float> m;
    build_trial(m, spec, split.train.features(), spec.seed, nn::Progress::none, nullptr);
    model = std::move(m.model);
    loss = spec.loss;
    l2 = spec.l2;
  } else {
    const auto manifest = nn::read_checkpoint_manifest(a.checkpoint);
    nn::Normalizer<float> normalizer;
    const bool normalized = manifest.value("normalizer", false);
    model = nn::load_model<float>(a.checkpoint, normalized ? &normalizer : nullptr);
    if (normalized) normalizer.apply(split.train);
    const auto extra = manifest.value("extra", nlohmann::json::object());
    if (extra.is_object() && extra.contains("training")) {
      loss = nn::loss_from_string(extra["training"].value("loss", "softmax_cross_entropy"));
      l2 = extra["training"].value("l2", 0.0);
    }
  }
  std::vector<std::size_t> batch(std::min(a.examples, split.train.size()));
  std::iota(batch.begin(), batch.end(), 0);
  gc::Options options;
  if (a.probes) options.mode = gc::Mode::probes;
  const gc::Report report = nn::check_gradients(model, loss, split.train, batch, l2, options);
  if (a.json) print_json(report.to_json());
  else fmt::print("{}", report.table());
  if (!report.passed()) throw CLI::RuntimeError(2);
}

}  // namespace

void add_gradcheck(CLI::App& app) {
  auto a = std::make_shared<GradcheckArgs>();
  auto* cmd = app.add_subcommand("gradcheck", "check a model's gradients on a few examples and print the block table");
  cmd->add_option("--spec", a->spec, "a model spec (JSON): checked at its initialization");
  cmd->add_option("--checkpoint", a->checkpoint, "a checkpoint (.npz): checked at its trained values");
  cmd->add_option("--examples", a->examples, "examples of the data to check on")->capture_default_str();
  cmd->add_flag("--probes", a->probes, "one directional probe per block (fast, for big models)");
  cmd->add_flag("--json", a->json, "print the report as one JSON document");
  a->data.add_to(*cmd, false);
  cmd->callback([a] { run(*a); });
}

}  // namespace dlcourse
