// Records and fields come from libcsv (Debian's libcsv-dev), not from splitting lines at the
// delimiter: it implements RFC 4180 quoting, so a header written by R's write.csv or pandas
// ("x, in cm","label"; quoted row names "1") reads, and its strict mode refuses malformed quoting
// instead of guessing. It also takes fields as (pointer, length), so a NUL byte cannot cut one.
// (The other CSV library Debian packages, libfccp-dev, needs the column count at compile time.)
// Numbers are parsed here, with std::from_chars, and checked against the range of T.
#include "nn/csv.hpp"

#include <csv.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "nn/errors.hpp"
#include "input_file.hpp"

namespace nn {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A field as a message shows it: control bytes (NUL would end the message) as \xNN, and long
// fields cut.
std::string shown(std::string_view s) {
  constexpr std::size_t longest = 40;
  std::string out;
  for (unsigned char c : s.substr(0, longest))
    out += c < 0x20 || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
  if (s.size() > longest) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

enum class Kind { number, empty, text, out_of_range, non_finite, beyond_float };

// std::from_chars also accepts "nan", "inf" and "infinity": those are told apart (non_finite) to
// be refused with a message of their own.
Kind parse_double(std::string_view s, double& out) {
  s = trim(s);
  if (s.empty()) return Kind::empty;
  if (s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (p != s.data() + s.size() || s.empty()) return Kind::text;
  if (ec == std::errc::result_out_of_range) return Kind::out_of_range;
  if (ec != std::errc()) return Kind::text;
  return std::isfinite(out) ? Kind::number : Kind::non_finite;
}

// A number as T: a double beyond float's range would become ±inf silently.
template <class T>
Kind parse(std::string_view s, double& out) {
  const Kind k = parse_double(s, out);
  return k == Kind::number && std::abs(out) > double(std::numeric_limits<T>::max()) ? Kind::beyond_float : k;
}

std::string describe(Kind k) {
  switch (k) {
    case Kind::empty: return "is empty";
    case Kind::text: return "is not a number";
    case Kind::out_of_range: return "is out of the range of double";
    case Kind::non_finite: return "is not a finite number";
    case Kind::beyond_float:
      return fmt::format("is out of the range of float (largest {})", std::numeric_limits<float>::max());
    case Kind::number: break;
  }
  return "";
}

template <class T>
class CsvReader {
 public:
  CsvReader(const std::string& path, const CsvOptions& o) : path_(path), o_(o) {}

  Dataset<T> read() {
    if (o_.delimiter == '"' || o_.delimiter == '\n' || o_.delimiter == '\r')
      throw ConfigError(fmt::format("read_csv: {}: the delimiter cannot be a quote or a line break", path_));
    detail::InputFile file(path_, "read_csv");
    csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) throw DataError("read_csv: cannot start libcsv");
    csv_set_delim(&p, static_cast<unsigned char>(o_.delimiter));
    try {
      feed(p, file);
      if (file.truncated())
        throw DataError(fmt::format("read_csv: {}:{}: truncated: the gzip stream ends before its trailer (the CRC-32 "
                                    "and length that verify the data)",
                                    path_, line_));
      const int r = csv_fini(&p, end_field, end_record, this);
      rethrow();
      if (r != 0) fail(open_line_, "a quoted field is not closed before the end of the file (a missing closing quote)");
    } catch (...) {
      csv_free(&p);
      throw;
    }
    csv_free(&p);
    if (m_ == 0)
      throw DataError(fmt::format("read_csv: {}: no data rows ({})", path_,
                                  header_line_ ? fmt::format("only a header, on line {}", header_line_)
                                               : std::string("the file is empty")));
    return dataset();
  }

 private:
  // Feeds the file to libcsv a line at a time, so that a callback knows the line it is on.
  void feed(csv_parser& p, detail::InputFile& file) {
    std::vector<char> buffer(std::size_t(1) << 16);
    bool first = true;
    while (const std::size_t got = file.read(buffer.data(), buffer.size())) {
      std::string_view chunk(buffer.data(), got);
      if (first && chunk.substr(0, 3) == "\xEF\xBB\xBF") chunk.remove_prefix(3);  // a UTF-8 byte order mark
      first = false;
      while (!chunk.empty()) {
        const auto nl = chunk.find('\n');
        const auto piece = chunk.substr(0, nl == std::string_view::npos ? chunk.size() : nl + 1);
        const std::size_t parsed = csv_parse(&p, piece.data(), piece.size(), end_field, end_record, this);
        rethrow();
        if (parsed != piece.size())
          fail(line_, csv_error(&p) == CSV_EPARSE
                          ? "malformed quoting (a quote inside an unquoted field, or text after a closing quote)"
                          : csv_strerror(csv_error(&p)));
        // The line a record starts on, for a quote left open: libcsv's state 0 is "no record
        // begun" (csv.h shows the parser's struct; blank lines leave it there).
        if (p.pstate != 0 && open_line_ == 0) open_line_ = line_;
        if (nl != std::string_view::npos) ++line_;
        chunk.remove_prefix(piece.size());
      }
    }
  }

  // libcsv is C: an exception must not unwind through it. The first one is kept, later
  // callbacks do nothing, and it is thrown once csv_parse has returned.
  static void end_field(void* s, std::size_t len, void* self) {
    auto& r = *static_cast<CsvReader*>(self);
    if (!r.error_) r.field(std::string_view(s ? static_cast<const char*>(s) : "", s ? len : 0));
  }
  static void end_record(int, void* self) {
    auto& r = *static_cast<CsvReader*>(self);
    if (r.error_) return;
    try {
      r.record();
    } catch (...) {
      r.error_ = std::current_exception();
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

  void field(std::string_view text) {
    double v = 0;
    const Kind k = parse<T>(text, v);
    row_.push_back(v);
    kinds_.push_back(k);
    if (k != Kind::number && !problem_) problem_ = Problem{row_.size(), line_, shown(trim(text)), k};
  }

  // The first line that has text in it is a header; a row of numbers with an empty field is not.
  bool header() const {
    return m_ == 0 && width_ == 0 && std::find(kinds_.begin(), kinds_.end(), Kind::text) != kinds_.end();
  }

  void record() {
    open_line_ = 0;
    if (header()) {
      width_ = row_.size();
      header_line_ = line_;
    } else {
      take_row();
    }
    row_.clear();
    kinds_.clear();
    problem_.reset();
  }

  void take_row() {
    if (problem_) fail_field(problem_->line, problem_->field, problem_->text, describe(problem_->kind));
    if (width_ == 0) width_ = row_.size();
    if (row_.size() != width_)
      fail(line_, fmt::format("{} fields, but {} {}", row_.size(), header_line_ ? "the header has" : "earlier lines have",
                              width_));
    if (width_ < 2) fail(line_, "needs at least one feature and a target column, found 1 column");
    const long long tc = o_.target_column < 0 ? (long long)width_ + o_.target_column : o_.target_column;
    if (tc < 0 || std::size_t(tc) >= width_)
      fail(line_, fmt::format("target column {} does not exist ({} columns)", o_.target_column, width_));
    for (std::size_t k = 0; k < width_; ++k)
      if ((long long)k != tc) values_.push_back(row_[k]);
    const double t = row_[std::size_t(tc)];
    // Range first: converting a double beyond the integers' range to one is undefined behaviour.
    if (o_.classes >= 2 && !(t >= 0 && t < double(o_.classes) && t == std::floor(t)))
      fail_field(line_, std::size_t(tc) + 1, fmt::format("{}", t),
                 fmt::format("is not a class label 0..{}", o_.classes - 1));
    targets_.push_back(t);
    ++m_;
  }

  Dataset<T> dataset() const {
    Dataset<T> d;
    const std::size_t n = width_ - 1;
    d.x = ad::Tensor<T>::from_shape({m_, n});
    for (std::size_t i = 0; i < m_ * n; ++i) d.x.data()[i] = T(values_[i]);
    if (o_.classes >= 2) {
      d.y = xt::zeros<T>({m_, o_.classes});
      for (std::size_t i = 0; i < m_; ++i) d.y(i, std::size_t(targets_[i])) = T(1);
    } else {
      d.y = ad::Tensor<T>::from_shape({m_, std::size_t(1)});
      for (std::size_t i = 0; i < m_; ++i) d.y(i, 0) = T(targets_[i]);
    }
    return d;
  }

  [[noreturn]] void fail(std::size_t line, const std::string& what) const {
    throw DataError(fmt::format("read_csv: {}:{}: {}", path_, line, what));
  }
  [[noreturn]] void fail_field(std::size_t line, std::size_t field, const std::string& text,
                               const std::string& what) const {
    throw DataError(fmt::format("read_csv: {}:{}: field {} '{}' {}", path_, line, field, text, what));
  }

  struct Problem {
    std::size_t field, line;
    std::string text;
    Kind kind;
  };

  const std::string& path_;
  const CsvOptions& o_;
  std::size_t line_ = 1, header_line_ = 0, width_ = 0, m_ = 0;
  std::size_t open_line_ = 0;  // the line the unfinished record starts on (0: none)
  std::vector<double> row_, values_, targets_;
  std::vector<Kind> kinds_;
  std::optional<Problem> problem_;  // the row's first field that is not a number
  std::exception_ptr error_;
};

}  // namespace

template <class T>
Dataset<T> read_csv(const std::string& path, const CsvOptions& o) {
  return CsvReader<T>(path, o).read();
}

template Dataset<float> read_csv(const std::string&, const CsvOptions&);
template Dataset<double> read_csv(const std::string&, const CsvOptions&);

}  // namespace nn
