// The architecture of the seed corpus's checkpoint (corpus/checkpoint/small.npz): the fuzz target
// loads into it so that a mutated but well-formed file gets past the architecture checks and
// exercises the decoding of every entry (weights, batch-norm buffers, Adam moments, normalizer).
#pragma once

#include <nn/sequential.hpp>

namespace fuzz {

inline constexpr std::size_t seed_inputs = 3;

inline nn::Sequential<float> seed_model() {
  nn::Sequential<float> model;
  model.dense(4).batch_norm().activation(nn::Activation::relu).dropout(0.8).dense(2);
  return model;
}

}  // namespace fuzz
