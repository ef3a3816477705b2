// The search trials the caviar and distributed-search benchmarks train: MLPs 784-h-h/2-10 (ReLU,
// dropout, Adam, float) on normalized Fashion-MNIST, over α (log), keep_prob and h (log, integer).
#pragma once

#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include <nn/nn.hpp>

namespace bench {

// α in [3e-4, 3e-3], keep_prob in [0.7, 1], h in [max_hidden/2, max_hidden].
inline std::vector<nn::SearchDimension> fashion_search_space(double max_hidden = 256) {
  return {{"alpha", 3e-4, 3e-3, nn::Scale::log},
          {"keep_prob", 0.7, 1, nn::Scale::linear},
          {"hidden_units", max_hidden / 2, max_hidden, nn::Scale::log, true}};
}

struct FashionTrials {
  nn::Dataset<float> train, dev;
  std::size_t batch_size = 128;

  // The first `limit` training images (0: all), the last `dev_size` of them held out, both
  // normalized with the training part's statistics.
  static FashionTrials load(std::size_t limit, std::size_t dev_size, std::size_t batch_size) {
    auto all = nn::load_fashion_mnist<float>("train", nn::fashion_mnist_dir, limit);
    if (dev_size >= all.size())
      throw std::invalid_argument("--dev " + std::to_string(dev_size) + " leaves no training images of the " +
                                  std::to_string(all.size()) + " loaded");
    std::vector<std::size_t> ti(all.size() - dev_size), di(dev_size);
    std::iota(ti.begin(), ti.end(), 0);
    std::iota(di.begin(), di.end(), all.size() - dev_size);
    FashionTrials t{nn::subset(all, ti), nn::subset(all, di), batch_size};
    nn::Normalizer<float> norm;
    norm.fit(t.train);
    norm.apply(t.train);
    norm.apply(t.dev);
    return t;
  }

  nn::TrialReport operator()(nn::TrialContext& c) const {
    return nn::train_trial<float>(
        c,
        [batch_size = batch_size](nn::TrialModel<float>& m, const nn::TrialJob& job) {
          const auto hidden = std::size_t(job.values.at("hidden_units"));
          m.model.dense(hidden, nn::Activation::relu)
              .dropout(job.values.at("keep_prob"))
              .dense(hidden / 2, nn::Activation::relu)
              .dense(10);
          m.model.build(784, job.seed);
          m.optimizer = std::make_unique<nn::Adam<float>>(job.values.at("alpha"));
          m.trainer = std::make_unique<nn::Trainer<float>>(
              m.model, nn::Loss::softmax_cross_entropy, *m.optimizer,
              nn::TrainOptions{.batch_size = batch_size, .seed = job.seed, .progress = nn::Progress::none});
        },
        train, dev);
  }
};

}  // namespace bench
