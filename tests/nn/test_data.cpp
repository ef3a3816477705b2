// Data: the IDX reader (on the first few hundred real Fashion-MNIST images and on synthetic
// files, including truncated and malformed ones), the CSV reader, splits, shuffling, mini-batches
// with the last partial one kept, gathering, and normalization fitted on the training set only.
#define BOOST_TEST_MODULE nn data
#include <boost/test/unit_test.hpp>

#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <numeric>
#include <set>

#include "helpers.hpp"
#include "error_text.hpp"

namespace tt = boost::test_tools;

namespace {

const std::string fashion = nn::fashion_mnist_dir;

// A precondition: without the data the test is reported as skipped (not passed); CI installs them.
boost::test_tools::assertion_result fashion_installed(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result installed = std::ifstream(fashion + "/train-images-idx3-ubyte.gz").good();
  installed.message() << "dataset-fashion-mnist is not installed in " << fashion;
  return installed;
}

// An IDX file of unsigned bytes with the given dimensions, gzip-compressed or plain.
void write_idx(const std::string& path, const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& data,
               bool gz, std::uint8_t type = 0x08, std::size_t cut = 0) {
  std::string bytes{0, 0, char(type), char(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) bytes += char((d >> s) & 0xff);
  bytes.append(data.begin(), data.end());
  if (cut) bytes.resize(bytes.size() - cut);
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary) << bytes;
  }
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

template <class F>
std::string error_of(F f) {
  return test_support::message_of<nn::DataError>(f);
}

using test_support::contains;

}  // namespace

BOOST_AUTO_TEST_CASE(real_fashion_mnist_head, *boost::unit_test::precondition(fashion_installed)) {
  const auto raw = nn::read_idx(fashion + "/train-images-idx3-ubyte.gz", 300);
  BOOST_TEST(raw.dims == (std::vector<std::size_t>{300, 28, 28}), tt::per_element());
  // Reference values read with Python's gzip module.
  BOOST_TEST(int(raw.data[14 * 28 + 14]) == 217);
  BOOST_TEST(int(raw.data[784 * 5 + 10 * 28 + 20]) == 184);
  BOOST_TEST(std::accumulate(raw.data.begin(), raw.data.end(), std::size_t(0)) == 17481620u);
  const auto d = nn::load_fashion_mnist<float>("train", fashion, 300);
  BOOST_TEST(d.size() == 300u);
  BOOST_TEST(d.features() == 784u);
  BOOST_TEST(d.outputs() == 10u);
  BOOST_TEST(d.x(0, 14 * 28 + 14) == 217.0f / 255.0f, tt::tolerance(1e-6f));
  const auto labels = d.labels();
  const std::vector<std::int32_t> head{9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9};
  BOOST_TEST(std::vector<std::int32_t>(labels.begin(), labels.begin() + 12) == head, tt::per_element());
  BOOST_TEST(std::count(labels.begin(), labels.end(), 0) == 32);
  BOOST_TEST(nn::fashion_mnist_classes()[9] == "Ankle boot");
  // A whole file, read to its gzip trailer and verified by its CRC-32.
  const auto test_labels = nn::read_idx(fashion + "/t10k-labels-idx1-ubyte.gz");
  BOOST_TEST(test_labels.data.size() == 10000u);
  BOOST_TEST(std::count(test_labels.data.begin(), test_labels.data.end(), std::uint8_t(9)) == 1000);
}

BOOST_AUTO_TEST_CASE(synthetic_idx_plain_and_gzip) {
  helpers::ScratchDir dir("nn-idx");
  std::vector<std::uint8_t> pixels(3 * 2 * 2);
  std::iota(pixels.begin(), pixels.end(), std::uint8_t(0));
  for (bool gz : {false, true}) {
    write_idx(dir.file("x"), {3, 2, 2}, pixels, gz);
    write_idx(dir.file("y"), {3}, {1, 0, 2}, gz);
    const auto d = nn::load_idx<double>(dir.file("x"), dir.file("y"), 3, 0, 1.0);
    BOOST_TEST((ad::shape_of(d.x) == ad::Shape{3, 4}));
    BOOST_TEST(d.x(2, 3) == 11.0);
    BOOST_TEST(d.labels() == (std::vector<std::int32_t>{1, 0, 2}), tt::per_element());
  }
}

BOOST_AUTO_TEST_CASE(bad_idx_files_are_refused_with_the_file_name) {
  helpers::ScratchDir dir("nn-idx-bad");
  std::vector<std::uint8_t> pixels(4 * 9, 7);
  write_idx(dir.file("cut.gz"), {4, 3, 3}, pixels, true, 0x08, 5);
  auto e = error_of([&] { nn::read_idx(dir.file("cut.gz")); });
  BOOST_TEST(contains(e, "cut.gz: truncated"), e);
  write_idx(dir.file("float.idx"), {4}, {0, 0, 0, 0}, false, 0x0D);
  e = error_of([&] { nn::read_idx(dir.file("float.idx")); });
  BOOST_TEST(contains(e, "element type 0x0d is not supported"), e);
  std::ofstream(dir.file("text.idx")) << "hello, world";
  e = error_of([&] { nn::read_idx(dir.file("text.idx")); });
  BOOST_TEST(contains(e, "is not an IDX file"), e);
  e = error_of([&] { nn::read_idx(dir.file("missing.gz")); });
  BOOST_TEST(contains(e, "cannot open"), e);
  write_idx(dir.file("x"), {4, 3, 3}, pixels, false);
  write_idx(dir.file("y"), {3}, {0, 1, 2}, false);
  e = error_of([&] { nn::load_idx<float>(dir.file("x"), dir.file("y")); });
  BOOST_TEST(contains(e, "has 4 images but"), e);
  write_idx(dir.file("y"), {4}, {0, 1, 12, 2}, false);
  e = error_of([&] { nn::load_idx<float>(dir.file("x"), dir.file("y")); });
  BOOST_TEST(contains(e, "label 12 of item 2"), e);
}

BOOST_AUTO_TEST_CASE(idx_headers_that_do_not_fit_the_data_are_refused) {
  helpers::ScratchDir dir("nn-idx-header");
  for (bool gz : {false, true}) {
    const std::string suffix = gz ? ".gz" : "";
    // 65536 × 2^31 bytes: a truncated file, not an attempt to allocate 128 TiB.
    write_idx(dir.file("huge" + suffix), {65536, 1u << 31}, {1, 2, 3}, gz);
    auto e = error_of([&] { nn::read_idx(dir.file("huge" + suffix)); });
    BOOST_TEST(contains(e, "huge" + suffix + ": the header's sizes (65536, 2147483648) make"), e);
    // 65536⁴ = 2^64 wraps to 0: it must not read as 65536 items of nothing.
    write_idx(dir.file("wrap" + suffix), {65536, 65536, 65536, 65536}, {}, gz);
    e = error_of([&] { nn::read_idx(dir.file("wrap" + suffix)); });
    BOOST_TEST(contains(e, "wrap" + suffix + ": the header's sizes (65536, 65536, 65536, 65536) multiply past 2^64"),
               e);
    // Plausible sizes, but more than the file holds: refused against the file's size before
    // allocating (a gzip file of 30-odd bytes cannot inflate to 47 MB).
    write_idx(dir.file("short" + suffix), {60000, 28, 28}, std::vector<std::uint8_t>(1000, 1), gz);
    e = error_of([&] { nn::read_idx(dir.file("short" + suffix)); });
    BOOST_TEST(contains(e, "short" + suffix + (gz ? ": the header declares 47040000 bytes of data, more than the "
                                                  : ": truncated: the header declares 47040000 bytes of data, "
                                                    "the file holds 1000")),
               e);
    // Fewer than the file holds: the header does not describe the file either.
    write_idx(dir.file("long" + suffix), {2, 2}, {1, 2, 3, 4, 5, 6}, gz);
    e = error_of([&] { nn::read_idx(dir.file("long" + suffix)); });
    BOOST_TEST(contains(e, "long" + suffix + ": 2 bytes follow the 4 bytes of data the header declares"), e);
    BOOST_TEST(nn::read_idx(dir.file("long" + suffix), 1).data == (std::vector<std::uint8_t>{1, 2}),
               tt::per_element());  // a head is still read
  }
}

// zlib's gzread took a gzip stream that ends before its 8-byte trailer (CRC-32, length) as a
// normal end of file, so a corrupted byte went unnoticed, and it skipped bytes after the stream.
BOOST_AUTO_TEST_CASE(gzip_idx_is_verified_to_its_trailer) {
  helpers::ScratchDir dir("nn-idx-gzip");
  std::vector<std::uint8_t> pixels(2 * 50);
  std::iota(pixels.begin(), pixels.end(), std::uint8_t(1));
  // Level 0 stores the bytes as they are: a changed byte is still valid deflate, only the CRC tells.
  auto stored = [&](const std::string& name) {
    gzFile f = gzopen(dir.file(name).c_str(), "wb0");
    std::string raw{0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 50};
    raw.append(pixels.begin(), pixels.end());
    gzwrite(f, raw.data(), unsigned(raw.size()));
    gzclose(f);
    return bytes_of(dir.file(name));
  };
  const std::string good = stored("good.gz");
  BOOST_TEST(nn::read_idx(dir.file("good.gz")).data == pixels, tt::per_element());
  const std::size_t data_byte = good.size() - 8 - 10;  // a pixel inside the stored block
  write_bytes(dir.file("no-trailer.gz"), good.substr(0, good.size() - 8));
  auto e = error_of([&] { nn::read_idx(dir.file("no-trailer.gz")); });
  BOOST_TEST(contains(e, "no-trailer.gz: truncated: the gzip stream ends before its trailer"), e);
  std::string flipped = good.substr(0, good.size() - 8);
  flipped[data_byte] ^= 0x40;
  write_bytes(dir.file("flipped-no-trailer.gz"), flipped);
  e = error_of([&] { nn::read_idx(dir.file("flipped-no-trailer.gz")); });
  BOOST_TEST(contains(e, "flipped-no-trailer.gz: truncated: the gzip stream ends before its trailer"), e);
  flipped = good;
  flipped[data_byte] ^= 0x40;
  write_bytes(dir.file("flipped.gz"), flipped);
  e = error_of([&] { nn::read_idx(dir.file("flipped.gz")); });
  BOOST_TEST(contains(e, "flipped.gz: corrupt gzip data near byte"), e);
  BOOST_TEST(contains(e, "the CRC-32 in the gzip trailer does not match the data"), e);
  flipped = good;
  flipped[good.size() - 2] ^= 1;  // the length field of the trailer
  write_bytes(dir.file("length.gz"), flipped);
  e = error_of([&] { nn::read_idx(dir.file("length.gz")); });
  BOOST_TEST(contains(e, "the length in the gzip trailer does not match the data"), e);
  write_bytes(dir.file("garbage.gz"), good + "junk!");
  e = error_of([&] { nn::read_idx(dir.file("garbage.gz")); });
  BOOST_TEST(contains(e, "garbage.gz: 5 bytes that are not gzip data follow the end of the gzip stream at byte " +
                             std::to_string(good.size())),
             e);
  write_bytes(dir.file("zeros.gz"), good + std::string(3, '\0'));  // padding is garbage too
  BOOST_CHECK_THROW(nn::read_idx(dir.file("zeros.gz")), nn::DataError);
  // Two gzip members read as one stream, as gzip(1) does: the data split across them.
  const std::string one = stored("one.gz");
  gzFile f = gzopen(dir.file("rest.gz").c_str(), "wb");
  gzclose(f);  // an empty member
  write_bytes(dir.file("two.gz"), one + bytes_of(dir.file("rest.gz")));
  BOOST_TEST(nn::read_idx(dir.file("two.gz")).data == pixels, tt::per_element());
  // A directory used to read as an empty file.
  e = error_of([&] { nn::read_idx(dir.path.string()); });
  BOOST_TEST(contains(e, "cannot open " + dir.path.string() + ": it is a directory"), e);
}

BOOST_AUTO_TEST_CASE(csv_refuses_non_finite_fields) {
  helpers::ScratchDir dir("nn-csv-finite");
  const std::vector<std::string> non_finite{"nan", "inf", "-Infinity", "NaN", "+inf"};
  for (const auto& field : non_finite) {
    std::ofstream(dir.file("n.csv")) << "a,b,label\n1,2,0\n3," << field << ",1\n";
    const auto e = error_of([&] { nn::read_csv<double>(dir.file("n.csv")); });
    BOOST_TEST(contains(e, "n.csv:3: field 2 '" + field + "' is not a finite number"), e);
  }
  std::ofstream(dir.file("t.csv")) << "1,2,nan\n";  // the target column too
  const auto e = error_of([&] { nn::read_csv<float>(dir.file("t.csv")); });
  BOOST_TEST(contains(e, "t.csv:1: field 3 'nan' is not a finite number"), e);
}

BOOST_AUTO_TEST_CASE(csv_reader) {
  helpers::ScratchDir dir("nn-csv");
  std::ofstream(dir.file("a.csv")) << "x1, x2, label\n1.5, -2, 1\n0, 3e2, 0\n\n4, 5, 2\n";
  const auto d = nn::read_csv<double>(dir.file("a.csv"), {.classes = 3});
  BOOST_TEST((ad::shape_of(d.x) == ad::Shape{3, 2}));
  BOOST_TEST(d.x(1, 1) == 300.0);
  BOOST_TEST(d.labels() == (std::vector<std::int32_t>{1, 0, 2}), tt::per_element());
  const auto r = nn::read_csv<float>(dir.file("a.csv"), {.target_column = 0});
  BOOST_TEST((ad::shape_of(r.y) == ad::Shape{3, 1}));
  BOOST_TEST(r.y(0, 0) == 1.5f);
  BOOST_TEST(r.x(2, 1) == 2.0f);
  std::ofstream(dir.file("b.csv")) << "1,2,0\n3,x,1\n";
  auto e = error_of([&] { nn::read_csv<double>(dir.file("b.csv")); });
  BOOST_TEST(contains(e, "b.csv:2: field 2 'x' is not a number"), e);
  std::ofstream(dir.file("c.csv")) << "1,2,0\n3,1\n";
  e = error_of([&] { nn::read_csv<double>(dir.file("c.csv")); });
  BOOST_TEST(contains(e, "c.csv:2: 2 fields, but earlier lines have 3"), e);
  std::ofstream(dir.file("d.csv")) << "1,2,0.5\n";
  e = error_of([&] { nn::read_csv<double>(dir.file("d.csv"), {.classes = 2}); });
  BOOST_TEST(contains(e, "is not a class label"), e);
}

// Cases found by fuzzing and by files from other tools; each used to misread or crash.
BOOST_AUTO_TEST_CASE(csv_bad_and_unusual_files) {
  helpers::ScratchDir dir("nn-csv-bad");
  auto write = [&](const std::string& name, const std::string& bytes) {
    write_bytes(dir.file(name), bytes);
    return dir.file(name);
  };
  // A label beyond any integer: converting it first was undefined behaviour (UBSan).
  auto e = error_of([&] { nn::read_csv<double>(write("huge.csv", "1,2,1e300\n"), {.classes = 3}); });
  BOOST_TEST(contains(e, "huge.csv:1: field 3 '1e+300' is not a class label 0..2"), e);
  e = error_of([&] { nn::read_csv<double>(write("neg.csv", "1,2,-9.3e18\n"), {.classes = 3}); });
  BOOST_TEST(contains(e, "neg.csv:1: field 3 '-9.3e+18' is not a class label 0..2"), e);
  // 1e39 is a double but not a float: it used to become inf.
  e = error_of([&] { nn::read_csv<float>(write("big.csv", "x,y\n1,2\n1e39,3\n")); });
  BOOST_TEST(contains(e, "big.csv:3: field 1 '1e39' is out of the range of float"), e);
  BOOST_TEST(nn::read_csv<double>(dir.file("big.csv")).x(1, 0) == 1e39);
  e = error_of([&] { nn::read_csv<double>(write("bigger.csv", "1,1e400\n")); });
  BOOST_TEST(contains(e, "bigger.csv:1: field 2 '1e400' is out of the range of double"), e);
  // A UTF-8 byte order mark made the first data row a "header" and dropped it.
  const auto bom = nn::read_csv<double>(write("bom.csv", "\xEF\xBB\xBF" "1,2,0\n3,4,1\n"));
  BOOST_TEST(bom.size() == 2u);
  BOOST_TEST(bom.x(0, 0) == 1.0);
  BOOST_TEST(nn::read_csv<double>(write("bomh.csv", "\xEF\xBB\xBF" "a,b\n1,2\n")).size() == 1u);
  // An empty field in a row of numbers is not a header (it read as one: "no data rows").
  e = error_of([&] { nn::read_csv<double>(write("gap.csv", "1,,0\n")); });
  BOOST_TEST(contains(e, "gap.csv:1: field 2 '' is empty"), e);
  e = error_of([&] { nn::read_csv<double>(write("gap2.csv", "a,b,c\n1,2,0\n4, ,1\n")); });
  BOOST_TEST(contains(e, "gap2.csv:3: field 2 '' is empty"), e);
  // A directory read as an empty file.
  e = error_of([&] { nn::read_csv<double>(dir.path.string()); });
  BOOST_TEST(contains(e, "read_csv: cannot open " + dir.path.string() + ": it is a directory"), e);
  e = error_of([&] { nn::read_csv<double>(write("empty.csv", "")); });
  BOOST_TEST(contains(e, "empty.csv: no data rows (the file is empty)"), e);
  e = error_of([&] { nn::read_csv<double>(write("head.csv", "\n\na,b\n\n")); });
  BOOST_TEST(contains(e, "head.csv: no data rows (only a header, on line 3)"), e);
  // A NUL byte cut the message at the field; it is shown escaped.
  e = error_of([&] { nn::read_csv<double>(write("nul.csv", std::string("1,2,0\n3,4\0x,1\n", 14))); });
  BOOST_TEST(contains(e, "nul.csv:2: field 2 '4\\x00x' is not a number"), e);
  // Quoting (RFC 4180): R's write.csv quotes the header and the row names.
  const auto r = nn::read_csv<double>(write("r.csv", "\"\",\"x, in cm\",\"label\"\r\n\"1\",0.5,1\r\n\"2\",1.5,0\r\n"));
  BOOST_TEST((ad::shape_of(r.x) == ad::Shape{2, 2}));
  BOOST_TEST(r.x(1, 0) == 2.0);
  BOOST_TEST(r.x(1, 1) == 1.5);
  BOOST_TEST(r.y(0, 0) == 1.0);
  e = error_of([&] { nn::read_csv<double>(write("q.csv", "1,2,0\n3,\"4\"x,1\n")); });
  BOOST_TEST(contains(e, "q.csv:2: malformed quoting"), e);
  e = error_of([&] { nn::read_csv<double>(write("open.csv", "1,2,0\n3,\"4,1\n5,6,0\n")); });
  BOOST_TEST(contains(e, "open.csv:2: a quoted field is not closed before the end of the file"), e);
  // The header's width is the rule, and the message says so.
  e = error_of([&] { nn::read_csv<double>(write("w.csv", "a,b,c\n1,2\n")); });
  BOOST_TEST(contains(e, "w.csv:2: 2 fields, but the header has 3"), e);
  e = error_of([&] { nn::read_csv<double>(write("one.csv", "1\n2\n")); });
  BOOST_TEST(contains(e, "one.csv:1: needs at least one feature and a target column"), e);
  e = error_of([&] { nn::read_csv<double>(write("tc.csv", "1,2\n"), {.target_column = 5}); });
  BOOST_TEST(contains(e, "tc.csv:1: target column 5 does not exist (2 columns)"), e);
  // A long field is cut in the message.
  e = error_of([&] { nn::read_csv<double>(write("long.csv", "1,2\n" + std::string(5000, 'z') + ",1\n")); });
  BOOST_TEST(contains(e, "long.csv:2: field 1 'zzzz"), e);
  BOOST_TEST(contains(e, "... (5000 bytes)' is not a number"), e);
  BOOST_TEST(e.size() < 300u);
}

BOOST_AUTO_TEST_CASE(split_shuffle_and_subset) {
  // Feature 0 is the example's id, so examples can be traced through splits and shuffles.
  nn::Dataset<double> d;
  d.x = xt::zeros<double>({100, 2});
  d.y = xt::zeros<double>({100, 1});
  for (std::size_t i = 0; i < 100; ++i) {
    d.x(i, 0) = double(i);
    d.y(i, 0) = double(i % 2);
  }
  const auto s = nn::split(d, 0.1, 0.2, 5);
  BOOST_TEST(s.train.size() == 70u);
  BOOST_TEST(s.dev.size() == 10u);
  BOOST_TEST(s.test.size() == 20u);
  std::set<int> ids;
  for (const auto* part : {&s.train, &s.dev, &s.test})
    for (std::size_t i = 0; i < part->size(); ++i) {
      ids.insert(int(part->x(i, 0)));
      BOOST_TEST(part->y(i, 0) == double(int(part->x(i, 0)) % 2));  // x and y stay paired
    }
  BOOST_TEST(ids.size() == 100u);
  const auto again = nn::split(d, 0.1, 0.2, 5);
  BOOST_TEST(again.dev.x == s.dev.x);
  auto shuffled = d;
  nn::shuffle(shuffled, 3);
  BOOST_TEST(!(shuffled.x == d.x));
  for (std::size_t i = 0; i < 100; ++i) BOOST_TEST(shuffled.y(i, 0) == double(int(shuffled.x(i, 0)) % 2));
  BOOST_CHECK_THROW(nn::split(d, 0.6, 0.5, 1), nn::DataError);
}

BOOST_AUTO_TEST_CASE(split_refuses_fractions_that_leave_a_set_empty) {
  using test_support::contains;
  nn::Dataset<double> d;
  d.x = xt::zeros<double>({10, 2});
  d.y = xt::zeros<double>({10, 1});
  // 10 × 0.46 rounds to 5 twice: nothing is left to train on.
  auto message = test_support::message_of<nn::DataError>([&] { nn::split(d, 0.46, 0.46, 1); });
  BOOST_TEST(contains(message, "training set"), message);
  BOOST_TEST(contains(message, "10 examples"), message);
  // A dev set was asked for but 10 × 0.01 rounds to 0 examples.
  message = test_support::message_of<nn::DataError>([&] { nn::split(d, 0.01, 0.0, 1); });
  BOOST_TEST(contains(message, "dev"), message);
  BOOST_TEST(contains(message, "0 examples"), message);
  BOOST_CHECK_THROW(nn::split(d, 0.2, 0.04, 1), nn::DataError);  // test: 0.4 rounds to 0
  BOOST_CHECK_THROW(nn::split(d, std::nan(""), 0.0, 1), nn::DataError);
  BOOST_CHECK_THROW(nn::split(d, 0.5, 0.5, 1), nn::DataError);
  const auto s = nn::split(d, 0.0, 0.1, 1);  // no dev set asked for: an empty one is fine
  BOOST_TEST(s.train.size() == 9u);
  BOOST_TEST(s.dev.size() == 0u);
  BOOST_TEST(s.test.size() == 1u);
}

BOOST_AUTO_TEST_CASE(mini_batches_keep_the_last_partial_one) {
  nn::Batches b(10, 4);
  BOOST_TEST(b.count() == 3u);
  BOOST_TEST(b[0].size() == 4u);
  BOOST_TEST(b[2].size() == 2u);
  std::mt19937_64 rng(1);
  b.shuffle(rng);
  std::multiset<std::size_t> seen;
  for (std::size_t k = 0; k < b.count(); ++k)
    for (auto i : b[k]) seen.insert(i);
  BOOST_TEST(seen.size() == 10u);
  BOOST_TEST(std::set<std::size_t>(seen.begin(), seen.end()).size() == 10u);
  BOOST_CHECK_THROW(b[3], nn::DataError);
  BOOST_CHECK_THROW(nn::Batches(5, 0), nn::DataError);
}

BOOST_AUTO_TEST_CASE(gathering_rows_and_columns) {
  const auto src = helpers::random(6, 3, 2);
  const std::vector<std::size_t> idx{4, 0, 4};
  ad::Tensor<double> rows, cols;
  nn::gather_rows(src, idx, rows);
  nn::gather_columns(src, idx, cols);
  BOOST_TEST((ad::shape_of(rows) == ad::Shape{3, 3}));
  BOOST_TEST((ad::shape_of(cols) == ad::Shape{3, 3}));
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t j = 0; j < 3; ++j) {
      BOOST_TEST(rows(k, j) == src(idx[k], j));
      BOOST_TEST(cols(j, k) == src(idx[k], j));
    }
}

BOOST_AUTO_TEST_CASE(indices_and_shapes_are_checked) {
  const auto src = helpers::random(6, 3, 2);
  const std::vector<std::size_t> idx{4, 0, 6};
  ad::Tensor<double> out;
  auto e = error_of([&] { nn::gather_rows(src, idx, out); });
  BOOST_TEST(contains(e, "gather_rows: index 6 (position 2 of 3) is outside a data set of 6 examples"), e);
  e = error_of([&] { nn::gather_columns(src, std::vector<std::size_t>{50000000}, out); });
  BOOST_TEST(contains(e, "gather_columns: index 50000000 (position 0 of 1) is outside a data set of 6 examples"), e);
  nn::Dataset<double> d{src, xt::zeros<double>({2, 1})};
  e = error_of([&] { d.check("train"); });
  BOOST_TEST(contains(e, "train: x has 6 examples (rows) but y has 2"), e);
  d.y = xt::zeros<double>({6, 1});
  d.check("train", 3);
  e = error_of([&] { d.check("train", 4); });
  BOOST_TEST(contains(e, "train: the examples have 3 features but the model takes 4"), e);
}

BOOST_AUTO_TEST_CASE(normalization_uses_training_statistics_only) {
  nn::Dataset<double> train, test;
  train.x = ad::Tensor<double>{{1, 10, 5}, {3, 20, 5}, {5, 30, 5}, {7, 40, 5}};
  train.y = xt::zeros<double>({4, 1});
  test.x = ad::Tensor<double>{{100, 0, 6}};
  test.y = xt::zeros<double>({1, 1});
  nn::Normalizer<double> norm;
  BOOST_CHECK_THROW(norm.apply(test), nn::DataError);
  norm.fit(train);
  BOOST_TEST((ad::shape_of(norm.mean) == ad::Shape{3, 1}));
  BOOST_TEST(norm.mean(0, 0) == 4.0);
  BOOST_TEST(norm.stddev(0, 0) == std::sqrt(5.0), tt::tolerance(1e-14));
  BOOST_TEST(norm.stddev(2, 0) == 1.0);  // a constant feature is centred, not divided by ~0
  norm.apply(train);
  norm.apply(test);
  for (std::size_t k = 0; k < 2; ++k) {
    BOOST_TEST(xt::mean(xt::view(train.x, xt::all(), k))() == 0.0, tt::tolerance(1e-14));
    BOOST_TEST(xt::variance(xt::view(train.x, xt::all(), k))() == 1.0, tt::tolerance(1e-12));
  }
  // The test example is transformed with the training μ and σ, not its own.
  BOOST_TEST(test.x(0, 0) == (100 - 4) / std::sqrt(5.0), tt::tolerance(1e-12));
  BOOST_TEST(test.x(0, 1) == (0 - 25) / std::sqrt(125.0), tt::tolerance(1e-12));
  BOOST_TEST(test.x(0, 2) == 1.0);
  nn::Dataset<double> wide;
  wide.x = xt::zeros<double>({1, 4});
  BOOST_CHECK_THROW(norm.apply(wide), nn::DataError);
}
