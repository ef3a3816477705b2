#include "nn/search_summary.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "nn/search_runner.hpp"

namespace nn {

std::string summary_table(const std::vector<TrialRecord>& records, const std::vector<SearchDimension>& space,
                          std::size_t n) {
  std::string out = fmt::format("{:>4} {:>5} {:>6} {:>10} {:>8} {:<13}", "rank", "trial", "epochs", "score", "dev_acc",
                                "outcome");
  for (const auto& d : space) out += fmt::format(" {:>12}", d.name);
  out += "\n";
  std::size_t rank = 0;
  for (const auto& r : best_trials(records, n)) {
    const double acc = r.report.epochs.empty() ? NAN : r.report.epochs.back().dev_accuracy;
    out += fmt::format("{:>4} {:>5} {:>6} {:>10.5g} {:>8.4f} {:<13}", ++rank, r.job.trial, r.job.budget,
                       r.report.score, acc, to_string(r.report.outcome));
    for (const auto& d : space) {
      const auto it = r.job.values.find(d.name);
      out += it == r.job.values.end() ? fmt::format(" {:>12}", "-") : fmt::format(" {:>12.5g}", it->second);
    }
    out += "\n";
  }
  return out;
}

std::vector<plot::Result> plot_scores(const std::filesystem::path& stem, const std::vector<TrialRecord>& records,
                                      const std::vector<SearchDimension>& space, const plot::Options& options) {
  const auto trials = best_trials(records, std::numeric_limits<std::size_t>::max());
  std::vector<plot::Result> out;
  for (const auto& d : space) {
    const bool beta_like = d.scale == Scale::one_minus_log;
    plot::LinePlot p;
    p.x_name = beta_like ? "1-" + d.name : d.name;
    p.log_x = d.scale != Scale::linear;
    p.lines = false;
    plot::Series score{"score", {}};
    for (const auto& r : trials) {
      const auto it = r.job.values.find(d.name);
      if (it == r.job.values.end() || !std::isfinite(r.report.score)) continue;
      p.x.push_back(beta_like ? 1 - it->second : it->second);
      score.y.push_back(r.report.score);
    }
    p.series.push_back(std::move(score));
    const auto file = stem.parent_path() / (stem.filename().string() + "_" + d.name);
    out.push_back(plot::line(file, p,
                             {.title = fmt::format("score (lower is better) vs {}", p.x_name),
                              .x = p.x_name + (p.log_x ? " (log scale)" : ""),
                              .y = "score"},
                             options));
  }
  return out;
}

}  // namespace nn
