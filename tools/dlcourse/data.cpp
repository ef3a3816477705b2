#include "data.hpp"

#include <numeric>

#include <fmt/format.h>

#include <nn/csv.hpp>
#include <nn/errors.hpp>
#include <nn/idx.hpp>

namespace dlcourse {

void DataOptions::add_to(CLI::App& app, bool with_dev) {
  data_dir = nn::fashion_mnist_dir;
  auto* g = app.add_option_group("data", "where the examples come from (one of --fashion-mnist, --idx, --csv)");
  g->add_flag("--fashion-mnist", fashion_mnist, "Fashion-MNIST (Debian's dataset-fashion-mnist)");
  g->add_option("--data-dir", data_dir, "directory of the Fashion-MNIST files")->capture_default_str();
  g->add_option("--idx", idx, "an IDX images file and an IDX labels file")->expected(2);
  g->add_option("--csv", csv, "a CSV file of numbers, one example per line");
  g->add_option("--label-column", label_column, "the CSV column holding the label (negative: from the end)")
      ->capture_default_str();
  g->add_option("--classes", classes, "number of classes (labels 0..classes-1)")->capture_default_str();
  g->add_option("--limit", limit, "use only the first N examples (0: all)");
  if (with_dev) g->add_option("--dev", dev, "hold out the last N training examples as the dev set")->capture_default_str();
}

nn::Dataset<float> DataOptions::load(const char* fashion_part) const {
  const int sources = int(fashion_mnist) + int(!idx.empty()) + int(!csv.empty());
  if (sources != 1)
    throw nn::ConfigError(sources == 0 ? "no data: give --fashion-mnist, --idx IMAGES LABELS or --csv FILE"
                                       : "give only one of --fashion-mnist, --idx and --csv");
  if (classes < 2) throw nn::ConfigError(fmt::format("--classes must be at least 2, got {}", classes));
  nn::Dataset<float> d;
  if (fashion_mnist) d = nn::load_fashion_mnist<float>(fashion_part, data_dir, limit);
  else if (!idx.empty()) d = nn::load_idx<float>(idx[0], idx[1], classes, limit);
  else {
    d = nn::read_csv<float>(csv, {.delimiter = ',', .target_column = label_column, .classes = classes});
    if (limit && limit < d.size()) {
      std::vector<std::size_t> first(limit);
      std::iota(first.begin(), first.end(), 0);
      d = nn::subset(d, first);
    }
  }
  return d;
}

nn::Split<float> DataOptions::load_train() const {
  nn::Dataset<float> all = load("train");
  if (dev >= all.size())
    throw nn::ConfigError(fmt::format("--dev {} leaves no training examples (there are {})", dev, all.size()));
  std::vector<std::size_t> train(all.size() - dev), held(dev);
  std::iota(train.begin(), train.end(), 0);
  std::iota(held.begin(), held.end(), all.size() - dev);
  nn::Split<float> s;
  s.train = nn::subset(all, train);
  if (dev) s.dev = nn::subset(all, held);
  return s;
}

nn::Dataset<float> DataOptions::load_eval() const { return load("test"); }

}  // namespace dlcourse
