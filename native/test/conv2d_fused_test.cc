#include <string>
#include <vector>

#include "../core/activation.h"
#include "../core/conv2d.h"
#include "../core/conv2d_fused.h"
#include "../core/conv2d_winograd.h"
#include "../core/kernel_config.h"
#include "../core/pool2d.h"
#include "../core/thread_pool.h"
#include "reference.h"
#include "test_framework.h"

using convnet::Conv2dShape;
using convnet::ConvEpilogue;
using convnet::FusedActivation;
using convnet::FusedPool;
using convnet::Pool2dShape;
using convnet_test::compare;
using convnet_test::random_vector;

namespace {

Conv2dShape shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t k, int64_t stride,
                  int64_t pad, int64_t dilation, int64_t groups) {
  Conv2dShape s{n, c, h, w, o, k, k, stride, stride, pad, pad, dilation, dilation, groups, 0, 0};
  s.out_height = convnet_test::conv_out_size(h, k, stride, pad, dilation);
  s.out_width = convnet_test::conv_out_size(w, k, stride, pad, dilation);
  return s;
}

ConvEpilogue epilogue(const Conv2dShape& s, FusedActivation act, float slope, FusedPool pool,
                      int64_t k, int64_t stride, int64_t pad, bool include_pad) {
  ConvEpilogue e;
  e.activation = act;
  e.slope = slope;
  e.pool = pool;
  Pool2dShape& p = e.pool_shape;
  p = Pool2dShape{s.batch,    s.out_channels, s.out_height, s.out_width, k, k,
                  stride,     stride,         pad,          pad,         0, 0,
                  include_pad};
  p.out_height = convnet_test::conv_out_size(s.out_height, k, stride, pad, 1);
  p.out_width = convnet_test::conv_out_size(s.out_width, k, stride, pad, 1);
  return e;
}

struct Case {
  Conv2dShape s;
  ConvEpilogue e;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  const Conv2dShape conv1 = shape(9, 1, 28, 28, 32, 3, 1, 0, 1, 1);
  c.push_back({conv1, epilogue(conv1, FusedActivation::kRelu, 0, FusedPool::kMax, 2, 2, 0, true)});
  const Conv2dShape conv2 = shape(8, 32, 13, 13, 64, 3, 1, 0, 1, 1);
  c.push_back({conv2, epilogue(conv2, FusedActivation::kRelu, 0, FusedPool::kMax, 2, 2, 0, true)});
  const Conv2dShape padded = shape(8, 5, 9, 9, 20, 3, 1, 1, 1, 1);
  c.push_back(
      {padded, epilogue(padded, FusedActivation::kSigmoid, 0, FusedPool::kAvg, 3, 2, 1, false)});
  const Conv2dShape strided = shape(6, 3, 12, 11, 17, 3, 2, 2, 2, 1);
  c.push_back({strided, epilogue(strided, FusedActivation::kLeakyRelu, -0.5f, FusedPool::kMax, 2, 1,
                                 1, true)});
  c.push_back(
      {strided, epilogue(strided, FusedActivation::kTanh, 0, FusedPool::kNone, 1, 1, 0, true)});
  const Conv2dShape grouped = shape(4, 4, 8, 8, 16, 3, 1, 0, 1, 2);
  c.push_back(
      {grouped, epilogue(grouped, FusedActivation::kNone, 0, FusedPool::kMax, 2, 2, 0, true)});
  const Conv2dShape one = shape(1, 6, 10, 10, 24, 3, 1, 1, 1, 1);
  c.push_back({one, epilogue(one, FusedActivation::kRelu, 0, FusedPool::kAvg, 2, 2, 0, true)});
  // Shapes Winograd takes under the cost rule (3x3 stride 1, 16+ channels): odd outputs whose
  // pool windows leave the last row and column out (11x11 -> 5x5), clipped padded windows, no
  // pool, batch 1.
  const Conv2dShape wino = shape(3, 16, 11, 9, 20, 3, 1, 1, 1, 1);
  c.push_back({wino, epilogue(wino, FusedActivation::kNone, 0, FusedPool::kAvg, 2, 2, 1, false)});
  c.push_back({wino, epilogue(wino, FusedActivation::kTanh, 0, FusedPool::kNone, 1, 1, 0, true)});
  const Conv2dShape wino_one = shape(1, 32, 13, 13, 64, 3, 1, 0, 1, 1);
  c.push_back(
      {wino_one, epilogue(wino_one, FusedActivation::kNone, 0, FusedPool::kMax, 2, 2, 0, true)});
  c.push_back({wino_one, epilogue(wino_one, FusedActivation::kLeakyRelu, -0.5f, FusedPool::kMax, 3,
                                  2, 1, true)});
  // Pooled inside Winograd's output transform (2x2 stride 2): whole tiles (16x16 output) and
  // partial ones (9x7).
  const Conv2dShape whole = shape(2, 16, 18, 18, 16, 3, 1, 0, 1, 1);
  c.push_back({whole, epilogue(whole, FusedActivation::kNone, 0, FusedPool::kAvg, 2, 2, 0, true)});
  c.push_back({whole, epilogue(whole, FusedActivation::kRelu, 0, FusedPool::kMax, 2, 2, 0, true)});
  const Conv2dShape partial = shape(3, 20, 9, 7, 16, 3, 1, 1, 1, 1);
  c.push_back({partial, epilogue(partial, FusedActivation::kLeakyRelu, 0.1f, FusedPool::kMax, 2, 2,
                                 0, true)});
  c.push_back(
      {partial, epilogue(partial, FusedActivation::kNone, 0, FusedPool::kAvg, 2, 2, 0, true)});
  return c;
}

// conv2d_forward, the activation and the pooling kernel in turn.
std::vector<double> unfused(const Case& c, const std::vector<float>& x, const std::vector<float>& w,
                            const std::vector<float>& bias) {
  const Conv2dShape& s = c.s;
  const int64_t n = s.batch * s.out_channels * s.out_height * s.out_width;
  std::vector<float> z(n);
  convnet::conv2d_forward(s, x.data(), w.data(), bias.data(), z.data());
  switch (c.e.activation) {
    case FusedActivation::kRelu:
      convnet::relu(n, z.data(), z.data());
      break;
    case FusedActivation::kLeakyRelu:
      convnet::leaky_relu(n, z.data(), z.data(), c.e.slope);
      break;
    case FusedActivation::kSigmoid:
      convnet::sigmoid(n, z.data(), z.data());
      break;
    case FusedActivation::kTanh:
      convnet::tanh_forward(n, z.data(), z.data());
      break;
    case FusedActivation::kNone:
      break;
  }
  if (c.e.pool == FusedPool::kNone) return std::vector<double>(z.begin(), z.end());
  const Pool2dShape& p = c.e.pool_shape;
  const int64_t m = p.batch * p.channels * p.out_height * p.out_width;
  std::vector<float> y(m);
  if (c.e.pool == FusedPool::kMax) {
    std::vector<int32_t> argmax(m);
    convnet::max_pool2d(p, z.data(), y.data(), argmax.data());
  } else {
    convnet::avg_pool2d(p, z.data(), y.data());
  }
  return std::vector<double>(y.begin(), y.end());
}

// n images of c x p: [n][p][c] from [n][c][p] (to_nhwc) or the other way round.
std::vector<float> transpose(bool to_nhwc, int64_t n, int64_t c, int64_t p,
                             const std::vector<float>& a) {
  std::vector<float> out(a.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t q = 0; q < p; ++q) {
        const int64_t nchw = (i * c + ch) * p + q, nhwc = (i * p + q) * c + ch;
        if (to_nhwc) {
          out[nhwc] = a[nchw];
        } else {
          out[nchw] = a[nhwc];
        }
      }
    }
  }
  return out;
}

void check(const Case& c, uint32_t seed, const std::string& what) {
  const Conv2dShape& s = c.s;
  const std::vector<float> x =
      random_vector(s.batch * s.in_channels * s.in_height * s.in_width, seed);
  const std::vector<float> w = random_vector(
      s.out_channels * (s.in_channels / s.groups) * s.kernel_h * s.kernel_w, seed + 1);
  const std::vector<float> bias = random_vector(s.out_channels, seed + 2);
  const std::vector<double> want = unfused(c, x, w, bias);
  std::vector<float> y(want.size() + 1, 7.0f);  // the last element must stay put
  convnet::conv2d_fused_forward(s, x.data(), w.data(), bias.data(), c.e, y.data());
  EXPECT_MSG(y.back() == 7.0f, "wrote past the output " + what);
  y.pop_back();
  const std::string diff = compare(y, want, 1e-6, 1e-6);
  EXPECT_MSG(diff.empty(), what + ": " + diff);

  // Channels-last input and/or output: the same values, transposed.
  const int64_t out_pixels = c.e.pool == FusedPool::kNone
                                 ? s.out_height * s.out_width
                                 : c.e.pool_shape.out_height * c.e.pool_shape.out_width;
  const std::vector<float> x_nhwc =
      transpose(true, s.batch, s.in_channels, s.in_height * s.in_width, x);
  for (int layouts = 1; layouts < 4; ++layouts) {
    ConvEpilogue e = c.e;
    e.input_nhwc = (layouts & 1) != 0;
    e.output_nhwc = (layouts & 2) != 0;
    std::vector<float> y2(want.size());
    convnet::conv2d_fused_forward(s, (e.input_nhwc ? x_nhwc : x).data(), w.data(), bias.data(), e,
                                  y2.data());
    if (e.output_nhwc) y2 = transpose(false, s.batch, s.out_channels, out_pixels, y2);
    EXPECT_MSG(y2 == y, what + ": layouts " + std::to_string(layouts) + " differ");
  }
}

}  // namespace

TEST(conv2d_fused_equals_unfused_every_isa_and_thread_count) {
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved_threads = pool.num_threads();
  const convnet::Isa saved_isa = convnet::active_kernel_config().isa;
  uint32_t seed = 700;
  for (convnet::Isa isa : convnet::available_isas()) {
    convnet::set_active_isa(isa);
    for (int threads = 1; threads <= 3; ++threads) {
      pool.set_num_threads(threads);
      // The unfused reference follows the same algorithm choice, so equality holds under each.
      for (convnet::ConvAlgo algo :
           {convnet::ConvAlgo::kAuto, convnet::ConvAlgo::kDirect, convnet::ConvAlgo::kWinograd}) {
        convnet::set_conv_algo(algo);
        int index = 0;
        for (const Case& c : cases()) {
          check(c, seed += 5,
                "case " + std::to_string(index++) + ", " + std::to_string(threads) +
                    " thread(s), " + convnet::conv_algo_name(algo));
        }
      }
    }
  }
  convnet::set_conv_algo(convnet::ConvAlgo::kAuto);
  convnet::set_active_isa(saved_isa);
  pool.set_num_threads(saved_threads);
}

// Nothing to read: an empty batch writes nothing; no input channels leave act(pool(bias)).
TEST(conv2d_fused_degenerate_sizes) {
  const Conv2dShape empty = shape(0, 3, 6, 6, 4, 3, 1, 0, 1, 1);
  const ConvEpilogue e = epilogue(empty, FusedActivation::kRelu, 0, FusedPool::kMax, 2, 2, 0, true);
  convnet::conv2d_fused_forward(empty, nullptr, nullptr, nullptr, e, nullptr);
  const Conv2dShape no_inputs = shape(8, 0, 6, 6, 4, 3, 1, 0, 1, 1);
  check({no_inputs, epilogue(no_inputs, FusedActivation::kRelu, 0, FusedPool::kMax, 2, 2, 0, true)},
        900, "no input channels");
}

// The same through the Winograd path for wide layers, forced on these small shapes: the fused
// pass takes its output tile by tile from that path too.
TEST(conv2d_fused_equals_unfused_winograd_wide_path) {
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved_threads = pool.num_threads();
  const convnet::Isa saved_isa = convnet::active_kernel_config().isa;
  convnet::set_conv_algo(convnet::ConvAlgo::kWinograd);
  convnet::set_winograd_wide_weight_limit(0);
  uint32_t seed = 900;
  for (convnet::Isa isa : convnet::available_isas()) {
    convnet::set_active_isa(isa);
    for (int threads = 1; threads <= 2; ++threads) {
      pool.set_num_threads(threads);
      int index = 0;
      for (const Case& c : cases()) {
        check(c, seed += 5,
              "case " + std::to_string(index++) + ", " + std::to_string(threads) +
                  " thread(s), wide Winograd path");
      }
    }
  }
  convnet::set_winograd_wide_weight_limit(-1);
  convnet::set_conv_algo(convnet::ConvAlgo::kAuto);
  convnet::set_active_isa(saved_isa);
  pool.set_num_threads(saved_threads);
}
