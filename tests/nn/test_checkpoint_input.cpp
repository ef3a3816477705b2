// Checkpoints from outside this library: crafted or damaged .npy entries and manifests are refused
// with an error naming the entry or field (always nn::CheckpointError, from every loader), before
// anything is allocated from their numbers, and leave model, optimizer and normalizer unchanged.
// Well-formed files numpy may write (format 2.0, Fortran order, double quotes) load.
#define BOOST_TEST_MODULE nn checkpoint input
#include <boost/test/unit_test.hpp>

#include <xtensor/xio.hpp>

#include "checkpoint_helpers.hpp"

using namespace checkpoint_helpers;
using json = nlohmann::json;

namespace {

// A saved checkpoint and a load target holding state of its own.
struct Fixture {
  helpers::ScratchDir dir{"nn-ckpt-input"};
  Trained t;
  std::string good;
  nn::Sequential<float> model = make_model(3);
  nn::Adam<float> adam{0.01};
  nn::Normalizer<float> norm;
  Fixture() {
    nn::save_checkpoint(dir.file("good.npz"), t.model, &t.adam, &t.norm);
    good = slurp(dir.file("good.npz"));
    norm.fit(t.data);
    step_once(adam, model);
  }
  // Every loader refuses `bytes` with CheckpointError; the load target is unchanged. Returns
  // load_checkpoint's message (the others are checked to say the same thing).
  std::string refused(const std::string& bytes, const std::string& why) {
    const std::string path = dir.file("bad.npz");
    spit(path, bytes);
    const Snapshot before(model, adam, norm);
    const auto e = refusal([&] { nn::load_checkpoint(path, model, &adam, &norm); });
    BOOST_TEST_MESSAGE(e);  // --log_level=message lists every refusal
    BOOST_TEST(contains(e, why), e);
    BOOST_TEST(contains(e, "the model was not changed"), e);
    BOOST_TEST((Snapshot(model, adam, norm) == before));
    nn::Normalizer<float> loaded_norm;
    const auto e2 = refusal([&] { nn::load_model<float>(path, &loaded_norm); });
    BOOST_TEST(contains(e2, why), e2);
    BOOST_TEST(!loaded_norm.fitted());
    return e;
  }
};

std::string float_bytes(std::size_t count) {
  std::string s(count * sizeof(float), '\0');
  for (std::size_t k = 0; k < count; ++k) {
    const float v = 0.25f * float(k);
    std::memcpy(&s[k * sizeof(float)], &v, sizeof v);
  }
  return s;
}

// `entry` (format 1.0) claiming a header of `size` bytes.
std::string with_header_size(std::string entry, std::size_t size) {
  entry[8] = char(size & 0xff);
  entry[9] = char(size >> 8);
  return entry;
}

const std::string w1_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 4), }";

}  // namespace

BOOST_FIXTURE_TEST_SUITE(npy_entries, Fixture)

BOOST_AUTO_TEST_CASE(an_entry_shorter_or_longer_than_its_shape_is_refused) {
  // Before: 4 bytes short loaded, the parameter's last value from memory the file never wrote.
  const std::string w1 = entry_of(good, "W[1].npy");
  refused(with_entry(good, "W[1].npy", w1.substr(0, w1.size() - 4)),
          "entry W[1].npy: its shape (6, 4) needs 96 bytes of float32 data but it holds 92");
  refused(with_entry(good, "W[1].npy", w1 + "abcd"), "entry W[1].npy: its shape (6, 4) needs 96 bytes of float32 data but it holds 100");
  refused(with_entry(good, "W[1].npy", npy(w1_dict, "")), "its shape (6, 4) needs 96 bytes of float32 data but it holds 0");
}

BOOST_AUTO_TEST_CASE(crafted_headers_are_refused_before_anything_is_allocated) {
  const std::string data = float_bytes(24);
  const std::vector<std::pair<std::string, std::string>> cases{
      {"not numpy at all", "entry W[1].npy: not a .npy array (no \\x93NUMPY magic)"},
      {npy(w1_dict, data, 4), ".npy format version 4.0 is not one of 1.0, 2.0, 3.0"},
      {with_header_size(npy(w1_dict, data), 0xffff), "its header of 65535 bytes runs past the entry's"},
      {npy("{'descr': '<i4', 'fortran_order': False, 'shape': (6, 4), }", data),
       "its dtype '<i4' is not little-endian float32 '<f4' or float64 '<f8'"},
      {npy("{'descr': '>f4', 'fortran_order': False, 'shape': (6, 4), }", data), "its dtype '>f4' is not"},
      {npy("{'descr': '<f8', 'fortran_order': False, 'shape': (6, 2), }", data),
       "entry W[1].npy holds float64 values but the manifest says float32"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6, 4, 1), }", data), "its shape has 3 dimensions"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (24,), }", data), "its shape has 1 dimensions"},
      // Before: xtensor sized an allocation from these (std::bad_alloc or a gigabyte allocation).
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 100000000000), }", data),
       "its shape has a dimension larger than the entry's"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", data),
       "its shape has a dimension larger than the entry's"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }", data), "needs 0 bytes of float32 data but it holds 96"},
      {npy("{'descr': '<f4', 'fortran_order': False, }", data), "its header lacks 'shape'"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6, 4), 'extra': 1}", data), "unknown key 'extra'"},
      {npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6, 4)}", data), "names 'descr' twice"},
      {npy("{'descr': '<f4', 'fortran_order': maybe, 'shape': (6, 4)}", data), "fortran_order is neither True nor False"},
      {npy(w1_dict + " junk", data), "its header has text after the closing '}'"},
      {npy("{'descr: '<f4'", data), "its header has"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6, -4)}", data), "its shape has - where a dimension belongs"},
  };
  for (const auto& [entry, why] : cases) {
    const auto e = refused(with_entry(good, "W[1].npy", entry), why);
    BOOST_TEST(contains(e, "entry W[1].npy"), e);
    BOOST_TEST(contains(refusal([&] { nn::read_checkpoint_manifest(dir.file("bad.npz")); }), why));
  }
}

BOOST_AUTO_TEST_CASE(headers_numpy_may_write_load) {
  // (6, 4) W[1] with values 0, 0.25, ...: C order, format 2.0 with double quotes, Fortran order.
  const std::string data = float_bytes(24);
  std::string fortran_data(data.size(), '\0');  // element (i, j) at j * 6 + i
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t j = 0; j < 4; ++j)
      std::memcpy(&fortran_data[(j * 6 + i) * 4], &data[(i * 4 + j) * 4], 4);
  const std::vector<std::string> entries{
      npy(w1_dict, data), npy("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,4)}", data, 2),
      npy("{'descr': '<f4', 'fortran_order': True, 'shape': (6, 4), }", fortran_data, 3)};
  for (const auto& entry : entries) {
    spit(dir.file("ok.npz"), with_entry(good, "W[1].npy", entry));
    auto m = make_model(9);
    nn::load_checkpoint(dir.file("ok.npz"), m);
    const auto& w = m.parameter("W[1]").value;
    for (std::size_t i = 0; i < 6; ++i)
      for (std::size_t j = 0; j < 4; ++j) BOOST_TEST(w(i, j) == 0.25f * float(i * 4 + j));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(manifests, Fixture)

BOOST_AUTO_TEST_CASE(a_manifest_that_is_not_an_object_is_a_checkpoint_error_from_every_loader) {
  // Before: nlohmann::json::type_error escaped read_checkpoint_manifest and load_model.
  for (const auto& [text, kind] : std::vector<std::pair<std::string, std::string>>{
           {"[1, 2]", "an array"}, {"\"text\"", "a string"}, {"3", "a number"}, {"null", "a null"}}) {
    const auto bytes = with_entry(good, "manifest.json", text);
    refused(bytes, "manifest.json is not a JSON object (it is " + kind + ")");
    const auto e = refusal([&] { nn::read_checkpoint_manifest(dir.file("bad.npz")); });
    BOOST_TEST(contains(e, "manifest.json is not a JSON object"), e);
  }
}

BOOST_AUTO_TEST_CASE(every_manifest_number_is_checked_against_its_type_and_range) {
  using Edit = std::function<void(json&)>;
  const std::vector<std::pair<Edit, std::string>> cases{
      // Before: loaded (a step count of 1e30 cast to size_t: undefined behaviour).
      {[](json& m) { m["optimizer"]["t"] = 1e30; }, "manifest.json: optimizer.t must be an integer in [0, 9007199254740992], got 1e+30"},
      {[](json& m) { m["optimizer"]["t"] = -1; }, "optimizer.t must be an integer in [0, 9007199254740992], got -1"},
      {[](json& m) { m["optimizer"]["epoch"] = 2.5; }, "optimizer.epoch must be an integer in [0, 9007199254740992], got 2.5"},
      {[](json& m) { m["optimizer"]["schedule"]["interval"] = 1e30; },
       "optimizer.schedule.interval must be an integer in [1, 9007199254740992], got 1e+30"},
      {[](json& m) { m["optimizer"]["learning_rate"] = "fast"; }, "optimizer.learning_rate must be a finite number, got \"fast\""},
      {[](json& m) { m["optimizer"]["learning_rate"] = -1; }, "its optimizer configuration is refused"},
      {[](json& m) { m["optimizer"]["name"] = "sgd2"; }, "unknown optimizer 'sgd2'"},
      {[](json& m) { m["model"]["inputs"] = 1e30; }, "manifest.json: model.inputs must be an integer in [1, 4294967295], got 1e+30"},
      {[](json& m) { m["model"]["seed"] = -3; }, "model.seed must be an integer"},
      {[](json& m) { m["model"]["layers"][0]["units"] = -6; }, "model.layers[0].units must be an integer in [1, 4294967295], got -6"},
      {[](json& m) { m["model"]["layers"][0]["inputs"] = 7; }, "model.layers[0].inputs is 7 but the layer before gives 4"},
      {[](json& m) { m["model"]["layers"][0]["type"] = "conv"; }, "model.layers[0].type 'conv' is not a layer type"},
      {[](json& m) { m["model"]["layers"][0]["init"]["scale"] = nullptr; }, "model.layers[0].init.scale must be a finite number"},
      {[](json& m) { m["model"]["layers"][1]["epsilon"] = -1; }, "its model description cannot be rebuilt: BatchNorm: epsilon must be > 0"},
      {[](json& m) { m["model"]["layers"][2]["activation"] = "swish"; }, "its model description cannot be rebuilt"},
      {[](json& m) { m["model"]["layers"] = json::array(); }, "model.layers must be a non-empty list"},
      {[](json& m) { m.erase("model"); }, "manifest.json: model is missing"},
      {[](json& m) { m["dtype"] = 5; }, "manifest.json: dtype must be a string, got 5"},
      {[](json& m) { m["dtype"] = "float16"; }, "dtype 'float16' is not float32 or float64"},
      {[](json& m) { m["normalizer"] = "yes"; }, "manifest.json: normalizer must be true or false, got \"yes\""},
      {[](json& m) { m["parameters"][1] = 5; }, "manifest.json: parameters[1] must be a name, got 5"},
      {[](json& m) { m["parameters"].push_back("W[9]"); }, "manifest.json lists W[9] but the file has no entry W[9].npy"},
      {[](json& m) { m["buffers"].push_back(m["buffers"][0]); }, "manifest.json: buffers lists running_mean[1] twice"},
      {[](json& m) { m["format"] = 1; }, "format 1 is not 'dlcourse-nn-checkpoint'"},
      {[](json& m) { m["version"] = 1.5; }, "format version 1.5 is not supported"},
  };
  for (const auto& [edit, why] : cases) refused(with_manifest(good, edit), why);
}

BOOST_AUTO_TEST_CASE(a_model_larger_than_the_files_arrays_is_refused_before_it_is_built) {
  // Before: load_model built and He-initialized 50 million units (800 MB) before refusing it, and
  // load_checkpoint into a built model accepted the manifest.
  refused(with_manifest(good, [](json& m) { m["model"]["layers"][0]["units"] = 50'000'000; }),
          "model.layers[3].inputs is 6 but the layer before gives 50000000");
  refused(with_manifest(good,
                        [](json& m) {
                          m["model"]["layers"][0]["units"] = 50'000'000;
                          m["model"]["layers"][3]["inputs"] = 0;
                        }),
          "its model description (4 inputs, 4 layers) needs 450000003 parameter and 100000000 buffer values but its "
          "entries hold 57 and 12");
  refused(with_manifest(good, [](json& m) { m["model"]["inputs"] = 4'000'000'000u; }),
          "model.layers[0].inputs is 4 but the layer before gives 4000000000");
  refused(with_manifest(good,
                        [](json& m) {
                          m["model"]["inputs"] = 4'000'000'000u;
                          m["model"]["layers"][0]["inputs"] = 0;
                        }),
          "needs 24000000033 parameter and 12 buffer values but its entries hold 57 and 12");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(normalizers, Fixture)

BOOST_AUTO_TEST_CASE(statistics_of_the_wrong_shape_or_value_are_refused) {
  // Before: a (4, 7) mean and stddev loaded for a 4-input model.
  const ad::Tensor<float> wide = xt::ones<float>({4, 7});
  const auto bytes = with_entry(with_entry(good, "normalizer/mean.npy", nn::detail::encode_npy(wide)),
                                "normalizer/stddev.npy", nn::detail::encode_npy(wide));
  refused(bytes, "its normalizer/mean is (4, 7) but the model takes 4 inputs: expected (4, 1)");
  ad::Tensor<float> zero = t.norm.stddev;
  zero(2, 0) = 0;
  refused(with_entry(good, "normalizer/stddev.npy", nn::detail::encode_npy(zero)),
          "its normalization statistics for input 2 are mean");
  // and such statistics are not written in the first place
  nn::Normalizer<float> bad;
  bad.mean = wide;
  bad.stddev = wide;
  const auto e = refusal([&] { nn::save_checkpoint<float>(dir.file("n.npz"), t.model, nullptr, &bad); });
  BOOST_TEST(contains(e, "the normalizer's statistics are (4, 7) and (4, 7) but the model takes 4 inputs"), e);
}

BOOST_AUTO_TEST_SUITE_END()
