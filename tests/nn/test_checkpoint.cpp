// Checkpoints: a bit-exact round trip of parameters, batch-norm statistics, Adam's state and the
// normalization; training resumes exactly; truncated, corrupted and mismatched files are refused
// with a clear error and leave the model, optimizer and normalizer unchanged; writes are atomic.
#define BOOST_TEST_MODULE nn checkpoint
#include <boost/test/unit_test.hpp>

#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "checkpoint_helpers.hpp"

using namespace checkpoint_helpers;

namespace {

std::uint32_t get16(const std::string& s, std::size_t at) {
  return std::uint32_t(std::uint8_t(s[at])) | std::uint32_t(std::uint8_t(s[at + 1])) << 8;
}
std::uint32_t get32(const std::string& s, std::size_t at) { return get16(s, at) | get16(s, at + 2) << 16; }
void put32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) s[at + k] = char((v >> (8 * k)) & 0xff);
}

// The checkpoint with its manifest's version replaced by the digit `version` (same length, so no
// offset moves) and the manifest's CRC-32 recomputed in both zip headers: only the version is wrong.
std::string with_version(std::string zip, char version) {
  // manifest.json is the first entry: local header at 0, its data after the 30-byte header and name.
  BOOST_REQUIRE(zip.compare(30, 13, "manifest.json") == 0);
  const std::size_t size = get32(zip, 18), data = 30 + get16(zip, 26) + get16(zip, 28);
  const std::string field = "\"version\": 1";
  const auto at = zip.find(field, data);
  BOOST_REQUIRE((at != std::string::npos && at + field.size() <= data + size));
  zip[at + field.size() - 1] = version;
  const auto crc = std::uint32_t(::crc32(0L, reinterpret_cast<const Bytef*>(zip.data() + data), uInt(size)));
  put32(zip, 14, crc);
  const std::size_t directory = get32(zip, zip.size() - 22 + 16);  // its first entry is manifest.json's
  put32(zip, directory + 16, crc);
  return zip;
}

// What a refused load of optimizer state must leave alone: a model whose Adam has taken a step
// (so it holds state of its own) and a fitted normalizer.
struct SteppedTarget {
  nn::Sequential<float> model = make_model(3);
  nn::Adam<float> adam{0.01};
  nn::Normalizer<float> norm;
  explicit SteppedTarget(const nn::Dataset<float>& data) {
    norm.fit(data);
    step_once(adam, model);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_is_bit_exact) {
  helpers::ScratchDir dir("nn-ckpt");
  Trained t;
  const std::string path = dir.file("model.npz");
  nn::save_checkpoint(path, t.model, &t.adam, &t.norm, {{"note", "hello"}});
  BOOST_TEST(slurp(path).substr(0, 4) == std::string("PK\x03\x04"));  // a zip: numpy.load reads it

  auto model = make_model(99);
  nn::Adam<float> adam(0.5);
  nn::Normalizer<float> norm;
  const auto extra = nn::load_checkpoint(path, model, &adam, &norm);
  BOOST_TEST(extra.at("note") == "hello");
  const auto a = t.model.parameters(), b = model.parameters();
  for (std::size_t k = 0; k < a.size(); ++k) BOOST_TEST(same_bits(a[k]->value, b[k]->value), a[k]->name);
  const auto ab = t.model.buffers(), bb = model.buffers();
  BOOST_TEST(ab.size() == 2u);
  for (std::size_t k = 0; k < ab.size(); ++k) BOOST_TEST(same_bits(*ab[k].value, *bb[k].value), ab[k].name);
  BOOST_TEST(adam.state().size() == t.adam.state().size());
  for (const auto& [key, value] : t.adam.state()) BOOST_TEST(same_bits(value, adam.state().at(key)), key);
  BOOST_TEST(adam.steps() == t.adam.steps());
  BOOST_TEST(adam.learning_rate() == t.adam.learning_rate());  // its epoch, hence its decayed rate
  BOOST_TEST(same_bits(norm.mean, t.norm.mean));
  BOOST_TEST(same_bits(norm.stddev, t.norm.stddev));

  const auto man = nn::read_checkpoint_manifest(path);
  BOOST_TEST(man.at("version") == nn::checkpoint_version);
  BOOST_TEST(man.at("dtype") == "float32");

  // The model rebuilt from the file alone predicts exactly the same.
  auto rebuilt = nn::load_model<float>(path);
  nn::Predictor<float> p1(t.model, nn::Loss::softmax_cross_entropy), p2(rebuilt, nn::Loss::softmax_cross_entropy);
  BOOST_TEST(same_bits(p1.probabilities(t.data.x), p2.probabilities(t.data.x)));
}

BOOST_AUTO_TEST_CASE(training_resumes_exactly) {
  helpers::ScratchDir dir("nn-ckpt-resume");
  Trained t;
  nn::save_checkpoint(dir.file("m.npz"), t.model, &t.adam, &t.norm);
  auto model = make_model(7);
  nn::Adam<float> adam(0.01, 0.9, 0.999, 1e-8, nn::Schedule::inverse_time(0.5));
  nn::load_checkpoint<float>(dir.file("m.npz"), model, &adam, nullptr);
  nn::TrainOptions o;
  o.progress = nn::Progress::none;
  nn::Trainer<float> a(t.model, nn::Loss::softmax_cross_entropy, t.adam, o), b(model, nn::Loss::softmax_cross_entropy, adam, o);
  const std::vector<std::size_t> batch{5, 17, 33, 2, 80, 61};
  for (int i = 0; i < 3; ++i) BOOST_TEST(a.step(t.data, batch) == b.step(t.data, batch));
  const auto pa = t.model.parameters(), pb = model.parameters();
  for (std::size_t k = 0; k < pa.size(); ++k) BOOST_TEST(same_bits(pa[k]->value, pb[k]->value), pa[k]->name);
}

BOOST_AUTO_TEST_CASE(corrupt_and_truncated_files_are_refused_and_change_nothing) {
  helpers::ScratchDir dir("nn-ckpt-bad");
  Trained t;
  const std::string path = dir.file("good.npz");
  nn::save_checkpoint(path, t.model, &t.adam, &t.norm);
  const std::string good = slurp(path);

  auto model = make_model(3);
  nn::Adam<float> adam(0.01);
  nn::Normalizer<float> norm;
  norm.fit(t.data);
  const Snapshot before(model, adam, norm);
  auto attempt = [&](const std::string& bytes) {
    spit(dir.file("bad.npz"), bytes);
    return refusal([&] { nn::load_checkpoint(dir.file("bad.npz"), model, &adam, &norm); });
  };

  // One flipped bit inside W[1]'s data: the CRC catches it.
  std::string flipped = good;
  const auto at = flipped.find("W[1].npy");
  flipped[at + 8 + 100] ^= 0x10;  // past the .npy header, inside the 96 bytes of data
  auto e = attempt(flipped);
  BOOST_TEST(contains(e, "checksum mismatch in entry W[1].npy"), e);
  BOOST_TEST(contains(e, "the model was not changed"), e);
  BOOST_TEST((Snapshot(model, adam, norm) == before));

  for (std::size_t keep : {good.size() - 1, good.size() - 30, good.size() / 2, std::size_t(100), std::size_t(3)}) {
    e = attempt(good.substr(0, keep));
    BOOST_TEST(contains(e, "truncated"), keep << " bytes: " << e);
    BOOST_TEST((Snapshot(model, adam, norm) == before));
  }
  e = attempt("");
  BOOST_TEST(contains(e, "truncated"), e);
  e = refusal([&] { nn::load_checkpoint(dir.file("missing.npz"), model); });
  BOOST_TEST(contains(e, "cannot open"), e);
  e = refusal([&] { nn::load_checkpoint(dir.path.string(), model); });
  BOOST_TEST(contains(e, "cannot open " + dir.path.string() + ": it is a directory"), e);
  BOOST_TEST((Snapshot(model, adam, norm) == before));
}

BOOST_AUTO_TEST_CASE(mismatches_are_refused_and_change_nothing) {
  helpers::ScratchDir dir("nn-ckpt-mismatch");
  Trained t;
  const std::string path = dir.file("m.npz");
  nn::save_checkpoint(path, t.model, &t.adam, &t.norm);

  auto wider = make_model(3, 7);
  nn::Adam<float> adam(0.01);
  nn::Normalizer<float> norm;
  norm.fit(t.data);
  const Snapshot before(wider, adam, norm);
  auto e = refusal([&] { nn::load_checkpoint(path, wider, &adam, &norm); });
  BOOST_TEST(contains(e, "W[1] is (6, 4) in the file but (7, 4) in the model"), e);
  BOOST_TEST((Snapshot(wider, adam, norm) == before));

  nn::Sequential<float> other;
  other.dense(6, nn::Activation::relu).dense(3);
  other.build(4);
  e = refusal([&] { nn::load_checkpoint(path, other); });
  BOOST_TEST(contains(e, "its parameters are [W[1], gamma[1], beta[1], W[2], b[2]] but the model's are [W[1], b[1], W[2], b[2]]"), e);

  auto same = make_model(3);
  nn::Momentum<float> momentum(0.1);
  e = refusal([&] { nn::load_checkpoint(path, same, &momentum); });
  BOOST_TEST(contains(e, "its optimizer is adam but the one given is momentum"), e);

  nn::Sequential<double> dbl;
  dbl.dense(6).batch_norm().activation(nn::Activation::relu).dense(3);
  e = refusal([&] { nn::load_checkpoint(path, dbl); });
  BOOST_TEST(contains(e, "stores float32 values but the model is float64"), e);
  BOOST_TEST(!dbl.built());  // an unbuilt model stays unbuilt when refused

  nn::save_checkpoint(dir.file("bare.npz"), t.model);
  e = refusal([&] { nn::load_checkpoint(dir.file("bare.npz"), same, &adam); });
  BOOST_TEST(contains(e, "no optimizer state"), e);
  e = refusal([&] { nn::load_checkpoint<float>(dir.file("bare.npz"), same, nullptr, &norm); });
  BOOST_TEST(contains(e, "no normalization statistics"), e);
}

BOOST_AUTO_TEST_CASE(another_architecture_with_the_same_parameters_is_refused_and_changes_nothing) {
  // Names and shapes agree in every case below; the layers around the parameters do not.
  helpers::ScratchDir dir("nn-ckpt-arch");
  nn::Sequential<float> plain, full;
  plain.dense(5, nn::Activation::relu).dense(3);
  plain.build(4, 1);
  full.dense(6).batch_norm().activation(nn::Activation::relu).dropout(0.8).dense(3);
  full.build(4, 1);
  nn::save_checkpoint(dir.file("plain.npz"), plain);
  nn::save_checkpoint(dir.file("full.npz"), full);
  using Layers = std::function<void(nn::Sequential<float>&)>;
  const std::vector<std::tuple<std::string, Layers, std::string>> cases{
      {"plain.npz", [](auto& m) { m.dense(5, nn::Activation::sigmoid).dropout(0.5).dense(3); },
       "its layer 0 (dense) has activation relu but the model's has sigmoid"},
      {"plain.npz", [](auto& m) { m.dense(5, nn::Activation::relu).dropout(0.5).dense(3); },
       "its layer 1 is dense but the model's is dropout"},
      {"plain.npz", [](auto& m) { m.dense(5, nn::Activation::relu).dense(3).activation(nn::Activation::softmax); },
       "it has 2 layers but the model has 3"},
      {"full.npz", [](auto& m) { m.dense(6).batch_norm(0.99).activation(nn::Activation::relu).dropout(0.8).dense(3); },
       "its layer 1 (batch_norm) has momentum 0.9 but the model's has 0.99"},
      {"full.npz", [](auto& m) { m.dense(6).batch_norm(0.9, 1e-3).activation(nn::Activation::relu).dropout(0.8).dense(3); },
       "its layer 1 (batch_norm) has epsilon 1e-05 but the model's has 0.001"},
      {"full.npz", [](auto& m) { m.dense(6).batch_norm().activation(nn::Activation::tanh).dropout(0.8).dense(3); },
       "its layer 2 (activation) has activation relu but the model's has tanh"},
      {"full.npz", [](auto& m) { m.dense(6).batch_norm().activation(nn::Activation::relu).dropout(0.5).dense(3); },
       "its layer 3 (dropout) has keep_prob 0.8 but the model's has 0.5"},
  };
  nn::Adam<float> adam(0.01);
  nn::Normalizer<float> norm;
  norm.fit(helpers::blobs<float>(5, 3, 4));
  for (const auto& [file, layers, why] : cases) {
    nn::Sequential<float> model, unbuilt;
    layers(model);
    layers(unbuilt);
    model.build(4, 7);
    const Snapshot before(model, adam, norm);
    auto e = refusal([&] { nn::load_checkpoint(dir.file(file), model); });
    BOOST_TEST(contains(e, why + "; the model was not changed"), e);
    BOOST_TEST((Snapshot(model, adam, norm) == before));
    e = refusal([&] { nn::load_checkpoint(dir.file(file), unbuilt); });
    BOOST_TEST(contains(e, why), e);
    BOOST_TEST(!unbuilt.built());
  }
}

BOOST_AUTO_TEST_CASE(optimizer_state_that_does_not_fit_the_model_is_refused_and_changes_nothing) {
  // Optimizer moments of another model saved beside this model's values: the load must refuse
  // them before it commits, not leave them for the next step() to trip over.
  helpers::ScratchDir dir("nn-ckpt-state");
  Trained t;
  auto wider = make_model(5, 7);
  nn::Sequential<float> deeper;
  deeper.dense(6).batch_norm().activation(nn::Activation::relu).dense(3).dense(3);
  deeper.build(4, 5);
  nn::Adam<float> wide_adam(0.01), deep_adam(0.01);
  step_once(wide_adam, wider);
  step_once(deep_adam, deeper);
  nn::save_checkpoint(dir.file("wide.npz"), t.model, &wide_adam);
  nn::save_checkpoint(dir.file("deep.npz"), t.model, &deep_adam);

  SteppedTarget target(t.data);
  auto& [model, adam, norm] = target;
  const Snapshot before(model, adam, norm);
  auto e = refusal([&] { nn::load_checkpoint<float>(dir.file("wide.npz"), model, &adam, nullptr); });
  BOOST_TEST(contains(e, "its optimizer state optimizer/s/W[1] is (7, 4) but parameter W[1] is (6, 4); the model was "
                         "not changed"), e);
  BOOST_TEST((Snapshot(model, adam, norm) == before));
  e = refusal([&] { nn::load_checkpoint<float>(dir.file("deep.npz"), model, &adam, nullptr); });
  BOOST_TEST(contains(e, "its optimizer state optimizer/s/W[3] is for parameter W[3], which the model does not have"), e);
  BOOST_TEST((Snapshot(model, adam, norm) == before));
  step_once(adam, model);  // the optimizer still fits the model
}

BOOST_AUTO_TEST_CASE(optimizer_state_with_missing_or_unknown_slots_is_refused_and_changes_nothing) {
  // Adam's state as another tool (or an older build) might have written it: s/W[1] missing after
  // steps (the load would resume with s = 0 and take huge steps), or a slot Adam does not keep.
  helpers::ScratchDir dir("nn-ckpt-slots");
  Trained t;
  auto state = t.adam.state();
  BOOST_REQUIRE(state.count("s/W[1]") == 1u);
  auto partial = state;
  partial.erase("s/W[1]");
  nn::Adam<float> writer(0.01);
  writer.restore(partial, t.adam.steps(), 0);
  nn::save_checkpoint(dir.file("partial.npz"), t.model, &writer);
  auto unknown = state;
  unknown["m/W[1]"] = unknown.at("v/W[1]");
  writer.restore(unknown, t.adam.steps(), 0);
  nn::save_checkpoint(dir.file("unknown.npz"), t.model, &writer);

  SteppedTarget target(t.data);
  auto& [model, adam, norm] = target;
  const Snapshot before(model, adam, norm);
  auto e = refusal([&] { nn::load_checkpoint<float>(dir.file("partial.npz"), model, &adam, nullptr); });
  BOOST_TEST(contains(e, "its optimizer state for parameter W[1] has 1 of the 2 slots adam keeps ([v, s])"), e);
  BOOST_TEST((Snapshot(model, adam, norm) == before));
  e = refusal([&] { nn::load_checkpoint<float>(dir.file("unknown.npz"), model, &adam, nullptr); });
  BOOST_TEST(contains(e, "its optimizer state optimizer/m/W[1] is a slot 'm' that adam does not keep"), e);
  BOOST_TEST((Snapshot(model, adam, norm) == before));
  // The file as written, every slot present, loads.
  nn::save_checkpoint(dir.file("whole.npz"), t.model, &t.adam);
  nn::load_checkpoint<float>(dir.file("whole.npz"), model, &adam, nullptr);
  BOOST_TEST(adam.state().size() == state.size());
}

BOOST_AUTO_TEST_CASE(an_unsupported_format_version_is_refused_and_changes_nothing) {
  helpers::ScratchDir dir("nn-ckpt-version");
  Trained t;
  nn::save_checkpoint(dir.file("v1.npz"), t.model, &t.adam, &t.norm);
  const std::string v1 = slurp(dir.file("v1.npz"));
  BOOST_TEST((with_version(v1, '1') == v1));  // the patch writes the checksums as the writer does
  spit(dir.file("v2.npz"), with_version(v1, '2'));

  auto model = make_model(3);
  nn::Adam<float> adam(0.01);
  nn::Normalizer<float> norm;
  norm.fit(t.data);
  const Snapshot before(model, adam, norm);
  const std::string why = "format version 2 is not supported (this build reads 1..1)";
  auto e = refusal([&] { nn::load_checkpoint(dir.file("v2.npz"), model, &adam, &norm); });
  BOOST_TEST(contains(e, why), e);
  BOOST_TEST((Snapshot(model, adam, norm) == before));
  e = refusal([&] { nn::read_checkpoint_manifest(dir.file("v2.npz")); });
  BOOST_TEST(contains(e, why), e);
  e = refusal([&] { nn::load_model<float>(dir.file("v2.npz")); });
  BOOST_TEST(contains(e, why), e);
}

BOOST_AUTO_TEST_CASE(an_unbuilt_model_is_built_by_loading) {
  helpers::ScratchDir dir("nn-ckpt-unbuilt");
  Trained t;
  nn::save_checkpoint(dir.file("m.npz"), t.model);
  nn::Sequential<float> m;
  m.dense(6).batch_norm().activation(nn::Activation::relu).dense(3);
  nn::load_checkpoint(dir.file("m.npz"), m);
  BOOST_TEST(m.built());
  BOOST_TEST(same_bits(m.parameter("W[2]").value, t.model.parameter("W[2]").value));
}

BOOST_AUTO_TEST_CASE(writes_are_atomic) {
  helpers::ScratchDir dir("nn-ckpt-atomic");
  Trained t;
  const std::string path = dir.file("m.npz");
  nn::save_checkpoint(path, t.model);
  nn::save_checkpoint(path, t.model, &t.adam);  // replaces the old file
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
    ++files;
    BOOST_TEST(entry.path().filename() == "m.npz");  // no temporary left behind
  }
  BOOST_TEST(files == 1u);
  const auto e = refusal([&] { nn::save_checkpoint(dir.file("no/such/dir/m.npz"), t.model); });
  BOOST_TEST(contains(e, "cannot create a temporary file"), e);
  nn::Sequential<float> unbuilt;
  unbuilt.dense(2);
  BOOST_CHECK_THROW(nn::save_checkpoint(dir.file("u.npz"), unbuilt), nn::CheckpointError);
}
