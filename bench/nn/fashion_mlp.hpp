// The model of the nn benchmarks: MLP 784-256-128-10 (ReLU, softmax cross-entropy, Adam 1e-3,
// float, batch 128) on normalized Fashion-MNIST, with an endless stream of shuffled full batches.
// mlp_step and mlp_step_profile time the same step, so they build it here.
#pragma once

#include <random>
#include <span>

#include <nn/nn.hpp>

namespace bench {

struct FashionMlp {
  static constexpr std::size_t batch = 128;

  nn::Dataset<float> train = normalized(nn::load_fashion_mnist<float>("train"));
  nn::Sequential<float> model = built_model();
  nn::Adam<float> adam{1e-3};
  nn::Trainer<float> trainer{model, nn::Loss::softmax_cross_entropy, adam, options()};

  // The next shuffled batch; full batches only (the partial last one is another shape).
  std::span<const std::size_t> next_batch() {
    if (next_ == batches_.count() - 1) {
      batches_.shuffle(rng_);
      next_ = 0;
    }
    return batches_[next_++];
  }
  double step() { return trainer.step(train, next_batch()); }

 private:
  static nn::Dataset<float> normalized(nn::Dataset<float> data) {
    nn::Normalizer<float> normalizer;
    normalizer.fit(data);
    normalizer.apply(data);
    return data;
  }
  static nn::Sequential<float> built_model() {
    nn::Sequential<float> m;
    m.dense(256, nn::Activation::relu).dense(128, nn::Activation::relu).dense(10);
    m.build(784, 0);
    return m;
  }
  static nn::TrainOptions options() {
    nn::TrainOptions o;
    o.batch_size = batch;
    o.progress = nn::Progress::none;
    return o;
  }

  std::mt19937_64 rng_{0};
  nn::Batches batches_ = shuffled(train.size());
  std::size_t next_ = 0;

  nn::Batches shuffled(std::size_t n) {
    nn::Batches b(n, batch);
    b.shuffle(rng_);
    return b;
  }
};

}  // namespace bench
