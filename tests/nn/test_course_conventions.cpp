// Where a learner compares nn with the course's tables: the learning-rate decay counted by the
// course's epoch_num (the trainer's epoch e runs at epoch_num = e), one_hot in the layout a
// Dataset wants and in the course's (n_y, m), and the exponentially weighted average with bias
// correction on the course's numbers.
#define BOOST_TEST_MODULE nn course conventions
#include <boost/test/unit_test.hpp>

#include <cmath>

#include "helpers.hpp"
#include "error_text.hpp"

namespace tt = boost::test_tools;
using test_support::contains;

BOOST_AUTO_TEST_CASE(the_trainer_reproduces_the_courses_decay_table) {
  // The course: α0 = 0.2, decay_rate = 1, α = α0 / (1 + decay_rate · epoch_num):
  // epoch 1 → 0.1, 2 → 0.067, 3 → 0.05, 4 → 0.04.
  auto data = helpers::blobs<double>(5, 2, 2);
  nn::Sequential<double> m;
  m.dense(2);
  nn::GradientDescent<double> gd(0.2, nn::Schedule::inverse_time(1.0));
  nn::TrainOptions o;
  o.epochs = 4;
  o.progress = nn::Progress::none;
  nn::Trainer<double> t(m, nn::Loss::softmax_cross_entropy, gd, o);
  const auto h = t.fit(data);
  const double table[] = {0.1, 0.2 / 3, 0.05, 0.04};
  for (std::size_t e = 0; e < 4; ++e) {
    BOOST_TEST_INFO("epoch " << e + 1);
    BOOST_TEST(h.epochs[e].epoch == e + 1);
    BOOST_TEST(h.epochs[e].learning_rate == table[e], tt::tolerance(1e-12));
  }
  // The steps of epoch 1 really ran at 0.1: one step of plain gradient descent moved W by 0.1·dW.
  nn::Sequential<double> m2;
  m2.dense(2);
  m2.build(2);
  const ad::Tensor<double> W0 = m2.parameter("W[1]").value;
  nn::GradientDescent<double> gd2(0.2, nn::Schedule::inverse_time(1.0));
  o.epochs = 1;
  o.batch_size = data.size();
  nn::Trainer<double> t2(m2, nn::Loss::softmax_cross_entropy, gd2, o);
  t2.fit(data);
  const auto& W1 = m2.parameter("W[1]").value;
  const auto& dW = m2.parameter("W[1]").grad;
  for (std::size_t i = 0; i < W1.size(); ++i) BOOST_TEST(W1.data()[i] == W0.data()[i] - 0.1 * dW.data()[i], tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(schedules_at_the_courses_epoch_num) {
  using S = nn::Schedule;
  BOOST_TEST(S::inverse_time(1.0).at(0.2, 1) == 0.1, tt::tolerance(1e-15));
  BOOST_TEST(S::exponential(0.95).at(0.2, 1) == 0.19, tt::tolerance(1e-15));  // 0.95^epoch_num · α0
}

BOOST_AUTO_TEST_CASE(one_hot_in_both_layouts_by_name) {
  const std::vector<std::int32_t> labels{2, 0, 1};
  const auto rows = nn::one_hot_rows<double>(labels, 3);  // (m, classes): Dataset::y
  const auto cols = nn::one_hot_columns<double>(labels, 3);  // (classes, m): the course's Y
  BOOST_TEST((ad::shape_of(rows) == ad::Shape{3, 3}));
  const std::vector<std::int32_t> two{1, 1};
  BOOST_TEST((ad::shape_of(nn::one_hot_rows<double>(two, 3)) == ad::Shape{2, 3}));
  BOOST_TEST((ad::shape_of(nn::one_hot_columns<double>(two, 3)) == ad::Shape{3, 2}));
  for (std::size_t j = 0; j < 3; ++j)
    for (std::size_t c = 0; c < 3; ++c) {
      BOOST_TEST(rows(j, c) == (std::int32_t(c) == labels[j] ? 1.0 : 0.0));
      BOOST_TEST(cols(c, j) == rows(j, c));
    }
  // A data set takes the rows as they are.
  nn::Dataset<double> d;
  d.x = xt::zeros<double>({3, 2});
  d.y = rows;
  BOOST_TEST(d.labels() == std::vector<std::int32_t>(labels.begin(), labels.end()));
  const auto message = test_support::message_of<nn::DataError>([&] { nn::one_hot_rows<double>(std::vector<std::int32_t>{0, 3}, 3); });
  BOOST_TEST(contains(message, "one_hot_rows: label 3 of example 1 is outside 0..2"), message);
  const auto negative = test_support::message_of<nn::DataError>([&] { nn::one_hot_columns<float>(std::vector<std::int32_t>{-1}, 3); });
  BOOST_TEST(contains(negative, "one_hot_columns: label -1 of example 0"), negative);
}

BOOST_AUTO_TEST_CASE(ewa_the_courses_quiz) {
  // The course's quiz: θ1 = θ2 = 10 with β = 0.5 and v0 = 0: v2 = 7.5, bias-corrected 10.
  nn::ExponentiallyWeightedAverage v(0.5);
  BOOST_TEST(v.add(10) == 5.0);
  BOOST_TEST(v.corrected() == 10.0);
  BOOST_TEST(v.add(10) == 7.5);
  BOOST_TEST(v.corrected() == 10.0);
  BOOST_TEST(v.count() == 2u);
}

BOOST_AUTO_TEST_CASE(ewa_the_courses_temperatures) {
  // The course's β = 0.98: v1 = 0.02·θ1, v2 = 0.0196·θ1 + 0.02·θ2, corrected by 1 − 0.98² = 0.0396.
  nn::ExponentiallyWeightedAverage v(0.98);
  v.add(40);
  BOOST_TEST(v.value() == 0.8, tt::tolerance(1e-12));
  BOOST_TEST(v.corrected() == 40.0, tt::tolerance(1e-12));
  v.add(50);
  BOOST_TEST(v.value() == 0.0196 * 40 + 0.02 * 50, tt::tolerance(1e-12));
  BOOST_TEST(v.corrected() == (0.0196 * 40 + 0.02 * 50) / 0.0396, tt::tolerance(1e-12));
  // A constant series: corrected is exact from t = 1, the plain average approaches it as 1 − β^t.
  nn::ExponentiallyWeightedAverage c(0.9);
  for (int t = 1; t <= 10; ++t) {
    c.add(3);
    BOOST_TEST(c.corrected() == 3.0, tt::tolerance(1e-12));
    BOOST_TEST(c.value() == 3 * (1 - std::pow(0.9, t)), tt::tolerance(1e-12));
  }
  // β = 0 is the last value.
  nn::ExponentiallyWeightedAverage last(0);
  last.add(1);
  BOOST_TEST(last.add(7) == 7.0);
}

BOOST_AUTO_TEST_CASE(ewa_refusals) {
  auto config = [](auto f) { return test_support::message_of<nn::ConfigError>(f); };
  BOOST_TEST(contains(config([] { nn::ExponentiallyWeightedAverage(1.0); }), "beta must be in [0, 1), got 1"));
  BOOST_TEST(contains(config([] { nn::ExponentiallyWeightedAverage(-0.1); }), "beta must be in [0, 1), got -0.1"));
  BOOST_TEST(contains(config([] { nn::ExponentiallyWeightedAverage(0.9).corrected(); }), "no value added yet (t = 0)"));
}
