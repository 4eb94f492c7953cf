#include <cmath>
#include <string>
#include <vector>

#include "../core/softmax.h"
#include "reference.h"
#include "test_framework.h"

using convnet_test::compare;
using convnet_test::random_vector;

namespace {

void reference(int64_t rows, int64_t cols, const std::vector<float>& x, std::vector<double>* sm,
               std::vector<double>* lsm) {
  sm->resize(x.size());
  lsm->resize(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY;
    for (int64_t j = 0; j < cols; ++j) m = std::fmax(m, x[r * cols + j]);
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(x[r * cols + j] - m);
    for (int64_t j = 0; j < cols; ++j) {
      (*sm)[r * cols + j] = std::exp(x[r * cols + j] - m) / sum;
      (*lsm)[r * cols + j] = x[r * cols + j] - m - std::log(sum);
    }
  }
}

}  // namespace

TEST(softmax_matches_reference_and_backward) {
  for (int64_t cols : {1, 3, 10, 1000}) {
    const int64_t rows = 300;
    const std::vector<float> x = random_vector(rows * cols, 1000 + uint32_t(cols), -20.0f, 20.0f);
    const std::vector<float> dy = random_vector(rows * cols, 2000 + uint32_t(cols));
    std::vector<double> want_sm, want_lsm;
    reference(rows, cols, x, &want_sm, &want_lsm);
    std::vector<float> y(x.size()), ly(x.size()), dx(x.size());
    convnet::softmax(rows, cols, x.data(), y.data());
    convnet::log_softmax(rows, cols, x.data(), ly.data());
    EXPECT_MSG(compare(y, want_sm, 1e-7, 1e-5).empty(), compare(y, want_sm, 1e-7, 1e-5));
    EXPECT_MSG(compare(ly, want_lsm, 1e-5, 1e-5).empty(), compare(ly, want_lsm, 1e-5, 1e-5));

    std::vector<double> want(x.size());
    convnet::softmax_backward(rows, cols, y.data(), dy.data(), dx.data());
    for (int64_t r = 0; r < rows; ++r) {
      double dot = 0.0;
      for (int64_t j = 0; j < cols; ++j) dot += double(dy[r * cols + j]) * y[r * cols + j];
      for (int64_t j = 0; j < cols; ++j) {
        want[r * cols + j] = double(y[r * cols + j]) * (dy[r * cols + j] - dot);
      }
    }
    EXPECT_MSG(compare(dx, want, 1e-6, 1e-5).empty(), compare(dx, want, 1e-6, 1e-5));

    convnet::log_softmax_backward(rows, cols, ly.data(), dy.data(), dx.data());
    for (int64_t r = 0; r < rows; ++r) {
      double total = 0.0;
      for (int64_t j = 0; j < cols; ++j) total += dy[r * cols + j];
      for (int64_t j = 0; j < cols; ++j) {
        want[r * cols + j] = dy[r * cols + j] - std::exp(double(ly[r * cols + j])) * total;
      }
    }
    EXPECT_MSG(compare(dx, want, 1e-5, 1e-5).empty(), compare(dx, want, 1e-5, 1e-5));
  }
}

// Logits of 1e4 overflow exp() unless the row maximum is subtracted first.
TEST(softmax_stable_for_large_logits) {
  std::vector<float> x = {1e4f, 1e4f - 1.0f, 0.0f, -1e4f, 1e4f, 1e4f};
  std::vector<float> y(6), ly(6);
  convnet::softmax(2, 3, x.data(), y.data());
  convnet::log_softmax(2, 3, x.data(), ly.data());
  for (int i = 0; i < 6; ++i) EXPECT(std::isfinite(y[i]) && std::isfinite(ly[i]));
  EXPECT(std::fabs(y[0] + y[1] + y[2] - 1.0f) < 1e-6f);
  EXPECT(std::fabs(y[0] - 0.7310586f) < 1e-6f && y[2] == 0.0f);
  EXPECT(std::fabs(ly[0] - -0.31326169f) < 1e-6f && std::fabs(ly[1] - -1.31326169f) < 1e-6f);
  EXPECT(std::fabs(y[4] - 0.5f) < 1e-6f && y[3] == 0.0f);
  // In place.
  convnet::softmax(2, 3, x.data(), x.data());
  for (int i = 0; i < 6; ++i) EXPECT(x[i] == y[i]);
}
