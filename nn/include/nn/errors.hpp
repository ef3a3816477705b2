// Exceptions thrown by nn. They derive from ad::Error so that one catch handles the whole stack;
// every message names the layer, parameter, shape or file involved.
#pragma once

#include <autodiff/errors.hpp>

namespace nn {

// A model or hyperparameter that cannot work (e.g. Dense with an activation before BatchNorm):
// the engine's own type, so that a bad scalar caught by an operation (keep_prob, λ, a slope) and
// one caught by a layer are one error kind.
using ConfigError = ad::ConfigError;

// Training that diverged: a cost that became NaN/Inf, or grew far above its start (the trainer's
// divergence guard, TrainOptions::stop_on_divergence). The learning rate is the usual suspect.
struct DivergenceError : ConfigError {
  using ConfigError::ConfigError;
};

// Data that cannot be read or does not fit (IDX, CSV, shapes of a data set).
struct DataError : ad::Error {
  using ad::Error::Error;
};

// A checkpoint that cannot be written, or is truncated, corrupted or does not fit the model.
struct CheckpointError : ad::Error {
  using ad::Error::Error;
};

}  // namespace nn
