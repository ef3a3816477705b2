// Gradient checking of nn models with gradcheck/: the training cost of a model on a mini-batch,
// checked in double on a copy (a float model is converted, the trained model is never touched),
// and a Trainer step callback that runs the check at chosen steps of a training run.
#pragma once

#include <iosfwd>
#include <memory>
#include <span>
#include <vector>

#include <gradcheck/gradcheck.hpp>

#include "nn/trainer.hpp"

namespace nn {

// Checks d(cost)/dθ for every parameter of `model` on the examples `batch` of `data`, where the
// cost is the training cost (training mode: batch statistics, dropout with a frozen mask, L2
// term λ/(2m)Σ‖W‖² when l2 > 0). Runs on a double copy of the model; the report names the
// blocks W[1], gamma[1], ...
template <class T>
gc::Report check_gradients(const Sequential<T>& model, Loss loss, const Dataset<T>& data,
                           std::span<const std::size_t> batch, double l2 = 0, gc::Options options = {});

struct GradcheckCallbackOptions {
  std::size_t at_step = 1;       // the first step (from 1) after which to check
  std::size_t every = 0;         // then every this many steps (0: only once)
  std::size_t max_examples = 16; // columns of the step's mini-batch used (0: all of it)
  gc::Options check = probes();  // a directional probe per block, element-level only where it fails
  std::ostream* out = nullptr;   // the report table goes here (null: standard output)
  bool throw_on_failure = true;  // a failed check throws GradcheckError (naming the blocks)

  static gc::Options probes() {
    gc::Options o;
    o.mode = gc::Mode::probes;
    return o;
  }
};

// Thrown by the callback when a check fails; the message holds the report's table.
struct GradcheckError : ad::Error {
  using ad::Error::Error;
};

// A Trainer step callback checking the gradients (after the step's update) on that step's
// mini-batch. Reports are appended to `reports` when given. Usage:
//   trainer.on_step(nn::gradcheck_callback<float>({.at_step = 100}));
template <class T>
typename Trainer<T>::StepCallback gradcheck_callback(GradcheckCallbackOptions options = {},
                                                    std::shared_ptr<std::vector<gc::Report>> reports = nullptr);

}  // namespace nn
