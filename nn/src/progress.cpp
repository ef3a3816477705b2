#include "progress.hpp"

#include <cmath>

#include <fmt/format.h>

namespace nn::detail {

ProgressReporter::ProgressReporter(std::ostream& out, bool bar, bool lines, std::size_t, std::size_t last_epoch,
                                   bool full_pass_train_accuracy)
    : out_(out),
      bar_(bar),
      lines_(lines),
      train_accuracy_label_(full_pass_train_accuracy ? "train_acc" : "train_batch_acc"),
      last_epoch_(last_epoch) {}

void ProgressReporter::begin_epoch(std::size_t epoch, std::size_t batches) {
  epoch_ = epoch;
  batches_ = batches;
  last_draw_ = {};
}

void ProgressReporter::update(std::size_t done, double mean_cost, double examples_per_second) {
  if (!bar_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr std::size_t width = 30;
  const std::size_t filled = batches_ ? width * done / batches_ : width;
  std::string bar(filled, '=');
  if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
  out_ << fmt::format("\rEpoch {}/{} [{}] {}/{}  cost {:.4f}  {:.1f}k ex/s\x1b[K", epoch_, last_epoch_, bar, done,
                      batches_, mean_cost, examples_per_second / 1000)
       << std::flush;
}

void ProgressReporter::end_epoch(const EpochRecord& r, bool has_dev) {
  if (!bar_ && !lines_) return;
  std::string line = fmt::format("epoch {:>3}/{}  cost {:.4f}  {} {:6.2f}%", r.epoch, last_epoch_, r.cost,
                                 train_accuracy_label_, 100 * r.train_accuracy);
  if (has_dev) line += fmt::format("  dev_cost {:.4f}  dev_acc {:6.2f}%", r.dev_cost, 100 * r.dev_accuracy);
  line += fmt::format("  lr {:.3g}  {:.1f} s ({:.1f}k ex/s)", r.learning_rate, r.seconds, r.examples_per_second / 1000);
  if (bar_) out_ << "\r\x1b[K";
  out_ << line << '\n' << std::flush;
}

}  // namespace nn::detail
