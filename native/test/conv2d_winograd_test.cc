#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../core/conv2d.h"
#include "../core/conv2d_winograd.h"
#include "../core/isa.h"
#include "../core/kernel_config.h"
#include "../core/thread_pool.h"
#include "reference.h"
#include "test_framework.h"

using convnet::Conv2dShape;
using convnet::ConvAlgo;
using convnet_test::random_vector;

namespace {

Conv2dShape shape3x3(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t pad) {
  Conv2dShape s{n, c, h, w, o, 3, 3, 1, 1, pad, pad, 1, 1, 1, 0, 0};
  s.out_height = convnet_test::conv_out_size(h, 3, 1, pad, 1);
  s.out_width = convnet_test::conv_out_size(w, 3, 1, pad, 1);
  return s;
}

// Winograd's error grows with the transforms' coefficients rather than with the number of
// terms, so it is judged against the scale of the whole output (its largest magnitude), not
// element by element: max |got - want| <= tol * max |want|.
double scaled_error(const std::vector<float>& got, const std::vector<double>& want) {
  double scale = 0.0, err = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    scale = std::max(scale, std::abs(want[i]));
    err = std::max(err, std::abs(double(got[i]) - want[i]));
  }
  return scale == 0.0 ? err : err / scale;
}

// Relative to the output's largest magnitude: F(4x4, 3x3) in float32 stays near 1e-6 on these
// shapes; the bound leaves room for large channel counts.
constexpr double kTolerance = 2e-5;

void expect_close(const std::vector<float>& got, const std::vector<double>& want,
                  const std::string& what) {
  const double err = scaled_error(got, want);
  if (std::getenv("CONVNET_TEST_VERBOSE") != nullptr) {
    std::printf("  %s: scaled error %.3g\n", what.c_str(), err);
  }
  EXPECT_MSG(err <= kTolerance, what + ": scaled error " + std::to_string(err));
}

void check_winograd(const Conv2dShape& s, uint32_t seed, float magnitude = 1.0f) {
  const int64_t x_size = s.batch * s.in_channels * s.in_height * s.in_width;
  const int64_t w_size = s.out_channels * s.in_channels * 9;
  const int64_t y_size = s.batch * s.out_channels * s.out_height * s.out_width;
  const std::vector<float> x = random_vector(x_size, seed, -magnitude, magnitude);
  const std::vector<float> w = random_vector(w_size, seed + 1);
  const std::vector<float> bias = random_vector(s.out_channels, seed + 2);
  const std::vector<float> dy = random_vector(y_size, seed + 3, -magnitude, magnitude);
  const std::string what = convnet_test::describe(s);
  {
    std::vector<float> y(y_size, 7.0f);
    std::vector<double> want;
    convnet::conv2d_forward(s, x.data(), w.data(), bias.data(), y.data());
    convnet_test::conv2d_reference(s, x, w, bias.data(), &want);
    expect_close(y, want, "forward " + what);
  }
  {
    std::vector<float> dx(x_size, 7.0f);
    std::vector<double> want;
    convnet::conv2d_backward_input(s, dy.data(), w.data(), dx.data());
    convnet_test::conv2d_backward_input_reference(s, dy, w, &want);
    expect_close(dx, want, "backward input " + what);
  }
  {
    std::vector<float> dw(w_size, 7.0f), dbias(s.out_channels, 7.0f);
    std::vector<double> want_w, want_b;
    convnet::conv2d_backward_weight(s, x.data(), dy.data(), dw.data(), dbias.data());
    convnet_test::conv2d_backward_weight_reference(s, x, dy, &want_w, &want_b);
    expect_close(dw, want_w, "backward weight " + what);
    const std::string err = convnet_test::compare(dbias, want_b, 1e-4, 1e-5);
    EXPECT_MSG(err.empty(), "backward bias " + what + ": " + err);
  }
}

// Odd sizes, outputs smaller than a tile, one image, one channel, padding 0 to 2 (and 3: the
// input gradient's padding goes negative), channel counts off the lane width.
const Conv2dShape kShapes[] = {
    shape3x3(2, 3, 7, 6, 4, 1),     shape3x3(1, 1, 5, 5, 1, 0),    shape3x3(1, 1, 3, 3, 2, 0),
    shape3x3(3, 5, 4, 4, 7, 1),     shape3x3(1, 9, 2, 3, 11, 2),   shape3x3(2, 17, 13, 13, 33, 0),
    shape3x3(1, 16, 11, 9, 16, 2),  shape3x3(2, 8, 6, 10, 24, 3),  shape3x3(1, 32, 1, 1, 8, 1),
    shape3x3(4, 12, 17, 15, 20, 1), shape3x3(1, 64, 8, 8, 64, 1),  shape3x3(2, 40, 9, 9, 3, 1),
    shape3x3(3, 1, 12, 11, 40, 1),  shape3x3(1, 128, 4, 4, 96, 1),
};

struct AlgoScope {
  ConvAlgo saved = convnet::conv_algo();
  explicit AlgoScope(ConvAlgo algo) { convnet::set_conv_algo(algo); }
  ~AlgoScope() { convnet::set_conv_algo(saved); }
};

}  // namespace

TEST(conv2d_winograd_matches_reference_every_isa_and_thread_count) {
  AlgoScope algo(ConvAlgo::kWinograd);
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved_threads = pool.num_threads();
  const convnet::Isa saved_isa = convnet::active_kernel_config().isa;
  uint32_t seed = 700;
  for (int threads : {1, 2, 3}) {
    pool.set_num_threads(threads);
    for (convnet::Isa isa : convnet::available_isas()) {
      convnet::set_active_isa(isa);
      for (const Conv2dShape& s : kShapes) check_winograd(s, seed += 5);
    }
  }
  convnet::set_active_isa(saved_isa);
  pool.set_num_threads(saved_threads);
}

// Large values, and enough tiles for several blocks (the weight gradient accumulates across
// them; the forward passes split them over threads).
TEST(conv2d_winograd_large_values_and_many_blocks) {
  AlgoScope algo(ConvAlgo::kWinograd);
  check_winograd(shape3x3(2, 3, 7, 6, 4, 1), 901, 1e4f);
  check_winograd(shape3x3(6, 8, 40, 36, 16, 1), 907);
  check_winograd(shape3x3(2, 256, 8, 8, 256, 1), 911);
  // Enough tiles for each thread to take whole blocks of its own (3 threads: uneven shares).
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved_threads = pool.num_threads();
  for (int threads : {2, 3}) {
    pool.set_num_threads(threads);
    check_winograd(shape3x3(9, 64, 31, 30, 64, 1), 913 + threads);
  }
  pool.set_num_threads(saved_threads);
}

// The forward and input-gradient passes give the same bits for any thread count, on every
// instruction set: threads take whole blocks of tiles, or share each block's steps, and neither
// changes a tile's arithmetic. The shapes have enough tiles for blocks per thread at 2 threads
// (pad 0 to 2, sizes off the tile size, one image, channel counts off the lane width).
TEST(conv2d_winograd_same_bits_for_every_thread_count) {
  AlgoScope algo(ConvAlgo::kWinograd);
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved_threads = pool.num_threads();
  const convnet::Isa saved_isa = convnet::active_kernel_config().isa;
  const Conv2dShape shapes[] = {shape3x3(6, 63, 29, 31, 65, 1), shape3x3(3, 64, 50, 45, 64, 2),
                                shape3x3(12, 61, 26, 27, 64, 0), shape3x3(1, 64, 90, 70, 64, 1)};
  uint32_t seed = 950;
  for (convnet::Isa isa : convnet::available_isas()) {
    convnet::set_active_isa(isa);
    for (const Conv2dShape& s : shapes) {
      const std::string what = convnet_test::describe(s);
      const int64_t x_size = s.batch * s.in_channels * s.in_height * s.in_width;
      const int64_t y_size = s.batch * s.out_channels * s.out_height * s.out_width;
      const std::vector<float> x = random_vector(x_size, seed += 4);
      const std::vector<float> w = random_vector(s.out_channels * s.in_channels * 9, seed + 1);
      const std::vector<float> bias = random_vector(s.out_channels, seed + 2);
      const std::vector<float> dy = random_vector(y_size, seed + 3);
      std::vector<float> y1, dx1;
      for (int threads : {1, 2, 3}) {
        pool.set_num_threads(threads);
        std::vector<float> y(y_size, 7.0f), dx(x_size, 7.0f);
        convnet::conv2d_forward(s, x.data(), w.data(), bias.data(), y.data());
        convnet::conv2d_backward_input(s, dy.data(), w.data(), dx.data());
        if (threads == 1) {
          y1 = y;
          dx1 = dx;
          continue;
        }
        const std::string at =
            " " + what + " " + convnet::isa_name(isa) + ", " + std::to_string(threads) + " threads";
        EXPECT_MSG(std::memcmp(y.data(), y1.data(), y.size() * sizeof(float)) == 0,
                   "forward differs from 1 thread:" + at);
        EXPECT_MSG(std::memcmp(dx.data(), dx1.data(), dx.size() * sizeof(float)) == 0,
                   "backward input differs from 1 thread:" + at);
      }
    }
  }
  convnet::set_active_isa(saved_isa);
  pool.set_num_threads(saved_threads);
  // And right, on the shapes with most partial tiles.
  pool.set_num_threads(2);
  check_winograd(shapes[0], 990);
  check_winograd(shapes[1], 994);
  pool.set_num_threads(saved_threads);
}

TEST(conv2d_winograd_algo_names) {
  for (ConvAlgo a : {ConvAlgo::kAuto, ConvAlgo::kDirect, ConvAlgo::kWinograd}) {
    EXPECT(convnet::parse_conv_algo(convnet::conv_algo_name(a)) == a);
  }
  EXPECT(!convnet::parse_conv_algo("fast").has_value());
}

// The switch keeps supported shapes off Winograd, and unsupported shapes never take it.
TEST(conv2d_winograd_dispatch) {
  const Conv2dShape s = shape3x3(1, 32, 8, 8, 32, 1);
  const std::vector<float> x = random_vector(32 * 64, 1), w = random_vector(32 * 32 * 9, 2);
  std::vector<float> y(32 * 64);
  {
    AlgoScope algo(ConvAlgo::kDirect);
    EXPECT(!convnet::conv2d_forward_winograd(s, x.data(), w.data(), nullptr, y.data()));
  }
  {
    AlgoScope algo(ConvAlgo::kWinograd);
    EXPECT(convnet::conv2d_forward_winograd(s, x.data(), w.data(), nullptr, y.data()));
    Conv2dShape strided = s;
    strided.stride_h = strided.stride_w = 2;
    strided.out_height = strided.out_width = 4;
    EXPECT(!convnet::conv2d_forward_winograd(strided, x.data(), w.data(), nullptr, y.data()));
  }
}

namespace {

// Sets the wide-layer path's weight bound for one scope (0: every shape takes the path).
struct WideLimitScope {
  explicit WideLimitScope(int64_t floats) { convnet::set_winograd_wide_weight_limit(floats); }
  ~WideLimitScope() { convnet::set_winograd_wide_weight_limit(-1); }
};

// Odd channel counts (not multiples of mr, nr or the lanes), one image, padding 0 to 2, fewer
// and more tiles than a GEMM panel holds.
const Conv2dShape kWideShapes[] = {
    shape3x3(1, 37, 6, 6, 70, 0),  shape3x3(1, 37, 5, 7, 70, 1), shape3x3(2, 70, 4, 4, 37, 2),
    shape3x3(3, 19, 9, 11, 13, 1), shape3x3(1, 8, 3, 3, 5, 1),   shape3x3(5, 33, 8, 8, 47, 1),
};

struct Passes {
  std::vector<float> y, dx;
};

Passes forward_and_input_grad(const Conv2dShape& s, uint32_t seed) {
  const int64_t x_size = s.batch * s.in_channels * s.in_height * s.in_width;
  const int64_t y_size = s.batch * s.out_channels * s.out_height * s.out_width;
  const std::vector<float> x = random_vector(x_size, seed);
  const std::vector<float> w = random_vector(s.out_channels * s.in_channels * 9, seed + 1);
  const std::vector<float> bias = random_vector(s.out_channels, seed + 2);
  const std::vector<float> dy = random_vector(y_size, seed + 3);
  Passes p{std::vector<float>(y_size), std::vector<float>(x_size)};
  convnet::conv2d_forward(s, x.data(), w.data(), bias.data(), p.y.data());
  convnet::conv2d_backward_input(s, dy.data(), w.data(), p.dx.data());
  return p;
}

}  // namespace

TEST(conv2d_winograd_wide_path_matches_reference_every_isa_and_thread_count) {
  AlgoScope algo(ConvAlgo::kWinograd);
  WideLimitScope wide(0);
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved_threads = pool.num_threads();
  const convnet::Isa saved_isa = convnet::active_kernel_config().isa;
  uint32_t seed = 1700;
  for (int threads : {1, 2, 3}) {
    pool.set_num_threads(threads);
    for (convnet::Isa isa : convnet::available_isas()) {
      convnet::set_active_isa(isa);
      for (const Conv2dShape& s : kWideShapes) check_winograd(s, seed += 5);
      for (const Conv2dShape& s : kShapes) check_winograd(s, seed += 5);
    }
  }
  convnet::set_active_isa(saved_isa);
  pool.set_num_threads(saved_threads);
}

// More depth than one task's buffer holds (the GEMMs accumulate over slices of it) for each
// pass, and more tiles than one block of the path takes.
TEST(conv2d_winograd_wide_path_depth_slices_and_tile_blocks) {
  AlgoScope algo(ConvAlgo::kWinograd);
  WideLimitScope wide(0);
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved_threads = pool.num_threads();
  const convnet::Isa saved_isa = convnet::active_kernel_config().isa;
  uint32_t seed = 2000;
  for (convnet::Isa isa : convnet::available_isas()) {
    convnet::set_active_isa(isa);
    for (int threads : {1, 2}) {
      pool.set_num_threads(threads);
      check_winograd(shape3x3(1, 1000, 4, 4, 5, 1), seed += 5);
      check_winograd(shape3x3(1, 5, 5, 5, 1000, 0), seed += 5);
    }
  }
  convnet::set_active_isa(saved_isa);
  pool.set_num_threads(2);
  check_winograd(shape3x3(14, 1000, 16, 16, 5, 1), seed += 5);
  pool.set_num_threads(saved_threads);
}

// Each output is summed in the same order whatever the number of threads.
TEST(conv2d_winograd_wide_path_same_bits_for_any_thread_count) {
  AlgoScope algo(ConvAlgo::kWinograd);
  WideLimitScope wide(0);
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved_threads = pool.num_threads();
  const convnet::Isa saved_isa = convnet::active_kernel_config().isa;
  for (convnet::Isa isa : convnet::available_isas()) {
    convnet::set_active_isa(isa);
    for (const Conv2dShape& s : {shape3x3(2, 37, 9, 9, 70, 1), shape3x3(3, 64, 8, 8, 100, 1)}) {
      pool.set_num_threads(1);
      const Passes one = forward_and_input_grad(s, 1800);
      for (int threads : {2, 3}) {
        pool.set_num_threads(threads);
        const Passes many = forward_and_input_grad(s, 1800);
        const std::string what = convnet_test::describe(s) + ", " + std::to_string(threads) +
                                 " threads, " + convnet::isa_name(isa);
        EXPECT_MSG(many.y == one.y, "forward differs from 1 thread: " + what);
        EXPECT_MSG(many.dx == one.dx, "backward input differs from 1 thread: " + what);
      }
    }
  }
  convnet::set_active_isa(saved_isa);
  pool.set_num_threads(saved_threads);
}

// Under the default bound the path is taken just above it (36 * 171 * 171 floats of
// transformed weights) and not just below (36 * 170 * 171): each gives the same bits as the
// path forced on or off, and both match the reference.
TEST(conv2d_winograd_wide_path_selection_rule) {
  AlgoScope algo(ConvAlgo::kWinograd);
  const Conv2dShape above = shape3x3(1, 171, 4, 5, 171, 1), below = shape3x3(1, 170, 4, 5, 171, 1);
  const Passes got_above = forward_and_input_grad(above, 1900);
  const Passes got_below = forward_and_input_grad(below, 1910);
  {
    WideLimitScope wide(0);
    const Passes forced = forward_and_input_grad(above, 1900);
    EXPECT_MSG(forced.y == got_above.y && forced.dx == got_above.dx,
               "171 -> 171 should take the wide path");
  }
  {
    WideLimitScope off(int64_t{1} << 40);
    const Passes forced = forward_and_input_grad(below, 1910);
    EXPECT_MSG(forced.y == got_below.y && forced.dx == got_below.dx,
               "170 -> 171 should keep the whole transformed weights");
  }
  check_winograd(above, 1920);
  check_winograd(below, 1930);
}

// The weight gradient with several blocks of tiles (dU accumulated across them, the last
// block going straight into dw) and with one (dU only in per-task buffers), on every ISA.
TEST(conv2d_winograd_weight_gradient_blocks_every_isa) {
  AlgoScope algo(ConvAlgo::kWinograd);
  const convnet::Isa saved_isa = convnet::active_kernel_config().isa;
  uint32_t seed = 1200;
  for (convnet::Isa isa : convnet::available_isas()) {
    convnet::set_active_isa(isa);
    check_winograd(shape3x3(8, 8, 128, 128, 8, 1), seed += 5);  // 8192 tiles: several blocks
    check_winograd(shape3x3(3, 20, 9, 11, 33, 1), seed += 5);
    check_winograd(shape3x3(1, 72, 7, 5, 70, 2), seed += 5);
  }
  convnet::set_active_isa(saved_isa);
}

// The weight and bias gradients are the same, bit for bit, for any number of threads: the
// sums over tiles run in an order fixed by the shape alone.
TEST(conv2d_winograd_weight_gradient_same_for_any_thread_count) {
  AlgoScope algo(ConvAlgo::kWinograd);
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved_threads = pool.num_threads();
  const convnet::Isa saved_isa = convnet::active_kernel_config().isa;
  const Conv2dShape shapes[] = {shape3x3(8, 8, 128, 128, 8, 1), shape3x3(3, 20, 9, 11, 33, 1),
                                shape3x3(2, 64, 8, 8, 96, 0)};
  uint32_t seed = 1300;
  for (convnet::Isa isa : convnet::available_isas()) {
    convnet::set_active_isa(isa);
    for (const Conv2dShape& s : shapes) {
      const int64_t x_size = s.batch * s.in_channels * s.in_height * s.in_width;
      const int64_t y_size = s.batch * s.out_channels * s.out_height * s.out_width;
      const int64_t w_size = s.out_channels * s.in_channels * 9;
      const std::vector<float> x = random_vector(x_size, seed += 2);
      const std::vector<float> dy = random_vector(y_size, seed + 1);
      std::vector<float> want_w, want_b;
      for (int threads : {1, 2, 3}) {
        pool.set_num_threads(threads);
        std::vector<float> dw(w_size, 7.0f), dbias(s.out_channels, 7.0f);
        convnet::conv2d_backward_weight(s, x.data(), dy.data(), dw.data(), dbias.data());
        if (threads == 1) {
          want_w = dw;
          want_b = dbias;
          continue;
        }
        const std::string what = convnet_test::describe(s) + ", " + std::to_string(threads) +
                                 " threads, " + convnet::isa_name(isa);
        EXPECT_MSG(dw == want_w, "weight gradient differs from 1 thread's: " + what);
        EXPECT_MSG(dbias == want_b, "bias gradient differs from 1 thread's: " + what);
      }
    }
  }
  convnet::set_active_isa(saved_isa);
  pool.set_num_threads(saved_threads);
}
