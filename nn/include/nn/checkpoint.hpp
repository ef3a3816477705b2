// Checkpoints: a model's parameters and buffers (batch-norm running statistics), optionally the
// optimizer's state and the input normalization, in one file.
//
// Format: a NumPy .npz archive (a zip of stored .npy entries, read and written with libzip)
// holding `manifest.json` (format name and version, scalar type, architecture, optimizer
// configuration, list of entries) and one .npy per tensor: "W[1].npy", "running_mean[2].npy",
// "optimizer/v/W[1].npy", "normalizer/mean.npy". numpy.load() and unzip read it.
//
// Saving: one file, because one file can be replaced atomically: it is written to a unique
// temporary file next to the target (`<name>.tmp.<pid>.XXXXXX`), flushed to disk, renamed over it,
// and the directory is flushed; a crash or a kill leaves the old checkpoint or the new one, never
// half of one. Only a regular file is replaced: a device, FIFO or directory at the path is
// refused. A symlink is written through (its target is replaced, the link stays). Temporaries of
// killed saves are removed by a later save to the same path once stale (see src/atomic_file.hpp).
// Every failure, a failed directory flush included, throws CheckpointError naming the path and the
// system's reason; a save that fails before the rename leaves the old file as it was.
//
// Loading: zip's CRC-32 of every entry is verified; every .npy header is validated by hand (dtype,
// order, a 2-D shape matching the entry's size exactly); every manifest field is checked against
// its type and range, and the architecture's size against the file's own arrays, before anything
// is built; then the whole file is decoded and matched against the model (scalar type,
// architecture: layer types, activations, keep_prob, batch norm's ε and momentum; parameter names
// and shapes; the optimizer state's parameters and shapes; the normalizer's (n_x, 1) statistics)
// before anything in memory is changed. Every error from a loader is a CheckpointError, and a
// refused file leaves model, optimizer and normalizer as they were.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "nn/normalize.hpp"
#include "nn/optimizer.hpp"
#include "nn/sequential.hpp"

namespace nn {

inline constexpr int checkpoint_version = 1;

template <class T>
void save_checkpoint(const std::string& path, const Sequential<T>& model, const Optimizer<T>* optimizer = nullptr,
                     const Normalizer<T>* normalizer = nullptr, const nlohmann::json& extra = {});

// Loads into an existing model (built, or unbuilt and then built from the checkpoint's input
// size); the optimizer (hyperparameters, moments, step count and epoch) and the normalizer are
// loaded when given, and must then be present in the file. Returns the `extra` JSON saved with it.
template <class T>
nlohmann::json load_checkpoint(const std::string& path, Sequential<T>& model, Optimizer<T>* optimizer = nullptr,
                               Normalizer<T>* normalizer = nullptr);

// A model rebuilt from the architecture stored in the checkpoint, with its values.
template <class T>
Sequential<T> load_model(const std::string& path, Normalizer<T>* normalizer = nullptr);

// The manifest alone (after the same integrity checks), e.g. to build a matching optimizer with
// make_optimizer(manifest["optimizer"]).
nlohmann::json read_checkpoint_manifest(const std::string& path);

}  // namespace nn
