// `mpirun -np 2 dlcourse search` (the distributed search, nn/search_distributed.hpp) run as a user
// would, against the same search in one process: the same records (all but wall times), a rank
// killed mid-search and the rerun completing it without repeating a finished job, and errors that
// end every rank with one message instead of a hang. $DLCOURSE and $MPIRUN come from meson; a
// timeout kills a child that hangs (a safety net only: nothing here asserts a speed).
#define BOOST_TEST_MODULE dlcourse mpi search
#include <boost/test/unit_test.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "dlcourse_runner.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using dlcourse_test::env;
using dlcourse_test::read;

namespace {

// A shell command in its own process group, its stdout and stderr to files in `dir`.
struct Child {
  pid_t pid = -1;
  Child(const fs::path& dir, const std::string& command, const std::string& name) {
    const std::string line = "cd '" + dir.string() + "' && exec " + command + " >" + name + ".out 2>" + name + ".err";
    pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      ::setpgid(0, 0);
      ::execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid, pid);
  }
  // The exit status (-signal when killed); a child still running after `limit` is killed and fails the test.
  int wait(std::chrono::seconds limit = 300s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (true) {
      int status = 0;
      const pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      if (std::chrono::steady_clock::now() > end) {
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        BOOST_FAIL("the job did not end (a hang): killed after the safety timeout");
      }
      std::this_thread::sleep_for(20ms);
    }
  }
};

// The pid of the process of MPI rank `rank` among the descendants of `root`, or -1.
pid_t rank_process(pid_t root, int rank) {
  const std::string wanted = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string environ = read(entry.path() / "environ");
    std::size_t at = 0;
    bool is_rank = false;
    for (std::size_t end; (end = environ.find('\0', at)) != std::string::npos; at = end + 1)
      if (environ.compare(at, end - at, wanted) == 0) is_rank = true;
    if (!is_rank) continue;
    // One of ours: a descendant of root (the test's other runs are over).
    for (pid_t p = std::stoi(name); p > 1;) {
      if (p == root) return std::stoi(name);
      std::istringstream stat(read("/proc/" + std::to_string(p) + "/stat"));
      std::string skip;
      stat >> skip >> skip >> skip >> p;  // pid (comm) state ppid
      if (!stat) break;
    }
  }
  return -1;
}

using Key = std::pair<std::size_t, std::size_t>;  // (trial, rung)

// A results file's header and its records by (trial, rung), wall times removed; each job once.
struct Results {
  nlohmann::json header;
  std::map<Key, nlohmann::json> records;
  std::size_t lines = 0;
};

Results results(const fs::path& path) {
  Results r;
  std::ifstream in(path);
  std::string line;
  BOOST_REQUIRE(std::getline(in, line));
  r.header = nlohmann::json::parse(line);
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    j.erase("seconds");
    for (auto& e : j["epochs"]) e.erase("seconds");
    const Key key{j["trial"].get<std::size_t>(), j["rung"].get<std::size_t>()};
    BOOST_TEST(r.records.emplace(key, j).second, "trial " << key.first << " rung " << key.second << " recorded twice");
    ++r.lines;
  }
  return r;
}

std::size_t record_lines(const fs::path& path) {
  const std::string text = read(path);
  const auto n = std::size_t(std::count(text.begin(), text.end(), '\n'));
  return n > 0 ? n - 1 : 0;
}

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("dlcourse_mpi_search_" + std::to_string(::getpid()));
  const std::string data = "--csv data.csv --label-column 0 --classes 3 --dev 200";
  const std::string dlcourse = env("DLCOURSE");
  const std::string mpirun = env("MPIRUN") + " --oversubscribe --bind-to none -np 2 ";
  Fixture() {
    fs::create_directories(dir);
    dlcourse_test::write_three_class_csv(dir / "data.csv", 1200);
    std::ofstream(dir / "spec.json") << R"({"layers": [{"type": "dense", "units": 8, "activation": "relu"},
      {"type": "dropout", "keep_prob": 0.9}, {"type": "dense", "units": 3}],
      "optimizer": {"name": "adam", "learning_rate": 0.01}, "epochs": 2, "batch_size": 32})";
    std::ofstream(dir / "space.json") << R"([{"name": "learning_rate", "lo": 1e-3, "hi": 1e-1, "scale": "log"},
      {"name": "hidden_units", "lo": 4, "hi": 12, "integer": true}])";
  }
  ~Fixture() { fs::remove_all(dir); }

  int run(const std::string& command, const std::string& name) { return Child(dir, command, name).wait(); }
  nlohmann::json output(const std::string& name) { return nlohmann::json::parse(read(dir / (name + ".out"))); }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(two_ranks_write_the_records_of_one_process, Fixture) {
  const std::string search = dlcourse +
                             " search --spec spec.json --space space.json --method random --trials 8 "
                             "--max-epochs 30 --workers 1 --seed 4 --json " +
                             data;
  BOOST_REQUIRE_MESSAGE(run(search + " --results one.jsonl", "one") == 0, read(dir / "one.err"));
  BOOST_REQUIRE_MESSAGE(run(mpirun + search + " --results two.jsonl", "two") == 0, read(dir / "two.err"));
  const auto one = results(dir / "one.jsonl"), two = results(dir / "two.jsonl");
  BOOST_TEST(one.header == two.header);
  BOOST_TEST(one.records.size() == 8u);
  BOOST_TEST(two.records.size() == 8u);
  for (const auto& [key, record] : one.records) {
    BOOST_REQUIRE(two.records.count(key));
    BOOST_TEST(two.records.at(key) == record, "trial " << key.first << " differs:\n"
                                                       << record << "\n"
                                                       << two.records.at(key));
  }
  // Rank 1 ran some of them: it asks as soon as the ranks leave their set-up together, while rank
  // 0 alone would need all 8 trials of 30 epochs done by then.
  const auto by_rank = output("two")["jobs_by_rank"];
  BOOST_REQUIRE(by_rank.size() == 2u);
  BOOST_TEST(by_rank[0].get<std::size_t>() + by_rank[1].get<std::size_t>() == 8u);
  BOOST_TEST(by_rank[1].get<std::size_t>() >= 1u);
  // Only rank 0 prints: one JSON document, one progress line per job.
  const std::string progress = read(dir / "two.err");
  BOOST_TEST(std::count(progress.begin(), progress.end(), '\n') == 8);
}

BOOST_FIXTURE_TEST_CASE(asha_on_two_ranks_gives_rung_zero_and_every_common_job_the_bits_of_one_process, Fixture) {
  // Asynchronous promotions depend on when results arrive, so the two searches may promote other
  // trials; but every trial starts at rung 0 in both, and a job both ran has the same record,
  // whichever rank ran it and whether it kept the trial's model or replayed its earlier rungs.
  const std::string search = dlcourse +
                             " search --spec spec.json --space space.json --method asha --trials 12 "
                             "--min-epochs 1 --max-epochs 8 --eta 2 --workers 1 --seed 9 --json " +
                             data;
  BOOST_REQUIRE_MESSAGE(run(search + " --results one.jsonl", "one") == 0, read(dir / "one.err"));
  BOOST_REQUIRE_MESSAGE(run(mpirun + search + " --results two.jsonl", "two") == 0, read(dir / "two.err"));
  const auto one = results(dir / "one.jsonl"), two = results(dir / "two.jsonl");
  BOOST_TEST(one.header == two.header);
  std::size_t rung0 = 0, common_promotions = 0;
  for (const auto& [key, record] : one.records) {
    rung0 += key.second == 0;
    if (key.second == 0) BOOST_REQUIRE_MESSAGE(two.records.count(key), "trial " << key.first << " missing at rung 0");
    if (!two.records.count(key)) continue;
    common_promotions += key.second > 0;
    BOOST_TEST(two.records.at(key) == record, "trial " << key.first << " rung " << key.second << " differs");
  }
  BOOST_TEST(rung0 == 12u);
  BOOST_TEST(two.records.size() > 12u);  // promotions ran on two ranks too
  BOOST_TEST(common_promotions >= 1u);   // the best rung-0 trial goes on in both
}

// Starts a search on 2 ranks, stops it by `stop(mpirun's pid)` once the results file holds 3
// records, then runs the same command again: it completes the search, keeping every line the first
// run wrote and running no job twice; a third run finds everything done.
template <class Stop>
void stop_and_resume(Fixture& f, Stop stop) {
  // A search of several seconds (a rank's end takes mpirun a moment, during which jobs still finish).
  std::ofstream(f.dir / "wide.json") << R"([{"name": "learning_rate", "lo": 1e-3, "hi": 1e-1, "scale": "log"},
      {"name": "hidden_units", "lo": 256, "hi": 512, "integer": true}])";
  dlcourse_test::write_three_class_csv(f.dir / "more.csv", 4800, /*seed*/ 2);
  const std::string search = f.mpirun + f.dlcourse +
                             " search --spec spec.json --space wide.json --method asha "
                             "--trials 16 --min-epochs 8 --max-epochs 128 --eta 2 --workers 1 --seed 2 "
                             "--results r.jsonl --json --csv more.csv --label-column 0 --classes 3 --dev 200";
  Child first(f.dir, search, "first");
  const auto end = std::chrono::steady_clock::now() + 300s;
  while (record_lines(f.dir / "r.jsonl") < 3 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(5ms);
  stop(first.pid);
  BOOST_TEST(first.wait() != 0);  // the job did not end normally
  const auto before = results(f.dir / "r.jsonl");
  BOOST_TEST(before.lines >= 3u);

  BOOST_REQUIRE_MESSAGE(f.run(search, "rerun") == 0, read(f.dir / "rerun.err"));
  const auto out = f.output("rerun");
  BOOST_TEST(out["restored"].get<std::size_t>() == before.lines);
  BOOST_TEST(!out["interrupted"].get<bool>());
  const auto after = results(f.dir / "r.jsonl");  // fails on a job recorded twice
  BOOST_TEST(out["jobs"].get<std::size_t>() == after.lines);
  BOOST_TEST(after.lines > before.lines);  // the first run was stopped before the end
  for (const auto& [key, record] : before.records) BOOST_TEST(after.records.at(key) == record);
  std::size_t rung0 = 0;
  for (const auto& [key, record] : after.records) rung0 += key.second == 0;
  BOOST_TEST(rung0 == 16u);
  BOOST_REQUIRE(f.run(search, "again") == 0);
  BOOST_TEST(f.output("again")["restored"] == after.lines);
  BOOST_TEST(results(f.dir / "r.jsonl").lines == after.lines);
}

BOOST_FIXTURE_TEST_CASE(a_killed_rank_ends_the_job_and_the_rerun_completes_it_without_repeating_a_job, Fixture) {
  stop_and_resume(*this, [](pid_t mpirun) {
    pid_t rank1 = -1;
    for (int tries = 0; rank1 < 0 && tries < 1000; ++tries) rank1 = rank_process(mpirun, 1);
    BOOST_REQUIRE_MESSAGE(rank1 > 0, "rank 1's process not found");
    ::kill(rank1, SIGKILL);  // mpirun then ends the job
  });
}

BOOST_FIXTURE_TEST_CASE(sigterm_to_mpirun_keeps_what_finished_and_the_rerun_completes_it, Fixture) {
  stop_and_resume(*this, [](pid_t mpirun) { ::kill(mpirun, SIGTERM); });
}

BOOST_FIXTURE_TEST_CASE(errors_end_every_rank_with_one_message, Fixture) {
  // A spec every rank refuses.
  std::ofstream(dir / "bad.json")
      << R"({"layers": [{"type": "dense", "units": 8}, {"type": "dropout", "keep_prob": 2}]})";
  const std::string search = mpirun + dlcourse +
                             " search --space space.json --method random --trials 2 "
                             "--max-epochs 2 " +
                             data;
  BOOST_TEST(run(search + " --spec bad.json", "bad") != 0);
  std::string err = read(dir / "bad.err");
  const std::string message = "dlcourse: bad.json: field 'layers[1].keep_prob': expected a number in (0, 1], got 2\n";
  BOOST_TEST(err.find(message) != std::string::npos, err);
  BOOST_TEST(err.find(message) == err.rfind(message), "printed by more than rank 0:\n" << err);

  // An error on rank 0 only (it alone opens the results file): a file of another search.
  BOOST_REQUIRE_MESSAGE(run(search + " --spec spec.json --results r.jsonl --seed 1", "first") == 0,
                        read(dir / "first.err"));
  BOOST_TEST(run(search + " --spec spec.json --results r.jsonl --seed 2", "other") != 0);
  err = read(dir / "other.err");
  BOOST_TEST(err.find("belongs to a different search") != std::string::npos, err);
  BOOST_TEST(results(dir / "r.jsonl").lines == 2u);  // untouched
}
