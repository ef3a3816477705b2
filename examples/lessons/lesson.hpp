// What every lesson program shares: `--out DIR` (default: the current directory), the table of
// the lesson's claims (the course's figure beside the measured one, printed and written as
// <lesson>_claims.csv for the tests), and a line per picture written.
#pragma once
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/std.h>

#include <plot/plot.hpp>

namespace lesson {

struct Args {
  std::filesystem::path out = ".";
};

// Parses --out (created when missing); exits like CLI11 does on --help or a bad option.
inline Args parse(int argc, char** argv, const std::string& description) {
  Args args;
  CLI::App app{description};
  app.add_option("--out", args.out, "directory for the CSV files and PNG pictures")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  std::filesystem::create_directories(args.out);
  return args;
}

// One row: what the course says, and what this program measured.
struct Claim {
  std::string key;       // stable name the tests read ("centered_at_0.01")
  std::string what;      // the claim in words
  std::string course;    // the course's figure or statement
  double measured;
};

class Claims {
 public:
  explicit Claims(std::string lesson) : lesson_(std::move(lesson)) {}
  void add(std::string key, std::string what, std::string course, double measured) {
    claims_.push_back({std::move(key), std::move(what), std::move(course), measured});
  }
  // Prints the table and writes <out>/<lesson>_claims.csv (key, course, measured).
  void finish(const std::filesystem::path& out) const {
    std::size_t width = 0, course_width = 6;
    for (const auto& c : claims_) width = std::max(width, columns(c.what));
    for (const auto& c : claims_) course_width = std::max(course_width, columns(c.course));
    fmt::print("\n{:<{}}  {:>{}}  {:>14}\n", "claim", width, "course", course_width, "measured");
    for (const auto& c : claims_)
      fmt::print("{}{}  {}{}  {:>14.8g}\n", c.what, std::string(width - columns(c.what), ' '),
                 std::string(course_width - columns(c.course), ' '), c.course, c.measured);
    const auto path = out / (lesson_ + "_claims.csv");
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw plot::Error(fmt::format("{}: cannot write {}", lesson_, path));
    std::fputs("key,course,measured\n", f);
    for (const auto& c : claims_) fmt::print(f, "{},{},{}\n", c.key, csv_quoted(c.course), c.measured);
    if (std::fclose(f) != 0) throw plot::Error(fmt::format("{}: writing {} failed", lesson_, path));
    fmt::print("wrote {}\n", path);
  }

 private:
  static std::string csv_quoted(const std::string& text) {  // RFC 4180: "..." with "" for "
    std::string out = "\"";
    for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
  }
  static std::size_t columns(const std::string& utf8) {  // code points, not bytes (θ, ε, ŷ)
    std::size_t n = 0;
    for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
    return n;
  }
  std::string lesson_;
  std::vector<Claim> claims_;
};

// "wrote a.csv and a.png" (or the note on stderr already says why there is no PNG).
inline void report(const plot::Result& r) {
  std::string files;
  for (const auto& c : r.csv) files += fmt::format("{} ", c);
  if (r.drawn) files += fmt::format("{}", r.png);
  fmt::print("wrote {}\n", files);
}

}  // namespace lesson
