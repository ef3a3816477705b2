#include "model.hpp"

#include <fmt/format.h>

namespace dlcourse {

void build_trial(nn::TrialModel<float>& m, const TrainingSpec& spec, std::size_t n_x, std::uint64_t seed,
                 nn::Progress progress, std::ostream* out, nn::DataParallel parallel) {
  auto model_spec = spec.model;
  model_spec["inputs"] = 0;  // built below for the data's inputs
  m.model = nn::Sequential<float>::from_spec(model_spec);
  const std::size_t declared = spec.model["inputs"].get<std::size_t>();
  if (declared != 0 && declared != n_x)
    throw nn::DataError(fmt::format("the spec's model takes {} inputs but the data have {} features", declared, n_x));
  m.model.build(n_x, seed);
  m.optimizer = nn::make_optimizer<float>(spec.optimizer);
  m.trainer = std::make_unique<nn::Trainer<float>>(
      m.model, spec.loss, *m.optimizer,
      nn::TrainOptions{.epochs = spec.epochs, .batch_size = spec.batch_size, .l2 = spec.l2, .seed = seed,
                       .progress = progress, .out = out, .parallel = parallel});
}

nn::Normalizer<float> normalize(const TrainingSpec& spec, nn::Dataset<float>& train, nn::Dataset<float>* dev) {
  nn::Normalizer<float> n;
  if (!spec.normalize) return n;
  n.fit(train);
  n.apply(train);
  if (dev && dev->x.size()) n.apply(*dev);
  return n;
}

void print_json(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

}  // namespace dlcourse
