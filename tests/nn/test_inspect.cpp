// nn::Inspector and Trainer::inspect: A[l], Z[l], dA[l], dW[l], db[l] by the course's layer number,
// checked against a two-layer network worked by hand; their statistics; the trainer's per-epoch
// layer statistics in History and its CSV; clear refusals of layer numbers that do not exist.
#define BOOST_TEST_MODULE nn inspect
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "helpers.hpp"
#include "error_text.hpp"

namespace tt = boost::test_tools;
using nn::Activation;
using test_support::contains;

namespace {

// x1 = (1, 2), x2 = (2, −1); W[1] = [[1, −1], [0.5, 2]], b[1] = (0, −1), ReLU;
// W[2] = [[1, −2]], b[2] = 0.5, linear; targets 0, J = mean over examples of (ŷ − y)².
// By hand: Z[1] = [[−1, 3], [3.5, −2]], A[1] = [[0, 3], [3.5, 0]], Z[2] = A[2] = [−6.5, 3.5],
// J = (42.25 + 12.25)/2 = 27.25, dZ[2] = 2ŷ/m = [−6.5, 3.5], dW[2] = dZ[2]·A[1]ᵀ = [10.5, −22.75],
// db[2] = −3, dA[1] = W[2]ᵀ·dZ[2] = [[−6.5, 3.5], [13, −7]], dZ[1] = [[0, 3.5], [13, 0]],
// dW[1] = dZ[1]·Xᵀ = [[7, −3.5], [13, 26]], db[1] = (3.5, 13).
struct Tiny {
  nn::Dataset<double> data;
  nn::Sequential<double> model;
  nn::GradientDescent<double> gd{0.01};
  std::vector<std::size_t> both{0, 1};
  explicit Tiny(bool separate_activation = false) {
    data.x = ad::Tensor<double>{{1, 2}, {2, -1}};
    data.y = ad::Tensor<double>{{0}, {0}};
    if (separate_activation)
      model.dense(2).activation(Activation::relu).dense(1);
    else
      model.dense(2, Activation::relu).dense(1);
    model.build(2);
    model.parameter("W[1]").value = ad::Tensor<double>{{1, -1}, {0.5, 2}};
    model.parameter("b[1]").value = ad::Tensor<double>{{0}, {-1}};
    model.parameter("W[2]").value = ad::Tensor<double>{{1, -2}};
    model.parameter("b[2]").value = ad::Tensor<double>{{0.5}};
  }
  nn::TrainOptions options(std::size_t epochs = 1) const {
    nn::TrainOptions o;
    o.epochs = epochs;
    o.batch_size = 2;
    o.shuffle = false;
    o.progress = nn::Progress::none;
    return o;
  }
};

void check_equal(const ad::Tensor<double>& got, const ad::Tensor<double>& want, const char* what) {
  BOOST_TEST_INFO(what);
  BOOST_REQUIRE(got.shape() == want.shape());
  for (std::size_t i = 0; i < got.size(); ++i) BOOST_TEST(got.data()[i] == want.data()[i], tt::tolerance(1e-12));
}

void check_by_hand(const nn::Inspector<double>& in) {
  BOOST_TEST(in.layers() == 2u);
  check_equal(in.A(0), {{1, 2}, {2, -1}}, "A[0] = X, one example per column");
  check_equal(in.Z(1), {{-1, 3}, {3.5, -2}}, "Z[1]");
  check_equal(in.A(1), {{0, 3}, {3.5, 0}}, "A[1]");
  check_equal(in.Z(2), {{-6.5, 3.5}}, "Z[2]");
  check_equal(in.A(2), {{-6.5, 3.5}}, "A[2]");
  check_equal(in.dA(1), {{-6.5, 3.5}, {13, -7}}, "dA[1]");
  check_equal(in.dW(2), {{10.5, -22.75}}, "dW[2]");
  check_equal(in.db(2), {{-3}}, "db[2]");
  check_equal(in.dW(1), {{7, -3.5}, {13, 26}}, "dW[1]");
  check_equal(in.db(1), {{3.5}, {13}}, "db[1]");
}

}  // namespace

BOOST_AUTO_TEST_CASE(values_by_layer_number_match_the_hand_computation) {
  Tiny tiny;
  nn::Trainer<double> t(tiny.model, nn::Loss::mean_squared_error, tiny.gd, tiny.options());
  const auto in = t.inspect(tiny.data, tiny.both);
  check_by_hand(in);
  // Nothing was updated.
  BOOST_TEST(tiny.model.parameter("W[2]").value(0, 1) == -2.0);
  BOOST_TEST(t.steps() == 0u);
}

BOOST_AUTO_TEST_CASE(a_separate_activation_layer_belongs_to_the_dense_layer_before_it) {
  Tiny tiny(true);
  nn::Trainer<double> t(tiny.model, nn::Loss::mean_squared_error, tiny.gd, tiny.options());
  check_by_hand(t.inspect(tiny.data, tiny.both));
}

BOOST_AUTO_TEST_CASE(statistics_of_a_layer) {
  Tiny tiny;
  nn::Trainer<double> t(tiny.model, nn::Loss::mean_squared_error, tiny.gd, tiny.options());
  const auto s = t.inspect(tiny.data, tiny.both).stats(1);
  BOOST_TEST(s.layer == 1u);
  // A[1] = {0, 3, 3.5, 0}: mean 1.625, variance 10.6875/4, norm √21.25.
  BOOST_TEST(s.A.mean == 1.625, tt::tolerance(1e-12));
  BOOST_TEST(s.A.std == std::sqrt(10.6875 / 4), tt::tolerance(1e-12));
  BOOST_TEST(s.A.norm == std::sqrt(21.25), tt::tolerance(1e-12));
  // dW[1] = {7, −3.5, 13, 26}: norm √(49 + 12.25 + 169 + 676).
  BOOST_TEST(s.dW.norm == std::sqrt(906.25), tt::tolerance(1e-12));
  BOOST_TEST(s.db.mean == 8.25, tt::tolerance(1e-12));
  BOOST_TEST(s.Z.mean == 0.875, tt::tolerance(1e-12));  // (−1 + 3 + 3.5 − 2)/4
}

BOOST_AUTO_TEST_CASE(the_trainer_logs_layer_statistics_per_epoch_before_the_update) {
  Tiny tiny;
  auto o = tiny.options(2);
  o.layer_stats = true;
  nn::Trainer<double> t(tiny.model, nn::Loss::mean_squared_error, tiny.gd, o);
  const auto h = t.fit(tiny.data);
  BOOST_REQUIRE(h.epochs.size() == 2u);
  BOOST_REQUIRE(h.epochs[0].layers.size() == 2u);
  // One batch per epoch: epoch 1's statistics are those of the hand-worked initial weights.
  BOOST_TEST(h.epochs[0].layers[1].dW.norm == std::hypot(10.5, 22.75), tt::tolerance(1e-12));
  BOOST_TEST(h.epochs[0].layers[0].A.norm == std::sqrt(21.25), tt::tolerance(1e-12));
  BOOST_TEST(h.epochs[1].layers[1].dW.norm != h.epochs[0].layers[1].dW.norm);  // epoch 2 after an update
  const std::string csv = h.csv();
  const std::string header = csv.substr(0, csv.find('\n'));
  BOOST_TEST(contains(header, ",A1_mean,A1_std,A1_norm,Z1_mean,"), header);
  BOOST_TEST(contains(header, ",db2_mean,db2_std,db2_norm"), header);
  const std::string row = csv.substr(csv.find('\n') + 1, csv.find('\n', csv.find('\n') + 1) - csv.find('\n') - 1);
  BOOST_TEST(std::count(row.begin(), row.end(), ',') == std::count(header.begin(), header.end(), ','));
}

BOOST_AUTO_TEST_CASE(without_the_option_no_statistics_are_kept) {
  Tiny tiny;
  nn::Trainer<double> t(tiny.model, nn::Loss::mean_squared_error, tiny.gd, tiny.options());
  const auto h = t.fit(tiny.data);
  BOOST_TEST(h.epochs[0].layers.empty());
  BOOST_TEST(!contains(h.csv(), "A1_mean"));
}

BOOST_AUTO_TEST_CASE(layers_that_do_not_exist_are_refused_by_number) {
  Tiny tiny;
  nn::Trainer<double> t(tiny.model, nn::Loss::mean_squared_error, tiny.gd, tiny.options());
  const auto in = t.inspect(tiny.data, tiny.both);
  auto message = [&](auto f) { return test_support::message_of<nn::ConfigError>(f); };
  BOOST_TEST(contains(message([&] { in.Z(0); }), "Inspector::Z(0): layers are numbered l = 1..2"));
  BOOST_TEST(contains(message([&] { in.dW(3); }), "Inspector::dW(3): layers are numbered l = 1..2"));
  BOOST_TEST(contains(message([&] { in.stats(3); }), "Inspector::stats(3)"));
  BOOST_CHECK_THROW(t.inspect(tiny.data, std::vector<std::size_t>{}), nn::DataError);
  BOOST_TEST(contains(test_support::message_of<nn::DataError>([&] { t.inspect(tiny.data, std::vector<std::size_t>{5}); }),
                      "5"));
}

BOOST_AUTO_TEST_CASE(a_layer_without_bias_says_so_and_z_is_batch_norms_output) {
  auto data = helpers::blobs<double>(4, 2, 3);
  nn::Sequential<double> m;
  m.dense(4).batch_norm().activation(Activation::relu).dense(2);
  m.build(3);
  nn::GradientDescent<double> gd(0.1);
  nn::TrainOptions o;
  o.progress = nn::Progress::none;
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, gd, o);
  std::vector<std::size_t> all(data.size());
  std::iota(all.begin(), all.end(), 0);
  const auto running_mean = *m.buffers().front().value;
  const auto in = t.inspect(data, all);
  BOOST_TEST(in.layers() == 2u);
  const auto message = test_support::message_of<nn::ConfigError>([&] { in.db(1); });
  BOOST_TEST(contains(message, "Inspector::db(1): layer 1 has no bias (BatchNorm's beta[1] follows it)"), message);
  // z̃ of a fresh batch norm (γ = 1, β = 0) has mean 0 and std ≈ 1 per unit.
  BOOST_TEST(std::abs(in.stats(1).Z.mean) < 1e-9);
  BOOST_TEST(in.stats(1).Z.std == 1.0, tt::tolerance(1e-3));
  // A[1] = ReLU(z̃) ≥ 0.
  for (double a : in.A(1)) BOOST_TEST(a >= 0.0);
  // inspect moved no running statistics.
  BOOST_TEST((*m.buffers().front().value == running_mean));
}
