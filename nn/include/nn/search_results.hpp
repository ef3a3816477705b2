// A search's results file (JSON Lines): the first line identifies the search
// ({"search": <Scheduler::identity()>}), then one line per finished job as it finishes:
//   {"trial":3,"rung":1,"budget":3,"seed":...,"hyperparameters":{"alpha":0.002,...},
//    "outcome":"stopped_early","score":0.41,"seconds":12.5,"error":"",
//    "epochs":[{"epoch":1,"cost":..,"dev_cost":..,"dev_accuracy":..,"learning_rate":..,"seconds":..},...]}
// (an ASHA job below the top rung adds "last_rung":false, a promoted one "earlier_budgets":[1,...];
// both optional when read)
// (a non-finite number is written as null). Each line is flushed and fsync'ed before the next
// job is started, so an interrupt or a crash loses at most the jobs that were running; a line cut
// short by a crash is dropped (and cut off the file) when the search resumes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/search_scheduler.hpp"

namespace nn {

nlohmann::json to_json(const EpochRecord& epoch);
EpochRecord epoch_from_json(const nlohmann::json& j);  // throws DataError naming the field
// A job's fields of a record's line ("last_rung" only when false, "earlier_budgets" only when
// some): also the message that hands a job to another process (search_distributed.hpp).
nlohmann::json to_json(const TrialJob& job);
TrialJob job_from_json(const nlohmann::json& j);  // throws DataError naming the field
nlohmann::json to_json(const TrialRecord& record);
// Throws DataError naming the field that is missing or of the wrong type.
TrialRecord record_from_json(const nlohmann::json& j);

class ResultsFile {
 public:
  // Opens `path` for the search `identity`, creating it (with its header line) when missing or
  // empty. An existing file's records are read back (restored()); a file of another search (its
  // header differs) is refused with a ConfigError naming the first field that differs, a file
  // that is not a results file with a DataError naming the line.
  ResultsFile(const std::string& path, const nlohmann::json& identity);
  ~ResultsFile();
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;

  const std::vector<TrialRecord>& restored() const { return restored_; }
  // Appends one line and makes it durable (write, fsync). Throws DataError when it cannot.
  void append(const TrialRecord& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<TrialRecord> restored_;
};

// Every record of a results file (its header checked for form only), e.g. for a summary.
std::vector<TrialRecord> read_results(const std::string& path, nlohmann::json* identity = nullptr);

}  // namespace nn
