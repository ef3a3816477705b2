#include "nn/search_results.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "nn/errors.hpp"

namespace nn {
namespace {

nlohmann::json number(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

double number_from(const nlohmann::json& j, const char* field) {
  if (j.is_null()) return NAN;
  if (!j.is_number()) throw DataError(fmt::format("'{}' must be a number or null, got {}", field, j.dump()));
  return j.get<double>();
}

const nlohmann::json& at(const nlohmann::json& j, const char* field) {
  if (!j.is_object() || !j.contains(field)) throw DataError(fmt::format("no field '{}'", field));
  return j[field];
}

// The first place where two JSON values differ, as "field: a here, b there".
std::string first_difference(const nlohmann::json& file, const nlohmann::json& ours, const std::string& where) {
  if (file.type() != ours.type() && !(file.is_number() && ours.is_number()))
    return fmt::format("{}: {} in the file, {} for this search", where, file.dump(), ours.dump());
  if (ours.is_object()) {
    for (auto it = ours.begin(); it != ours.end(); ++it) {
      if (!file.contains(it.key())) return fmt::format("{}.{}: missing in the file", where, it.key());
      auto d = first_difference(file[it.key()], it.value(), where + "." + it.key());
      if (!d.empty()) return d;
    }
    for (auto it = file.begin(); it != file.end(); ++it)
      if (!ours.contains(it.key())) return fmt::format("{}.{}: in the file only", where, it.key());
    return {};
  }
  if (ours.is_array()) {
    if (file.size() != ours.size())
      return fmt::format("{}: {} entries in the file, {} for this search", where, file.size(), ours.size());
    for (std::size_t i = 0; i < ours.size(); ++i) {
      auto d = first_difference(file[i], ours[i], fmt::format("{}[{}]", where, i));
      if (!d.empty()) return d;
    }
    return {};
  }
  if (file != ours) return fmt::format("{}: {} in the file, {} for this search", where, file.dump(), ours.dump());
  return {};
}

void write_all(int fd, const std::string& text, const std::string& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw DataError(fmt::format("results file {}: write failed: {}", path, std::strerror(errno)));
    done += std::size_t(n);
  }
  if (::fsync(fd) != 0) throw DataError(fmt::format("results file {}: fsync failed: {}", path, std::strerror(errno)));
}

struct Parsed {
  nlohmann::json identity;
  std::vector<TrialRecord> records;
  std::size_t good_bytes = 0;  // up to the end of the last complete line
};

Parsed parse(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("results file {}: cannot be read", path));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  Parsed p;
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    const auto end = text.find('\n', pos);
    ++line_no;
    if (end == std::string::npos) break;  // a line cut short by a crash: dropped
    const std::string line = text.substr(pos, end - pos);
    try {
      const auto j = nlohmann::json::parse(line);
      if (line_no == 1) p.identity = at(j, "search");
      else p.records.push_back(record_from_json(j));
    } catch (const nlohmann::json::exception& e) {
      throw DataError(fmt::format("results file {} line {}: not JSON: {}", path, line_no, e.what()));
    } catch (const DataError& e) {
      throw DataError(fmt::format("results file {} line {}: {}", path, line_no, e.what()));
    }
    pos = end + 1;
    p.good_bytes = pos;
  }
  if (line_no == 0 || p.identity.is_null()) throw DataError(fmt::format("results file {}: no header line", path));
  return p;
}

}  // namespace

nlohmann::json to_json(const EpochRecord& e) {
  return {{"epoch", e.epoch},
          {"learning_rate", number(e.learning_rate)},
          {"cost", number(e.cost)},
          {"train_accuracy", number(e.train_accuracy)},
          {"dev_cost", number(e.dev_cost)},
          {"dev_accuracy", number(e.dev_accuracy)},
          {"seconds", number(e.seconds)}};
}

EpochRecord epoch_from_json(const nlohmann::json& e) {
  try {
    EpochRecord x;
    x.epoch = at(e, "epoch").get<std::size_t>();
    x.learning_rate = number_from(at(e, "learning_rate"), "learning_rate");
    x.cost = number_from(at(e, "cost"), "cost");
    x.train_accuracy = number_from(at(e, "train_accuracy"), "train_accuracy");
    x.dev_cost = number_from(at(e, "dev_cost"), "dev_cost");
    x.dev_accuracy = number_from(at(e, "dev_accuracy"), "dev_accuracy");
    x.seconds = number_from(at(e, "seconds"), "seconds");
    return x;
  } catch (const nlohmann::json::type_error& err) {
    throw DataError(fmt::format("an epoch record has a field of the wrong type: {}", err.what()));
  }
}

nlohmann::json to_json(const TrialJob& job) {
  nlohmann::json j = {{"trial", job.trial},
                      {"rung", job.rung},
                      {"budget", job.budget},
                      {"seed", job.seed},
                      {"hyperparameters", job.values}};
  if (!job.last_rung) j["last_rung"] = false;
  if (!job.earlier_budgets.empty()) j["earlier_budgets"] = job.earlier_budgets;
  return j;
}

TrialJob job_from_json(const nlohmann::json& j) {
  TrialJob job;
  try {
    job.trial = at(j, "trial").get<std::size_t>();
    job.rung = at(j, "rung").get<std::size_t>();
    job.budget = at(j, "budget").get<std::size_t>();
    job.seed = at(j, "seed").get<std::uint64_t>();
    for (const auto& [k, v] : at(j, "hyperparameters").items()) job.values[k] = number_from(v, k.c_str());
    if (j.contains("last_rung")) job.last_rung = j["last_rung"].get<bool>();
    if (j.contains("earlier_budgets")) job.earlier_budgets = j["earlier_budgets"].get<std::vector<std::size_t>>();
  } catch (const nlohmann::json::type_error& e) {
    throw DataError(fmt::format("a field has the wrong type: {}", e.what()));
  }
  return job;
}

nlohmann::json to_json(const TrialRecord& r) {
  auto epochs = nlohmann::json::array();
  for (const auto& e : r.report.epochs) epochs.push_back(to_json(e));
  auto j = to_json(r.job);
  j.update({{"outcome", to_string(r.report.outcome)},
            {"score", number(r.report.score)},
            {"seconds", number(r.seconds)},
            {"error", r.report.error},
            {"epochs", epochs}});
  return j;
}

TrialRecord record_from_json(const nlohmann::json& j) {
  TrialRecord r;
  r.job = job_from_json(j);
  try {
    r.report.outcome = outcome_from_string(at(j, "outcome").get<std::string>());
    r.report.score = number_from(at(j, "score"), "score");
    if (std::isnan(r.report.score)) r.report.score = INFINITY;
    r.seconds = number_from(at(j, "seconds"), "seconds");
    r.report.error = at(j, "error").get<std::string>();
    for (const auto& e : at(j, "epochs")) r.report.epochs.push_back(epoch_from_json(e));
  } catch (const nlohmann::json::type_error& e) {
    throw DataError(fmt::format("a field has the wrong type: {}", e.what()));
  }
  return r;
}

ResultsFile::ResultsFile(const std::string& path, const nlohmann::json& identity) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw DataError(fmt::format("results file {}: cannot open: {}", path, std::strerror(errno)));
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  try {
    if (size == 0) {
      write_all(fd_, nlohmann::json{{"search", identity}}.dump() + "\n", path_);
      return;
    }
    Parsed p = parse(path);
    const auto diff = first_difference(p.identity, identity, "search");
    if (!diff.empty())
      throw ConfigError(fmt::format("results file {} belongs to a different search ({}): give a new file to start "
                                    "this one, or the same settings to resume that one",
                                    path, diff));
    if (std::size_t(size) != p.good_bytes && ::ftruncate(fd_, off_t(p.good_bytes)) != 0)
      throw DataError(fmt::format("results file {}: cannot cut off its last, incomplete line: {}", path,
                                  std::strerror(errno)));
    ::lseek(fd_, 0, SEEK_END);
    restored_ = std::move(p.records);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

ResultsFile::~ResultsFile() {
  if (fd_ >= 0) ::close(fd_);
}

void ResultsFile::append(const TrialRecord& record) { write_all(fd_, to_json(record).dump() + "\n", path_); }

std::vector<TrialRecord> read_results(const std::string& path, nlohmann::json* identity) {
  Parsed p = parse(path);
  if (identity) *identity = p.identity;
  return p.records;
}

}  // namespace nn
