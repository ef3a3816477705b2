// dlcourse evaluate: a checkpoint's cost and accuracy on data (Fashion-MNIST's test part, or the
// given file), normalized with the checkpoint's statistics when it holds them.
#include <fmt/format.h>

#include <nn/checkpoint.hpp>
#include <nn/predict.hpp>

#include "commands.hpp"
#include "data.hpp"
#include "model.hpp"

namespace dlcourse {
namespace {

struct EvaluateArgs {
  std::string checkpoint;
  bool json = false;
  DataOptions data;
};

void run(const EvaluateArgs& a) {
  const auto manifest = nn::read_checkpoint_manifest(a.checkpoint);
  nn::Normalizer<float> normalizer;
  const bool normalized = manifest.value("normalizer", false);
  nn::Sequential<float> model = nn::load_model<float>(a.checkpoint, normalized ? &normalizer : nullptr);
  const auto extra = manifest.value("extra", nlohmann::json::object());
  nn::Loss loss = nn::Loss::softmax_cross_entropy;
  if (extra.is_object() && extra.contains("training")) loss = nn::loss_from_string(extra["training"].value("loss", "softmax_cross_entropy"));
  nn::Dataset<float> data = a.data.load_eval();
  if (normalized) normalizer.apply(data);
  nn::Predictor<float> predictor(model, loss);
  const auto e = predictor.evaluate(data);
  if (a.json)
    print_json({{"examples", data.size()}, {"cost", e.cost}, {"accuracy", e.accuracy}, {"loss", nn::to_string(loss)}});
  else
    fmt::print("{} examples: cost {:.5f}, accuracy {:.4f}\n", data.size(), e.cost, e.accuracy);
}

}  // namespace

void add_evaluate(CLI::App& app) {
  auto a = std::make_shared<EvaluateArgs>();
  auto* cmd = app.add_subcommand("evaluate", "a checkpoint's cost and accuracy on data");
  cmd->add_option("--checkpoint", a->checkpoint, "the checkpoint (.npz) to evaluate")->required();
  cmd->add_flag("--json", a->json, "print the result as one JSON document");
  a->data.add_to(*cmd, false);
  cmd->callback([a] { run(*a); });
}

}  // namespace dlcourse
