// The report: verdicts, an aligned table for people (fmt) and JSON for programs (nlohmann-json).
#include <algorithm>

#include "gradcheck/gradcheck.hpp"

namespace gc {
namespace {

// The ε a row was measured at, when a sweep graded it at another step than its kind's usual one
// (ε for elements, directional_eps for a direction).
std::string step_note(const BlockResult& b, const Options& o) {
  const double usual = b.directional ? o.directional_eps : o.eps;
  std::string note = b.checked && b.best_eps != usual
                         ? fmt::format(" at ε={:.0e} (error {:.2e})", b.best_eps, b.best_relative_error)
                         : "";
  if (!b.coverage.empty()) note += fmt::format("  ({})", b.coverage);
  return note;
}

}  // namespace

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::pass: return "pass";
    case Verdict::warning: return "warning";
    case Verdict::fail: return "FAIL";
    case Verdict::kink: return "kink";
    case Verdict::unused: return "unused";
    case Verdict::inconclusive: return "inconclusive";
    case Verdict::unchecked: return "unchecked";
  }
  return "?";
}

const char* to_string(Mode m) {
  switch (m) {
    case Mode::all: return "all";
    case Mode::sampled: return "sampled";
    case Mode::directional: return "directional";
    case Mode::probes: return "probes";
  }
  return "?";
}

bool Report::passed() const {
  if (!deterministic || !contract_failures.empty()) return false;
  return std::none_of(blocks.begin(), blocks.end(),
                      [](const BlockResult& b) { return b.verdict == Verdict::fail || b.verdict == Verdict::inconclusive || b.verdict == Verdict::unchecked;
                      });
}

const BlockResult* Report::block(const std::string& name) const {
  for (const auto& b : blocks)
    if (b.name == name) return &b;
  return nullptr;
}

std::string Report::table() const {
  const std::string subject =
      jacobian_outputs > 0 ? fmt::format("Jacobian check of an operation with {} outputs", jacobian_outputs)
                           : fmt::format("gradient check{}: J = {:.6g}",
                                         term.empty() ? "" : fmt::format(" of the {} term", term), cost);
  std::string out = fmt::format(
      "{}, mode {}, ε = {:.0e}, seed {}, {} evaluations, {:.1f} ms\n"
      "overall relative error {:.2e}: {}\n",
      subject, to_string(options.mode), options.mode == Mode::directional ? options.directional_eps : options.eps,
      options.seed, evaluations, 1e3 * seconds, relative_error,
      passed() ? "PASS" : (deterministic ? "FAIL" : "INCONCLUSIVE"));
  std::size_t name_width = 5;
  for (const auto& b : blocks) name_width = std::max(name_width, b.name.size());
  out += fmt::format("{:<{}}  {:>11}  {:>7}  {:>9}  {:>9}  {:>34}  {}\n", "block", name_width, "shape", "checked",
                     "rel.error", "max|diff|", "worst (i, j): numeric / analytic", "verdict");
  for (const auto& b : blocks) {
    const std::size_t cols = std::max<std::size_t>(b.shape[1], 1);
    const std::string worst =
        !b.checked     ? "-"
        : b.directional ? fmt::format("∇J·v: {:.5g} / {:.5g}", b.worst_numeric, b.worst_analytic)
                        : fmt::format("({}, {}): {:.5g} / {:.5g}", b.worst_index / cols, b.worst_index % cols,
                                      b.worst_numeric, b.worst_analytic);
    out += fmt::format("{:<{}}  {:>11}  {:>7}  {:>9.2e}  {:>9.2e}  {:>34}  {}{}\n", b.name, name_width,
                       ad::to_string(b.shape), b.checked, b.relative_error, b.max_abs_diff, worst, to_string(b.verdict),
                       step_note(b, options));
  }
  for (const auto& b : blocks) {
    if (!b.diagnosis.empty()) out += fmt::format("  {}: {}\n", b.name, b.diagnosis);
    if (!b.eps_sweep.empty()) {
      out += fmt::format("  {}: error vs ε{}:", b.name,
                         b.sweep_checked < b.checked ? fmt::format(" (its {} worst elements)", b.sweep_checked) : "");
      for (auto [eps, err] : b.eps_sweep) out += fmt::format("  {:.0e}→{:.1e}", eps, err);
      out += fmt::format("  (best ε {:.0e})\n", b.best_eps);
    }
    if (b.taylor_slope != 0)
      out += fmt::format("  {}: Taylor remainder slope {:.2f} ({})\n", b.name, b.taylor_slope,
                         b.taylor_slope > 1.7   ? "~2: no first-order error along the measured difference; suspect ε "
                                                  "or rounding"
                         : b.taylor_slope < 1.3 ? "~1: the gradient is wrong"
                                                : "between 1 and 2: the slope cannot decide");
    for (const auto& w : b.warnings) out += fmt::format("  {}: {}\n", b.name, w);
  }
  for (const auto& f : contract_failures) out += fmt::format("  engine contract broken: {}\n", f);
  for (const auto& n : notes) out += fmt::format("  note: {}\n", n);
  return out;
}

nlohmann::json Report::to_json() const {
  nlohmann::json j;
  j["cost"] = cost;
  j["passed"] = passed();
  j["deterministic"] = deterministic;
  j["relative_error"] = relative_error;
  j["term"] = term;
  j["jacobian_outputs"] = jacobian_outputs;
  j["evaluations"] = evaluations;
  j["seconds"] = seconds;
  j["options"] = {{"mode", to_string(options.mode)},
                  {"eps", options.eps},
                  {"directional_eps", options.directional_eps},
                  {"pass_threshold", options.pass_threshold},
                  {"fail_threshold", options.fail_threshold},
                  {"samples_per_block", options.samples_per_block},
                  {"whole_recheck_limit", options.whole_recheck_limit},
                  {"seed", options.seed}};
  j["notes"] = notes;
  j["contract_failures"] = contract_failures;
  j["blocks"] = nlohmann::json::array();
  for (const auto& b : blocks) {
    nlohmann::json sweep = nlohmann::json::array();
    for (auto [eps, err] : b.eps_sweep) sweep.push_back({{"eps", eps}, {"relative_error", err}});
    j["blocks"].push_back({{"name", b.name},
                           {"shape", {b.shape[0], b.shape[1]}},
                           {"checked", b.checked},
                           {"directional", b.directional},
                           {"relative_error", b.relative_error},
                           {"max_abs_diff", b.max_abs_diff},
                           {"worst", {{"index", b.worst_index}, {"numeric", b.worst_numeric}, {"analytic", b.worst_analytic}}},
                           {"kinks", b.kinks},
                           {"best_eps", b.best_eps},
                           {"eps_sweep", sweep},
                           {"sweep_checked", b.sweep_checked},
                           {"taylor_slope", b.taylor_slope},
                           {"best_relative_error", b.best_relative_error},
                           {"coverage", b.coverage},
                           {"verdict", to_string(b.verdict)},
                           {"diagnosis", b.diagnosis},
                           {"warnings", b.warnings}});
  }
  return j;
}

}  // namespace gc
