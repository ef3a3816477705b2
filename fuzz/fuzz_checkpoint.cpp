// The checkpoint loader on arbitrary bytes: read_checkpoint_manifest, load_model, and
// load_checkpoint into the architecture of the seed corpus's checkpoint (seed_model.hpp) with its
// optimizer and normalizer. The documented failure is nn::CheckpointError (any ad::Error is
// accepted: a manifest may describe a model that nn refuses with ConfigError); anything else is a
// finding.
#include <autodiff/errors.hpp>
#include <nn/checkpoint.hpp>

#include "input_file.hpp"
#include "seed_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::InputFile file(".npz");
  const std::string& path = file.write(data, size);
  try {
    (void)nn::read_checkpoint_manifest(path);
  } catch (const ad::Error&) {
  }
  try {
    (void)nn::load_model<float>(path);
  } catch (const ad::Error&) {
  }
  try {
    nn::Sequential<float> model = fuzz::seed_model();
    nn::Adam<float> adam;
    nn::Normalizer<float> normalizer;
    (void)nn::load_checkpoint(path, model, &adam, &normalizer);
  } catch (const ad::Error&) {
  }
  return 0;
}
