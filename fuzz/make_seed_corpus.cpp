// Writes the generated part of the seed corpus: a small IDX array plain and gzip-compressed, and a
// small checkpoint of seed_model() with Adam moments and a normalizer. The CSV seeds are written
// by hand. Run from the source tree: build-fuzz/fuzz/make_seed_corpus fuzz/corpus
#include <zlib.h>

#include <cstdio>
#include <string>
#include <vector>

#include <nn/nn.hpp>

#include "seed_model.hpp"

namespace {

// 3 images of 2×2 unsigned bytes: magic 00 00 08 03, then the three sizes big-endian.
std::vector<unsigned char> small_idx() {
  std::vector<unsigned char> b = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2};
  for (int i = 0; i < 12; ++i) b.push_back(static_cast<unsigned char>(i * 21));
  return b;
}

void write_file(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0)
    throw std::runtime_error("cannot write " + path);
}

void write_gz(const std::string& path, const std::vector<unsigned char>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  if (!f || gzwrite(f, bytes.data(), unsigned(bytes.size())) != int(bytes.size()) || gzclose(f) != Z_OK)
    throw std::runtime_error("cannot write " + path);
}

void write_checkpoint(const std::string& path) {
  nn::Dataset<float> data;
  data.x = xt::xtensor<float, 2>({{0.1f, 0.5f, -1}, {1, -0.2f, 0.3f}, {-0.4f, 0.8f, 0.6f}, {0.9f, 0.1f, -0.7f}});
  data.y = xt::xtensor<float, 2>({{1, 0}, {0, 1}, {1, 0}, {0, 1}});
  nn::Normalizer<float> normalizer;
  normalizer.fit(data);
  normalizer.apply(data);
  nn::Sequential<float> model = fuzz::seed_model();
  model.build(fuzz::seed_inputs, /*seed*/ 1);
  nn::Adam<float> adam;
  nn::Trainer<float> trainer(model, nn::Loss::softmax_cross_entropy, adam,
                             {.epochs = 1, .batch_size = 2, .progress = nn::Progress::none});
  trainer.fit(data);
  nn::save_checkpoint(path, model, &adam, &normalizer, {{"note", "fuzz seed"}});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  write_file(dir + "/idx/small.idx", small_idx());
  write_gz(dir + "/idx/small.idx.gz", small_idx());
  write_checkpoint(dir + "/checkpoint/small.npz");
  return 0;
}
