#include <string>
#include <vector>

#include "../core/conv2d.h"
#include "../core/kernel_config.h"
#include "../core/thread_pool.h"
#include "reference.h"
#include "test_framework.h"

using convnet::Conv2dShape;
using convnet_test::compare;
using convnet_test::random_vector;

namespace {

Conv2dShape shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                  int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                  int64_t g) {
  Conv2dShape s{n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, g, 0, 0};
  s.out_height = convnet_test::conv_out_size(h, kh, sh, ph, dh);
  s.out_width = convnet_test::conv_out_size(w, kw, sw, pw, dw);
  return s;
}

const Conv2dShape kShapes[] = {
    shape(2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1),     // 3x3, same padding
    shape(3, 4, 9, 9, 6, 1, 1, 1, 1, 0, 0, 1, 1, 1),     // 1x1: straight to GEMM
    shape(2, 4, 9, 9, 6, 1, 1, 2, 2, 0, 0, 1, 1, 2),     // 1x1 strided, grouped
    shape(1, 2, 11, 10, 3, 3, 2, 2, 3, 1, 0, 1, 1, 1),   // asymmetric stride and kernel
    shape(2, 3, 10, 12, 5, 3, 3, 1, 2, 2, 1, 2, 3, 1),   // dilation
    shape(2, 6, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2),     // groups
    shape(3, 5, 7, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5),     // depthwise
    shape(1, 1, 5, 5, 2, 5, 5, 1, 1, 4, 4, 1, 1, 1),     // padding larger than half the input
    shape(5, 1, 13, 13, 3, 4, 4, 3, 3, 0, 0, 1, 1, 1),   // one input channel
    shape(1, 64, 66, 66, 3, 3, 3, 1, 1, 0, 0, 1, 1, 1),  // more than one column chunk
    // Enough output channels per group for the indirect path on every level (nr <= 16):
    shape(2, 4, 9, 11, 16, 3, 3, 2, 2, 1, 1, 1, 1, 2),    // grouped, strided, padded
    shape(1, 5, 12, 10, 20, 3, 3, 1, 1, 2, 2, 2, 2, 1),   // dilated, padded, a partial panel
    shape(3, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0, 1, 1, 1),   // a first layer
    shape(40, 8, 20, 20, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1),  // weight gradient over several chunks
    shape(2, 8, 5, 5, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1),     // padding beyond the kernel's extent
    shape(2, 8, 8, 8, 512, 3, 3, 2, 2, 1, 1, 1, 1, 1),    // backward input scattered by tiles
    shape(1, 4, 8, 12, 512, 3, 3, 2, 2, 1, 1, 1, 1, 1),   // ... with a partial pixel tile
};

void check_conv(const Conv2dShape& s, uint32_t seed) {
  const int64_t cg = s.in_channels / s.groups;
  const int64_t x_size = s.batch * s.in_channels * s.in_height * s.in_width;
  const int64_t w_size = s.out_channels * cg * s.kernel_h * s.kernel_w;
  const int64_t y_size = s.batch * s.out_channels * s.out_height * s.out_width;
  const std::vector<float> x = random_vector(x_size, seed);
  const std::vector<float> w = random_vector(w_size, seed + 1);
  const std::vector<float> bias = random_vector(s.out_channels, seed + 2);
  const std::vector<float> dy = random_vector(y_size, seed + 3);
  const double k = double(cg * s.kernel_h * s.kernel_w);
  const std::string what = convnet_test::describe(s);

  for (const float* b : {static_cast<const float*>(nullptr), bias.data()}) {
    std::vector<float> y(y_size, 7.0f);
    std::vector<double> want;
    convnet::conv2d_forward(s, x.data(), w.data(), b, y.data());
    convnet_test::conv2d_reference(s, x, w, b, &want);
    const std::string err = compare(y, want, 1e-5, 1e-5 * k);
    EXPECT_MSG(err.empty(), "forward " + what + ": " + err);
  }
  {
    std::vector<float> dx(x_size, 7.0f);
    std::vector<double> want;
    convnet::conv2d_backward_input(s, dy.data(), w.data(), dx.data());
    convnet_test::conv2d_backward_input_reference(s, dy, w, &want);
    const std::string err = compare(dx, want, 1e-5, 1e-5 * double(s.out_channels) * 9.0);
    EXPECT_MSG(err.empty(), "backward input " + what + ": " + err);
  }
  {
    std::vector<float> dw(w_size, 7.0f), dbias(s.out_channels, 7.0f);
    std::vector<double> want_w, want_b;
    convnet::conv2d_backward_weight(s, x.data(), dy.data(), dw.data(), dbias.data());
    convnet_test::conv2d_backward_weight_reference(s, x, dy, &want_w, &want_b);
    const double terms = double(s.batch * s.out_height * s.out_width);
    std::string err = compare(dw, want_w, 1e-4, 1e-5 * terms);
    EXPECT_MSG(err.empty(), "backward weight " + what + ": " + err);
    err = compare(dbias, want_b, 1e-4, 1e-5 * terms);
    EXPECT_MSG(err.empty(), "backward bias " + what + ": " + err);
    std::vector<float> dw2(w_size, 7.0f);
    convnet::conv2d_backward_weight(s, x.data(), dy.data(), dw2.data(), nullptr);
    EXPECT_MSG(dw2 == dw, "backward weight without bias differs " + what);
  }
}

}  // namespace

TEST(conv2d_matches_reference_every_isa) {
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved_threads = pool.num_threads();
  const convnet::Isa saved_isa = convnet::active_kernel_config().isa;
  pool.set_num_threads(2);
  uint32_t seed = 100;
  for (convnet::Isa isa : convnet::available_isas()) {
    convnet::set_active_isa(isa);
    for (const Conv2dShape& s : kShapes) check_conv(s, seed += 5);
  }
  convnet::set_active_isa(saved_isa);
  pool.set_num_threads(saved_threads);
}

// 1 thread: everything in order. 3: batch-parallel when N * groups >= 3, GEMM-parallel otherwise.
TEST(conv2d_matches_reference_1_to_4_threads) {
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved = pool.num_threads();
  uint32_t seed = 300;
  for (int threads = 1; threads <= 4; ++threads) {
    pool.set_num_threads(threads);
    check_conv(shape(6, 4, 9, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2), seed += 5);
    check_conv(shape(1, 8, 20, 20, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1), seed += 5);
    check_conv(shape(4, 8, 6, 6, 8, 1, 1, 1, 1, 0, 0, 1, 1, 1), seed += 5);
  }
  pool.set_num_threads(saved);
}

// Empty batches and channel-less inputs are valid (the geometry allows them): nothing to read,
// outputs still fully written.
TEST(conv2d_degenerate_sizes) {
  Conv2dShape empty_batch = shape(0, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1);
  std::vector<float> dw(4 * 3 * 9, 7.0f), dbias(4, 7.0f);
  convnet::conv2d_backward_weight(empty_batch, nullptr, nullptr, dw.data(), dbias.data());
  for (float v : dw) EXPECT(v == 0.0f);
  for (float v : dbias) EXPECT(v == 0.0f);

  Conv2dShape no_channels = shape(2, 0, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1);
  const float bias[4] = {1, 2, 3, 4};
  std::vector<float> y(2 * 4 * 25, 7.0f);
  convnet::conv2d_forward(no_channels, nullptr, nullptr, bias, y.data());
  for (size_t i = 0; i < y.size(); ++i) EXPECT(y[i] == bias[(i / 25) % 4]);
  convnet::conv2d_forward(no_channels, nullptr, nullptr, nullptr, y.data());
  for (float v : y) EXPECT(v == 0.0f);
}
