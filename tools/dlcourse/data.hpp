// Where `dlcourse` reads its examples from, as command-line options shared by the subcommands:
//   --fashion-mnist [--data-dir DIR]        Debian's dataset-fashion-mnist (train / test parts)
//   --idx IMAGES LABELS                     any IDX pair (MNIST-like), pixels scaled to [0, 1]
//   --csv FILE --label-column K --classes C a CSV of numbers (the label in column K)
// --limit N keeps the first N examples; --dev N holds out the last N training examples.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <nn/dataset.hpp>

namespace dlcourse {

struct DataOptions {
  bool fashion_mnist = false;
  std::string data_dir;
  std::vector<std::string> idx;
  std::string csv;
  int label_column = -1;
  std::size_t classes = 10;
  std::size_t limit = 0, dev = 0;

  void add_to(CLI::App& app, bool with_dev);
  // The training examples (fashion-mnist: its "train" part) split into train and dev (--dev).
  // Throws nn::ConfigError when no source or two are given, nn::DataError from the readers.
  nn::Split<float> load_train() const;
  // The examples to evaluate: fashion-mnist's "test" part, or the whole given file.
  nn::Dataset<float> load_eval() const;

 private:
  nn::Dataset<float> load(const char* fashion_part) const;
};

}  // namespace dlcourse
