// A checkpoint's manifest.json, checked field by field before anything is built from it: every
// number against its type and range, every listed entry present with a valid .npy header of the
// manifest's dtype, and the architecture's sizes against the file's own arrays. Building a model
// from a checked manifest therefore allocates no more than the file holds (a crafted `units` of
// 5e7 is refused here, not after a 2.7 GB He initialization).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "checkpoint_npy.hpp"

namespace nn::detail {

inline constexpr const char* checkpoint_format_name = "dlcourse-nn-checkpoint";

// `entries` maps entry names ("W[1].npy") to their bytes. Returns the header of every tensor the
// manifest lists, by tensor name ("W[1]", "optimizer/v/W[1]", "normalizer/mean"). Throws
// CheckpointError "checkpoint <path>: ...; the model was not changed".
std::map<std::string, NpyHeader> check_manifest(const nlohmann::json& manifest,
                                                const std::map<std::string, std::string>& entries,
                                                const std::string& path);

}  // namespace nn::detail
