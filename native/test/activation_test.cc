#include <cmath>
#include <string>
#include <vector>

#include "../core/activation.h"
#include "../core/bias_add.h"
#include "reference.h"
#include "test_framework.h"

using convnet_test::compare;
using convnet_test::random_vector;

namespace {

// Large enough to be split over threads.
constexpr int64_t kN = (1 << 17) + 13;

std::vector<double> map(const std::vector<float>& x, double (*f)(double)) {
  std::vector<double> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = f(x[i]);
  return out;
}

}  // namespace

TEST(activations_forward_backward) {
  const std::vector<float> x = random_vector(kN, 900, -8.0f, 8.0f);
  const std::vector<float> dy = random_vector(kN, 901);
  std::vector<float> y(kN), dx(kN);
  std::vector<double> want(kN);

  convnet::relu(kN, x.data(), y.data());
  EXPECT(compare(y, map(x, [](double v) { return v < 0 ? 0.0 : v; }), 0, 0).empty());
  convnet::relu_backward(kN, x.data(), dy.data(), dx.data());
  for (int64_t i = 0; i < kN; ++i) want[i] = x[i] > 0 ? dy[i] : 0.0;
  EXPECT(compare(dx, want, 0, 0).empty());

  convnet::leaky_relu(kN, x.data(), y.data(), 0.1f);
  for (int64_t i = 0; i < kN; ++i) want[i] = x[i] < 0 ? double(x[i] * 0.1f) : x[i];
  EXPECT(compare(y, want, 0, 0).empty());
  convnet::leaky_relu_backward(kN, x.data(), dy.data(), dx.data(), 0.1f);
  for (int64_t i = 0; i < kN; ++i) want[i] = x[i] > 0 ? dy[i] : double(dy[i] * 0.1f);
  EXPECT(compare(dx, want, 0, 0).empty());

  convnet::sigmoid(kN, x.data(), y.data());
  EXPECT(
      compare(y, map(x, [](double v) { return 1.0 / (1.0 + std::exp(-v)); }), 1e-7, 1e-6).empty());
  convnet::sigmoid_backward(kN, y.data(), dy.data(), dx.data());
  for (int64_t i = 0; i < kN; ++i) want[i] = double(dy[i]) * y[i] * (1.0 - y[i]);
  EXPECT(compare(dx, want, 1e-7, 1e-5).empty());

  convnet::tanh_forward(kN, x.data(), y.data());
  EXPECT(compare(y, map(x, [](double v) { return std::tanh(v); }), 1e-7, 1e-6).empty());
  convnet::tanh_backward(kN, y.data(), dy.data(), dx.data());
  for (int64_t i = 0; i < kN; ++i) want[i] = double(dy[i]) * (1.0 - double(y[i]) * y[i]);
  EXPECT(compare(dx, want, 1e-7, 1e-5).empty());
}

TEST(activations_in_place_and_extremes) {
  std::vector<float> v = {-1e30f, -100.0f, -1.0f, 0.0f, 1.0f, 100.0f, 1e30f};
  convnet::sigmoid(int64_t(v.size()), v.data(), v.data());
  for (float f : v) EXPECT(std::isfinite(f) && f >= 0.0f && f <= 1.0f);
  EXPECT(v[0] == 0.0f && v[6] == 1.0f && v[3] == 0.5f);
  std::vector<float> r = {-2.0f, 3.0f, NAN};
  convnet::relu(3, r.data(), r.data());
  EXPECT(r[0] == 0.0f && r[1] == 3.0f && std::isnan(r[2]));
}

TEST(bias_add_forward_backward) {
  const convnet::BiasShape s{5, 7, 1031};  // NCHW-like, large enough to be split
  const int64_t n = s.outer * s.channels * s.inner;
  const std::vector<float> x = random_vector(n, 950), bias = random_vector(s.channels, 951);
  std::vector<float> y(n);
  convnet::bias_add(s, x.data(), bias.data(), y.data());
  std::vector<double> want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = double(x[i] + bias[(i / s.inner) % s.channels]);
  EXPECT(compare(y, want, 0, 0).empty());

  std::vector<float> db(s.channels);
  convnet::bias_add_backward(s, x.data(), db.data());
  std::vector<double> want_db(s.channels, 0.0);
  for (int64_t i = 0; i < n; ++i) want_db[(i / s.inner) % s.channels] += x[i];
  EXPECT_MSG(compare(db, want_db, 1e-4, 1e-5).empty(), compare(db, want_db, 1e-4, 1e-5));

  const convnet::BiasShape linear{3, 4, 1};  // [N, F]
  std::vector<float> z = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const float b4[] = {10, 20, 30, 40};
  convnet::bias_add(linear, z.data(), b4, z.data());
  EXPECT(z[0] == 11 && z[3] == 44 && z[4] == 15 && z[11] == 52);
}

// The vectorized exp-based sigmoid and tanh over a dense grid, both tails and the switch between
// tanh's two formulas at |x| = 0.625: within a few float32 ulp of the double-precision functions.
TEST(sigmoid_tanh_approximations_dense_grid) {
  std::vector<float> x;
  for (double v = -30.0; v <= 30.0; v += 1.0 / 512) x.push_back(float(v));
  for (float v :
       {1e-8f, -1e-8f, 0.0f, -0.0f, 0.6249999f, 0.625f, -0.625f, 88.0f, -88.0f, 1e4f, -1e4f}) {
    x.push_back(v);
  }
  const int64_t n = int64_t(x.size());
  std::vector<float> y(n);
  convnet::sigmoid(n, x.data(), y.data());
  std::string err =
      compare(y, map(x, [](double v) { return 1.0 / (1.0 + std::exp(-v)); }), 0, 1e-6);
  EXPECT_MSG(err.empty(), "sigmoid: " + err);
  convnet::tanh_forward(n, x.data(), y.data());
  err = compare(y, map(x, [](double v) { return std::tanh(v); }), 0, 1e-6);
  EXPECT_MSG(err.empty(), "tanh: " + err);
  std::vector<float> nan = {NAN, -NAN};
  convnet::sigmoid(2, nan.data(), y.data());
  EXPECT(std::isnan(y[0]) && std::isnan(y[1]));
  convnet::tanh_forward(2, nan.data(), y.data());
  EXPECT(std::isnan(y[0]) && std::isnan(y[1]));
}
