#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../core/pool2d.h"
#include "../core/thread_pool.h"
#include "reference.h"
#include "test_framework.h"

using convnet::Pool2dShape;
using convnet_test::compare;
using convnet_test::random_vector;

namespace {

Pool2dShape pool_shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw,
                       int64_t sh, int64_t sw, int64_t ph, int64_t pw, bool include_pad) {
  Pool2dShape s{n, c, h, w, kh, kw, sh, sw, ph, pw, 0, 0, include_pad};
  s.out_height = convnet_test::conv_out_size(h, kh, sh, ph, 1);
  s.out_width = convnet_test::conv_out_size(w, kw, sw, pw, 1);
  return s;
}

const Pool2dShape kShapes[] = {
    pool_shape(2, 3, 8, 8, 2, 2, 2, 2, 0, 0, true),   // the classic 2x2
    pool_shape(2, 2, 9, 7, 3, 3, 2, 2, 1, 1, true),   // overlapping windows with padding
    pool_shape(1, 3, 7, 9, 3, 2, 1, 3, 1, 1, true),   // asymmetric
    pool_shape(3, 1, 5, 5, 5, 5, 1, 1, 2, 2, true),   // window as large as the input
    pool_shape(64, 8, 6, 6, 2, 2, 2, 2, 1, 0, true),  // many planes: parallel
};

}  // namespace

TEST(max_pool2d_forward_backward) {
  uint32_t seed = 500;
  for (const Pool2dShape& s : kShapes) {
    const int64_t x_size = s.batch * s.channels * s.in_height * s.in_width;
    const int64_t y_size = s.batch * s.channels * s.out_height * s.out_width;
    const std::vector<float> x = random_vector(x_size, seed += 3);
    std::vector<float> y(y_size, 7.0f);
    std::vector<int32_t> argmax(y_size, -7);
    convnet::max_pool2d(s, x.data(), y.data(), argmax.data());
    std::vector<double> want;
    std::vector<int32_t> want_arg;
    convnet_test::max_pool2d_reference(s, x, &want, &want_arg);
    EXPECT_MSG(compare(y, want, 0.0, 0.0).empty(), compare(y, want, 0.0, 0.0));
    EXPECT(argmax == want_arg);

    const std::vector<float> dy = random_vector(y_size, seed += 3);
    std::vector<float> dx(x_size, 7.0f);
    convnet::max_pool2d_backward(s, dy.data(), argmax.data(), dx.data());
    std::vector<double> want_dx(x_size, 0.0);
    const int64_t plane = s.in_height * s.in_width, out_plane = s.out_height * s.out_width;
    for (int64_t i = 0; i < y_size; ++i) want_dx[(i / out_plane) * plane + want_arg[i]] += dy[i];
    EXPECT_MSG(compare(dx, want_dx, 1e-6, 1e-6).empty(), compare(dx, want_dx, 1e-6, 1e-6));
  }
}

TEST(max_pool2d_nan_and_infinity) {
  const Pool2dShape s = pool_shape(1, 1, 2, 4, 2, 2, 2, 2, 0, 0, true);
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {-inf, -inf, 1.0f, nan, -inf, -inf, 5.0f, 2.0f};
  std::vector<float> y(2);
  std::vector<int32_t> argmax(2);
  convnet::max_pool2d(s, x.data(), y.data(), argmax.data());
  EXPECT(y[0] == -inf && argmax[0] == 0);  // all -inf: the first element wins
  EXPECT(std::isnan(y[1]) && argmax[1] == 3);
}

TEST(avg_pool2d_forward_backward_count_include_pad_both_ways) {
  uint32_t seed = 700;
  for (bool include_pad : {true, false}) {
    for (Pool2dShape s : kShapes) {
      s.count_include_pad = include_pad;
      const int64_t x_size = s.batch * s.channels * s.in_height * s.in_width;
      const int64_t y_size = s.batch * s.channels * s.out_height * s.out_width;
      const std::vector<float> x = random_vector(x_size, seed += 3);
      std::vector<float> y(y_size, 7.0f);
      convnet::avg_pool2d(s, x.data(), y.data());
      std::vector<double> want;
      convnet_test::avg_pool2d_reference(s, x, &want);
      EXPECT_MSG(compare(y, want, 1e-6, 1e-5).empty(), compare(y, want, 1e-6, 1e-5));

      const std::vector<float> dy = random_vector(y_size, seed += 3);
      std::vector<float> dx(x_size, 7.0f);
      convnet::avg_pool2d_backward(s, dy.data(), dx.data());
      convnet_test::avg_pool2d_backward_reference(s, dy, &want);
      EXPECT_MSG(compare(dx, want, 1e-6, 1e-5).empty(), compare(dx, want, 1e-6, 1e-5));
    }
  }
}
