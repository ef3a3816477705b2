// Hardmax classes, accuracy and the confusion matrix.
#define BOOST_TEST_MODULE nn metrics
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <sstream>

#include "helpers.hpp"
#include "error_text.hpp"

namespace tt = boost::test_tools;

BOOST_AUTO_TEST_CASE(argmax_per_column) {
  const ad::Tensor<double> p{{0.1, 0.7, 0.3}, {0.6, 0.2, 0.3}, {0.3, 0.1, 0.4}};
  BOOST_TEST(nn::argmax(p) == (std::vector<std::int32_t>{1, 0, 2}), tt::per_element());
  const ad::Tensor<float> binary{{0.2f, 0.5f, 0.9f}};
  BOOST_TEST(nn::argmax(binary) == (std::vector<std::int32_t>{0, 1, 1}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(accuracy_and_confusion) {
  const std::vector<std::int32_t> predicted{0, 1, 2, 2, 1, 0}, labels{0, 1, 1, 2, 1, 2};
  BOOST_TEST(nn::accuracy(predicted, labels) == 4.0 / 6.0, tt::tolerance(1e-15));
  const auto c = nn::confusion_matrix(predicted, labels, 3);
  BOOST_TEST(c(1, 1) == 2u);  // true 1 predicted 1
  BOOST_TEST(c(1, 2) == 1u);  // true 1 predicted 2
  BOOST_TEST(c(2, 0) == 1u);
  BOOST_TEST(xt::sum(c)() == 6u);
  const auto text = nn::format_confusion_matrix(c, {"cat", "dog", "bird"});
  BOOST_TEST(text.find("dog") != std::string::npos, text);
  BOOST_TEST(text.find("66.7%") != std::string::npos, text);
  const std::vector<std::int32_t> short_list{0};
  BOOST_CHECK_THROW(nn::accuracy(short_list, labels), nn::DataError);
  const std::vector<std::int32_t> out_of_range{0, 1, 2, 3, 1, 0};
  BOOST_CHECK_THROW(nn::confusion_matrix(out_of_range, labels, 3), nn::DataError);
}

BOOST_AUTO_TEST_CASE(a_class_that_never_occurs_has_no_recall_rather_than_a_division_by_zero) {
  // Class 1 is never the true label (it is predicted once); class 2 never occurs at all.
  const std::vector<std::int32_t> predicted{0, 1, 0, 3}, labels{0, 0, 3, 3};
  BOOST_TEST(nn::accuracy(predicted, labels) == 0.5, tt::tolerance(1e-15));
  const auto c = nn::confusion_matrix(predicted, labels, 4);
  BOOST_TEST(c(0, 1) == 1u);
  BOOST_TEST(xt::sum(xt::view(c, 1, xt::all()))() == 0u);
  BOOST_TEST(xt::sum(xt::view(c, 2, xt::all()))() == 0u);
  BOOST_TEST(xt::sum(xt::view(c, xt::all(), 2))() == 0u);
  const auto text = nn::format_confusion_matrix(c);
  std::istringstream lines(text);
  std::string header, row0, row1, row2, row3;
  std::getline(lines, header);
  std::getline(lines, row0);
  std::getline(lines, row1);
  std::getline(lines, row2);
  std::getline(lines, row3);
  BOOST_TEST(row0.find("50.0%") != std::string::npos, text);
  BOOST_TEST(row1.substr(row1.size() - 1) == "-", text);
  BOOST_TEST(row2.substr(row2.size() - 1) == "-", text);
  BOOST_TEST(row3.find("50.0%") != std::string::npos, text);
  const std::vector<std::int32_t> one{0};
  const auto message = test_support::message_of<nn::DataError>([&] { nn::confusion_matrix(one, one, 0); });
  BOOST_TEST(message.find("0 classes") != std::string::npos, message);
}
