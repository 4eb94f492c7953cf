#include "conv2d_fused.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "activation.h"
#include "conv2d_winograd.h"
#include "indirect_gemm.h"
#include "kernel_config.h"
#include "scratch_arena.h"
#include "thread_pool.h"

namespace convnet {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// One image's convolution output is kept in per-thread scratch while the epilogue reads it;
// beyond this many floats it no longer fits in L2 and the fusion stops paying.
constexpr int64_t kMaxScratchFloats = int64_t{1} << 20;
// Beyond this tile rounding (as conv2d_implicit.cc measures it) the unfused kernels waste less.
constexpr double kMaxTileCost = 1.6;

int64_t out_count(const Conv2dShape& s) {
  return s.batch * s.out_channels * s.out_height * s.out_width;
}

// out = act(in) for n floats (in == out allowed).
void activate(const ConvEpilogue& e, int64_t n, const float* in, float* out) {
  switch (e.activation) {
    case FusedActivation::kNone:
      if (in != out) std::memcpy(out, in, size_t(n) * sizeof(float));
      return;
    case FusedActivation::kRelu:
      relu(n, in, out);
      return;
    case FusedActivation::kLeakyRelu:
      leaky_relu(n, in, out, e.slope);
      return;
    case FusedActivation::kSigmoid:
      sigmoid(n, in, out);
      return;
    case FusedActivation::kTanh:
      tanh_forward(n, in, out);
      return;
  }
}

void activate(const ConvEpilogue& e, int64_t n, float* v) { activate(e, n, v, v); }

// dst[n][c][p] = src[n][p][c] (to_nchw) or the other way round, for n images of c x p.
void transpose_images(bool to_nchw, int64_t n, int64_t channels, int64_t pixels, const float* src,
                      float* dst) {
  parallel_range(n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* s = src + i * channels * pixels;
      float* d = dst + i * channels * pixels;
      for (int64_t c = 0; c < channels; ++c) {
        for (int64_t p = 0; p < pixels; ++p) {
          if (to_nchw) {
            d[c * pixels + p] = s[p * channels + c];
          } else {
            d[p * channels + c] = s[c * pixels + p];
          }
        }
      }
    }
  });
}

// The three kernels one after the other over the whole batch: the shapes the fused form does not
// take (grouped convolutions, few output channels, batches too small to share out).
void forward_unfused(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                     const ConvEpilogue& e, float* y) {
  std::unique_ptr<float[]> x_nchw;
  if (e.input_nhwc) {
    const int64_t pixels = s.in_height * s.in_width;
    x_nchw.reset(new float[size_t(s.batch * s.in_channels * pixels)]);
    transpose_images(true, s.batch, s.in_channels, pixels, x, x_nchw.get());
    x = x_nchw.get();
  }
  const bool pooled = e.pool != FusedPool::kNone;
  const Pool2dShape& ps = e.pool_shape;
  const int64_t out_pixels = pooled ? ps.out_height * ps.out_width : s.out_height * s.out_width;
  std::unique_ptr<float[]> y_nchw;
  float* out = y;
  if (e.output_nhwc) {
    y_nchw.reset(new float[size_t(s.batch * s.out_channels * out_pixels)]);
    out = y_nchw.get();
  }
  if (!pooled) {
    conv2d_forward(s, x, w, bias, out);
    activate(e, out_count(s), out);
  } else {
    const std::unique_ptr<float[]> z(new float[size_t(out_count(s))]);
    conv2d_forward(s, x, w, bias, z.get());
    activate(e, out_count(s), z.get());
    if (e.pool == FusedPool::kMax) {
      const std::unique_ptr<int32_t[]> argmax(
          new int32_t[size_t(ps.batch * ps.channels * out_pixels)]);
      max_pool2d(ps, z.get(), out, argmax.get());
    } else {
      avg_pool2d(ps, z.get(), out);
    }
  }
  if (e.output_nhwc) transpose_images(false, s.batch, s.out_channels, out_pixels, out, y);
}

// Geometry of the fused form: per image, the convolution as an indirect GEMM with output pixels
// as rows (read in place through pointers, as conv2d_implicit.cc's indirect form) and output
// channels as columns (packed weights), stored pixel-major into scratch: S[p * ldc + o].
struct Plan {
  int64_t k;       // taps per output channel: C * KH * KW
  int64_t p;       // output pixels per image
  int64_t panels;  // weight panels of nr channels
  int64_t ldc;     // panels * nr
  int64_t tiles;   // pixel tiles of mr rows
  bool padded;
  int64_t wp, plane;  // row length and plane size of the input as read (padded when padding)
  // Floats between neighbouring input pixels, rows and channels: 1, wp, plane in NCHW;
  // C, wp * C, 1 in NHWC.
  int64_t pixel_step, row_step, channel_step;
};

Plan make_plan(const KernelConfig& cfg, const Conv2dShape& s, bool input_nhwc) {
  Plan pl;
  pl.k = s.in_channels * s.kernel_h * s.kernel_w;
  pl.p = s.out_height * s.out_width;
  pl.panels = ceil_div(s.out_channels, cfg.nr);
  pl.ldc = pl.panels * cfg.nr;
  pl.tiles = ceil_div(pl.p, cfg.mr);
  pl.padded = s.pad_h > 0 || s.pad_w > 0;
  pl.wp = pl.padded ? s.in_width + 2 * s.pad_w : s.in_width;
  pl.plane = pl.padded ? (s.in_height + 2 * s.pad_h) * pl.wp : s.in_height * s.in_width;
  pl.pixel_step = input_nhwc ? s.in_channels : 1;
  pl.row_step = pl.wp * pl.pixel_step;
  pl.channel_step = input_nhwc ? 1 : pl.plane;
  return pl;
}

bool fused_form_fits(const KernelConfig& cfg, const Conv2dShape& s, const Plan& pl) {
  if (s.groups != 1 || pl.k == 0) return false;
  const ThreadPool& pool = ThreadPool::global();
  // Images are the unit of work: too few of them leave threads idle, which the unfused kernels
  // (parallel inside one image) avoid.
  if (pool.num_threads() > 1 && s.batch < 2 * int64_t(pool.num_threads())) return false;
  if (pl.tiles * cfg.mr * pl.ldc > kMaxScratchFloats) return false;
  const double cost =
      double(pl.tiles * cfg.mr) / double(pl.p) * double(pl.ldc) / double(s.out_channels);
  return cost <= kMaxTileCost;
}

// Images per task. Pixel tiles run on across image boundaries, so a group of images can waste
// fewer tile rows than one (121 pixels make 126 rows of 6, 4 images 486 rows for 484); the
// group is also sized so that the tasks split evenly over the threads, and stays in L2.
int64_t images_per_task(const KernelConfig& cfg, const Conv2dShape& s, const Plan& pl) {
  constexpr int64_t kMaxGroup = 8;
  constexpr int64_t kMaxGroupFloats = int64_t{1} << 17;
  const int64_t threads = ThreadPool::global().num_threads();
  int64_t best = 1;
  double best_cost = 0.0;
  for (int64_t g = 1; g <= std::min(kMaxGroup, s.batch); ++g) {
    if (g > 1 && g * pl.p * pl.ldc > kMaxGroupFloats) break;
    const double rows = double(ceil_div(g * pl.p, cfg.mr) * cfg.mr) / double(g * pl.p);
    const int64_t rounds = ceil_div(ceil_div(s.batch, g), threads);
    const double balance = double(rounds * g * threads) / double(s.batch);
    const double cost = rows * balance;
    if (g == 1 || cost < best_cost - 1e-9) {
      best = g;
      best_cost = cost;
    }
  }
  return best;
}

// Copies one image into dst with a zero border of the padding, in its layout.
void pad_image(const Conv2dShape& s, const Plan& pl, bool nhwc, const float* src, float* dst) {
  const int64_t h = s.in_height, w = s.in_width;
  // NHWC is one plane of pixels C floats wide; NCHW is C planes of pixels one float wide.
  const int64_t planes = nhwc ? 1 : s.in_channels, width = nhwc ? s.in_channels : 1;
  const int64_t wp = pl.wp * width, pad_w = s.pad_w * width, row = w * width;
  const int64_t plane = (h + 2 * s.pad_h) * wp;
  for (int64_t c = 0; c < planes; ++c) {
    float* d = dst + c * plane;
    const float* xc = src + c * h * row;
    std::fill(d, d + s.pad_h * wp, 0.0f);
    for (int64_t r = 0; r < h; ++r) {
      float* dr = d + (r + s.pad_h) * wp;
      std::fill(dr, dr + pad_w, 0.0f);
      std::memcpy(dr + pad_w, xc + r * row, size_t(row) * sizeof(float));
      std::fill(dr + pad_w + row, dr + wp, 0.0f);
    }
    std::fill(d + (s.pad_h + h) * wp, d + plane, 0.0f);
  }
}

// The activation of the first `channels` columns of `count` rows of stride ldc (the padding
// columns past them may be uninitialized).
void activate_rows(const ConvEpilogue& e, int64_t count, int64_t channels, int64_t ldc,
                   float* rows) {
  if (e.activation == FusedActivation::kNone) return;
  if (ldc == channels) {
    activate(e, count * channels, rows);
    return;
  }
  for (int64_t p = 0; p < count; ++p) activate(e, channels, rows + p * ldc);
}

// rows[p][o] += bias[o] for the first `channels` columns of `count` rows of stride ldc.
void add_bias(const float* bias, int64_t count, int64_t channels, int64_t ldc, float* rows) {
  if (bias == nullptr) return;
  for (int64_t p = 0; p < count; ++p) {
    float* r = rows + p * ldc;
    for (int64_t o = 0; o < channels; ++o) r[o] += bias[o];
  }
}

// dst[o * count + p] = rows[p * ldc + o]: pixel-major scratch to one NCHW image.
void store_planes(const float* rows, int64_t count, int64_t channels, int64_t ldc,
                  float* __restrict dst) {
  int64_t o0 = 0;
#if defined(__SSE2__)
  // 4x4 blocks transposed in registers (SSE2 is the x86-64 baseline), four output planes at a
  // time so that each is written front to back.
  const int64_t p_end = count & ~int64_t{3};
  for (; o0 + 4 <= channels; o0 += 4) {
    float* d0 = dst + o0 * count;
    float* d1 = d0 + count;
    float* d2 = d1 + count;
    float* d3 = d2 + count;
    for (int64_t p = 0; p < p_end; p += 4) {
      const float* r = rows + p * ldc + o0;
      __m128 v0 = _mm_loadu_ps(r), v1 = _mm_loadu_ps(r + ldc);
      __m128 v2 = _mm_loadu_ps(r + 2 * ldc), v3 = _mm_loadu_ps(r + 3 * ldc);
      _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
      _mm_storeu_ps(d0 + p, v0);
      _mm_storeu_ps(d1 + p, v1);
      _mm_storeu_ps(d2 + p, v2);
      _mm_storeu_ps(d3 + p, v3);
    }
    for (int64_t p = p_end; p < count; ++p) {
      const float* r = rows + p * ldc + o0;
      d0[p] = r[0];
      d1[p] = r[1];
      d2[p] = r[2];
      d3[p] = r[3];
    }
  }
#endif
  for (int64_t o = o0; o < channels; ++o) {
    float* d = dst + o * count;
    for (int64_t p = 0; p < count; ++p) d[p] = rows[p * ldc + o];
  }
}

// A window element that may win: NaN always does (the last one), otherwise only a strictly
// greater value, so ties keep the first (pool2d.cc's rule). Selects, so that loops vectorize.
inline float take_if_better(float v, float best) { return (v > best || v != v) ? v : best; }

// Pools pixel-major rows (in_height * in_width of them) into pixel-major out, channels in the
// inner loop. Max: take_if_better over the window in row-major order; average: the window
// summed in row-major order from 0, divided by its count (both exactly as pool2d.cc).
void pool_rows(const Pool2dShape& ps, FusedPool kind, const float* in, int64_t channels,
               int64_t ldc, float* __restrict out, int64_t out_ldc) {
  for (int64_t oh = 0; oh < ps.out_height; ++oh) {
    for (int64_t ow = 0; ow < ps.out_width; ++ow) {
      const PoolWindow win = pool_window(ps, oh, ow);
      float* __restrict t = out + (oh * ps.out_width + ow) * out_ldc;
      if (win.h1 - win.h0 == 2 && win.w1 - win.w0 == 2) {
        // The common 2x2 window, in registers.
        const float* a = in + (win.h0 * ps.in_width + win.w0) * ldc;
        const float* b = a + ldc;
        const float* c = a + ps.in_width * ldc;
        const float* d = c + ldc;
        if (kind == FusedPool::kMax) {
          for (int64_t o = 0; o < channels; ++o) {
            float best = a[o];
            best = take_if_better(b[o], best);
            best = take_if_better(c[o], best);
            t[o] = take_if_better(d[o], best);
          }
        } else {
          const float n = float(win.count);
          for (int64_t o = 0; o < channels; ++o) t[o] = (0.0f + a[o] + b[o] + c[o] + d[o]) / n;
        }
        continue;
      }
      if (kind == FusedPool::kMax) {
        std::fill(t, t + channels, -std::numeric_limits<float>::infinity());
        for (int64_t h = win.h0; h < win.h1; ++h) {
          for (int64_t w = win.w0; w < win.w1; ++w) {
            const float* v = in + (h * ps.in_width + w) * ldc;
            for (int64_t o = 0; o < channels; ++o) t[o] = take_if_better(v[o], t[o]);
          }
        }
      } else {
        std::fill(t, t + channels, 0.0f);
        for (int64_t h = win.h0; h < win.h1; ++h) {
          for (int64_t w = win.w0; w < win.w1; ++w) {
            const float* v = in + (h * ps.in_width + w) * ldc;
            for (int64_t o = 0; o < channels; ++o) t[o] += v[o];
          }
        }
        if (win.count > 0) {
          const float n = float(win.count);
          for (int64_t o = 0; o < channels; ++o) t[o] = t[o] / n;
        } else {
          std::fill(t, t + channels, 0.0f);
        }
      }
    }
  }
}

// Max pooling commutes with adding a per-channel constant and with a non-decreasing activation
// that keeps NaN (rounding is monotonic too), so those run on the pooled values: a quarter of
// the work for 2x2 windows. An infinite bias could turn a losing -inf into NaN: not then.
bool pool_before_activation(const ConvEpilogue& e, const float* bias, int64_t channels) {
  if (e.pool != FusedPool::kMax) return false;
  const bool monotonic = e.activation == FusedActivation::kNone ||
                         e.activation == FusedActivation::kRelu ||
                         (e.activation == FusedActivation::kLeakyRelu && e.slope >= 0.0f);
  if (!monotonic) return false;
  if (bias == nullptr) return true;
  for (int64_t o = 0; o < channels; ++o) {
    if (!std::isfinite(bias[o])) return false;
  }
  return true;
}

// Pools NCHW planes (`channels` of ps.in_height * ps.in_width) into NCHW planes, window by
// window as pool_rows does (same order of comparisons and additions as pool2d.cc).
#if defined(__SSE2__)
// take_if_better on four lanes, with masks instead of branches.
inline __m128 take_if_better4(__m128 v, __m128 best) {
  const __m128 take = _mm_or_ps(_mm_cmpgt_ps(v, best), _mm_cmpunord_ps(v, v));
  return _mm_or_ps(_mm_and_ps(take, v), _mm_andnot_ps(take, best));
}
#endif

// The 2x2 stride-2 unpadded pool (the usual one) of pooled row oh, four outputs at a time: the
// window's elements in pool2d.cc's order, a[0], a[1], c[0], c[1], with masks instead of the
// branches a scalar loop compiles to (random data mispredicts half of them).
void pool_row_2x2(const Pool2dShape& ps, FusedPool kind, const float* src, int64_t oh,
                  float* __restrict dst) {
  const float* a = src + 2 * oh * ps.in_width;
  const float* c = a + ps.in_width;
  int64_t ow = 0;
#if defined(__SSE2__)
  const __m128 four = _mm_set1_ps(4.0f);
  for (; 2 * ow + 8 <= ps.in_width; ow += 4) {
    const __m128 a0 = _mm_loadu_ps(a + 2 * ow), a1 = _mm_loadu_ps(a + 2 * ow + 4);
    const __m128 c0 = _mm_loadu_ps(c + 2 * ow), c1 = _mm_loadu_ps(c + 2 * ow + 4);
    const __m128 a_even = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 a_odd = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1));
    const __m128 c_even = _mm_shuffle_ps(c0, c1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m128 c_odd = _mm_shuffle_ps(c0, c1, _MM_SHUFFLE(3, 1, 3, 1));
    __m128 r;
    if (kind == FusedPool::kMax) {
      r = take_if_better4(a_odd, a_even);
      r = take_if_better4(c_even, r);
      r = take_if_better4(c_odd, r);
    } else {
      r = _mm_add_ps(_mm_add_ps(_mm_setzero_ps(), a_even), a_odd);
      r = _mm_div_ps(_mm_add_ps(_mm_add_ps(r, c_even), c_odd), four);
    }
    _mm_storeu_ps(dst + ow, r);
  }
#endif
  for (; ow < ps.out_width; ++ow) {
    const float* p = a + 2 * ow;
    const float* q = c + 2 * ow;
    if (kind == FusedPool::kMax) {
      float best = p[0];
      best = take_if_better(p[1], best);
      best = take_if_better(q[0], best);
      dst[ow] = take_if_better(q[1], best);
    } else {
      dst[ow] = (0.0f + p[0] + p[1] + q[0] + q[1]) / 4.0f;
    }
  }
}

void pool_planes(const Pool2dShape& ps, FusedPool kind, const PoolWindow* windows, const float* in,
                 int64_t channels, float* __restrict out) {
  const int64_t in_plane = ps.in_height * ps.in_width, out_plane = ps.out_height * ps.out_width;
  // Every window whole and 2x2 (floor division may leave the last row and column out).
  if (ps.kernel_h == 2 && ps.kernel_w == 2 && ps.stride_h == 2 && ps.stride_w == 2 &&
      ps.pad_h == 0 && ps.pad_w == 0) {
    for (int64_t o = 0; o < channels; ++o) {
      for (int64_t oh = 0; oh < ps.out_height; ++oh) {
        pool_row_2x2(ps, kind, in + o * in_plane, oh, out + o * out_plane + oh * ps.out_width);
      }
    }
    return;
  }
  for (int64_t o = 0; o < channels; ++o) {
    const float* src = in + o * in_plane;
    float* __restrict dst = out + o * out_plane;
    for (int64_t q = 0; q < out_plane; ++q) {
      const PoolWindow& win = windows[q];
      if (win.h1 - win.h0 == 2 && win.w1 - win.w0 == 2) {
        const float* a = src + win.h0 * ps.in_width + win.w0;
        const float* c = a + ps.in_width;
        if (kind == FusedPool::kMax) {
          float best = a[0];
          best = take_if_better(a[1], best);
          best = take_if_better(c[0], best);
          dst[q] = take_if_better(c[1], best);
        } else {
          dst[q] = (0.0f + a[0] + a[1] + c[0] + c[1]) / float(win.count);
        }
        continue;
      }
      float acc = kind == FusedPool::kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
      for (int64_t h = win.h0; h < win.h1; ++h) {
        for (int64_t w = win.w0; w < win.w1; ++w) {
          const float v = src[h * ps.in_width + w];
          acc = kind == FusedPool::kMax ? take_if_better(v, acc) : acc + v;
        }
      }
      if (kind == FusedPool::kAvg) acc = win.count > 0 ? acc / float(win.count) : 0.0f;
      dst[q] = acc;
    }
  }
}

// dst[p * channels + c] = src[c * pixels + p]: one NCHW image to NHWC.
void planes_to_rows(const float* src, int64_t channels, int64_t pixels, float* __restrict dst) {
  for (int64_t p = 0; p < pixels; ++p) {
    for (int64_t c = 0; c < channels; ++c) dst[p * channels + c] = src[c * pixels + p];
  }
}

// The pooled output, written straight from Winograd's output tiles: a 2x2 stride-2 unpadded
// window always lies inside one 4x4 tile (tiles start at multiples of 4), so each tile yields
// its (up to) 2x2 pooled pixels and the convolution's output is never stored.
struct TilePool {
  float* y;
  int64_t channels, out_height, out_width;
  bool nhwc;
  FusedPool kind;
};

void pool_tile(void* context, int64_t image, int64_t channel, int64_t row, int64_t col,
               const float* tile) {
  const TilePool& tp = *static_cast<const TilePool*>(context);
  constexpr int64_t kT = kWinogradTile;
  static_assert(kT == 4, "one SSE register per tile row");
  // pooled[i * 2 + j]: the window of tile rows 2i, 2i+1 and columns 2j, 2j+1, its elements
  // in pool2d.cc's order (a[0], a[1], c[0], c[1]).
  alignas(16) float pooled[4];
#if defined(__SSE2__)
  const __m128 r0 = _mm_loadu_ps(tile), r1 = _mm_loadu_ps(tile + kT);
  const __m128 r2 = _mm_loadu_ps(tile + 2 * kT), r3 = _mm_loadu_ps(tile + 3 * kT);
  const __m128 a0 = _mm_shuffle_ps(r0, r2, _MM_SHUFFLE(2, 0, 2, 0));
  const __m128 a1 = _mm_shuffle_ps(r0, r2, _MM_SHUFFLE(3, 1, 3, 1));
  const __m128 c0 = _mm_shuffle_ps(r1, r3, _MM_SHUFFLE(2, 0, 2, 0));
  const __m128 c1 = _mm_shuffle_ps(r1, r3, _MM_SHUFFLE(3, 1, 3, 1));
  __m128 v;
  if (tp.kind == FusedPool::kMax) {
    v = take_if_better4(c1, take_if_better4(c0, take_if_better4(a1, a0)));
  } else {
    v = _mm_add_ps(_mm_add_ps(_mm_setzero_ps(), a0), a1);
    v = _mm_div_ps(_mm_add_ps(_mm_add_ps(v, c0), c1), _mm_set1_ps(4.0f));
  }
  _mm_store_ps(pooled, v);
#else
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 2; ++j) {
      const float* a = tile + 2 * i * kT + 2 * j;
      const float* c = a + kT;
      float v;
      if (tp.kind == FusedPool::kMax) {
        v = take_if_better(c[1], take_if_better(c[0], take_if_better(a[1], a[0])));
      } else {
        v = (0.0f + a[0] + a[1] + c[0] + c[1]) / 4.0f;
      }
      pooled[i * 2 + j] = v;
    }
  }
#endif
  const int64_t ph0 = row / 2, pw0 = col / 2, pooled_plane = tp.out_height * tp.out_width;
  const int64_t rows = std::min<int64_t>(2, tp.out_height - ph0);
  const int64_t cols = std::min<int64_t>(2, tp.out_width - pw0);
  if (tp.nhwc) {
    float* base = tp.y + image * pooled_plane * tp.channels + channel;
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        base[((ph0 + i) * tp.out_width + pw0 + j) * tp.channels] = pooled[i * 2 + j];
      }
    }
    return;
  }
  float* base = tp.y + (image * tp.channels + channel) * pooled_plane + ph0 * tp.out_width + pw0;
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) base[i * tp.out_width + j] = pooled[i * 2 + j];
  }
}

// Shapes that conv2d_forward would give to Winograd: its convolution of the whole batch (bias
// included) into scratch, then the activation and pooling image by image. Winograd's tiles
// cut the multiplies by four, more than the fused direct loop gains by keeping each image's
// output in cache; the result is exactly the unfused path's, as both convolve alike.
void forward_winograd(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                      const ConvEpilogue& e, float* y) {
  const int64_t O = s.out_channels, conv_pixels = s.out_height * s.out_width;
  const Pool2dShape& ps = e.pool_shape;
  const bool pooled = e.pool != FusedPool::kNone;
  const int64_t out_pixels = pooled ? ps.out_height * ps.out_width : conv_pixels;
  // Bias is already in the convolution's output, so only the activation's kind matters here.
  const bool pool_first = pool_before_activation(e, nullptr, O);

  ScratchArena::Scope scope;
  ScratchArena& arena = ScratchArena::local();
  if (e.input_nhwc) {
    const int64_t pixels = s.in_height * s.in_width;
    float* x_nchw = arena.allocate_floats(s.batch * s.in_channels * pixels);
    transpose_images(true, s.batch, s.in_channels, pixels, x, x_nchw);
    x = x_nchw;
  }
  // The pool inside the output transform when the activation may follow it (or there is none).
  if (pooled && ps.kernel_h == 2 && ps.kernel_w == 2 && ps.stride_h == 2 && ps.stride_w == 2 &&
      ps.pad_h == 0 && ps.pad_w == 0 && (pool_first || e.activation == FusedActivation::kNone)) {
    TilePool tp{y, O, ps.out_height, ps.out_width, e.output_nhwc, e.pool};
    if (!conv2d_forward_winograd_tiles(s, x, w, bias, WinogradTileSink{pool_tile, &tp})) {
      throw std::logic_error("conv2d_fused_forward: Winograd declined a shape it selected");
    }
    if (e.activation != FusedActivation::kNone) {
      parallel_range(s.batch, 8, [&](int64_t begin, int64_t end) {
        activate(e, (end - begin) * O * out_pixels, y + begin * O * out_pixels);
      });
    }
    return;
  }
  // Straight into y when nothing follows in NCHW; else whole-batch scratch.
  const bool in_place = !pooled && !e.output_nhwc;
  float* z = in_place ? y : arena.allocate_floats(s.batch * O * conv_pixels);
  if (!conv2d_forward_winograd(s, x, w, bias, z)) {
    throw std::logic_error("conv2d_fused_forward: Winograd declined a shape it selected");
  }
  PoolWindow* windows = nullptr;
  if (pooled) {
    windows = static_cast<PoolWindow*>(arena.allocate(size_t(out_pixels) * sizeof(PoolWindow)));
    for (int64_t oh = 0, q = 0; oh < ps.out_height; ++oh) {
      for (int64_t ow = 0; ow < ps.out_width; ++ow) windows[q++] = pool_window(ps, oh, ow);
    }
  }
  parallel_range(s.batch, 1, [&](int64_t begin, int64_t end) {
    ScratchArena::Scope task_scope;
    ScratchArena& local = ScratchArena::local();
    float* planes = e.output_nhwc ? local.allocate_floats(O * out_pixels) : nullptr;
    for (int64_t n = begin; n < end; ++n) {
      float* image = z + n * O * conv_pixels;
      float* out = y + n * O * out_pixels;
      float* result = e.output_nhwc ? planes : out;  // NCHW, moved to NHWC below
      if (!pooled) {
        activate(e, O * conv_pixels, image, result);
      } else if (pool_first) {
        pool_planes(ps, e.pool, windows, image, O, result);
        activate(e, O * out_pixels, result);
      } else {
        activate(e, O * conv_pixels, image);
        pool_planes(ps, e.pool, windows, image, O, result);
      }
      if (e.output_nhwc) planes_to_rows(planes, O, out_pixels, out);
    }
  });
}

void forward_fused(const KernelConfig& cfg, const Plan& pl, const Conv2dShape& s, const float* x,
                   const float* w, const float* bias, const ConvEpilogue& e, float* y) {
  const int64_t mr = cfg.mr, nr = cfg.nr, O = s.out_channels;
  const int64_t in_plane = s.in_height * s.in_width;
  const int64_t panel_floats = pl.k * nr;
  const Pool2dShape& ps = e.pool_shape;
  const bool pooled = e.pool != FusedPool::kNone;
  const int64_t out_pixels = pooled ? ps.out_height * ps.out_width : pl.p;
  const bool pool_first = pool_before_activation(e, bias, O);

  ScratchArena::Scope scope;
  ScratchArena& arena = ScratchArena::local();
  // taps[(c * KH + kh) * KW + kw]: tap (c, kh, kw) relative to a receptive field's first element.
  int64_t* taps = static_cast<int64_t*>(arena.allocate(size_t(pl.k) * sizeof(int64_t)));
  for (int64_t c = 0, t = 0; c < s.in_channels; ++c) {
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        taps[t++] = c * pl.channel_step + kh * s.dilation_h * pl.row_step +
                    kw * s.dilation_w * pl.pixel_step;
      }
    }
  }
  // Where each output pixel's receptive field starts in its (padded) input image.
  int64_t* fields = static_cast<int64_t*>(arena.allocate(size_t(pl.p) * sizeof(int64_t)));
  for (int64_t oh = 0, p = 0; oh < s.out_height; ++oh) {
    for (int64_t ow = 0; ow < s.out_width; ++ow)
      fields[p++] = oh * s.stride_h * pl.row_step + ow * s.stride_w * pl.pixel_step;
  }
  // B = W^T: panel q holds output channels [q * nr, q * nr + nr), zero past the last.
  float* bp = arena.allocate_floats(pl.panels * panel_floats);
  parallel_range(pl.panels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t q = begin; q < end; ++q) {
      pack_transposed_panel(nr, pl.k, std::min(nr, O - q * nr), w + q * nr * pl.k, pl.k,
                            bp + q * panel_floats);
    }
  });

  const int64_t group = images_per_task(cfg, s, pl);
  ThreadPool::global().parallel_for(ceil_div(s.batch, group), [&](int64_t task, int) {
    ScratchArena::Scope task_scope;
    ScratchArena& local = ScratchArena::local();
    const int64_t n0 = task * group, images = std::min(group, s.batch - n0);
    const float* src = x + n0 * s.in_channels * in_plane;
    int64_t image_stride = s.in_channels * in_plane;
    if (pl.padded) {
      float* xp = local.allocate_floats(images * s.in_channels * pl.plane);
      for (int64_t i = 0; i < images; ++i) {
        pad_image(s, pl, e.input_nhwc, src + i * image_stride, xp + i * s.in_channels * pl.plane);
      }
      src = xp;
      image_stride = s.in_channels * pl.plane;
    }
    // The images' pixels in a row, whole tiles stored straight into conv: a tile may span two
    // images, and rows past the last pixel repeat it (unused).
    const int64_t pixels = images * pl.p, tiles = ceil_div(pixels, mr);
    float* conv = local.allocate_floats(tiles * mr * pl.ldc);
    IndirectTile a(cfg, pl.k, taps, local.allocate_floats(IndirectTile::scratch_floats(cfg, pl.k)));
    const float* rows[kMaxMr];
    // Pixel q = image * p + pixel, stepped along without divisions (they would cost as much as
    // the multiply-adds of a few-tap convolution).
    int64_t image = 0, pixel = 0;
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t p0 = t * mr;
      for (int64_t i = 0; i < mr; ++i) {
        if (p0 + i >= pixels) {
          rows[i] = rows[i - 1];
          continue;
        }
        rows[i] = src + image * image_stride + fields[pixel];
        if (++pixel == pl.p) {
          pixel = 0;
          ++image;
        }
      }
      a.set_rows(rows);
      for (int64_t q = 0; q < pl.panels; ++q) {
        a.multiply(bp + q * panel_floats, conv + p0 * pl.ldc + q * nr, pl.ldc, 1.0f, 0.0f);
      }
    }

    // NHWC output is written in place, rows of O floats; NCHW goes through pixel-major scratch.
    const bool direct = e.output_nhwc;
    float* pooled_rows = pooled && !direct ? local.allocate_floats(out_pixels * pl.ldc) : nullptr;
    for (int64_t i = 0; i < images; ++i) {
      float* image = conv + i * pl.p * pl.ldc;
      float* out = y + (n0 + i) * O * out_pixels;
      if (!pooled) {
        add_bias(bias, pl.p, O, pl.ldc, image);
        activate_rows(e, pl.p, O, pl.ldc, image);
        if (direct) {
          for (int64_t p = 0; p < pl.p; ++p) {
            std::memcpy(out + p * O, image + p * pl.ldc, size_t(O) * sizeof(float));
          }
        } else {
          store_planes(image, pl.p, O, pl.ldc, out);
        }
        continue;
      }
      float* rows_out = direct ? out : pooled_rows;
      const int64_t ld_out = direct ? O : pl.ldc;
      if (pool_first) {
        pool_rows(ps, e.pool, image, O, pl.ldc, rows_out, ld_out);
        add_bias(bias, out_pixels, O, ld_out, rows_out);
        activate_rows(e, out_pixels, O, ld_out, rows_out);
      } else {
        add_bias(bias, pl.p, O, pl.ldc, image);
        activate_rows(e, pl.p, O, pl.ldc, image);
        pool_rows(ps, e.pool, image, O, pl.ldc, rows_out, ld_out);
      }
      if (!direct) store_planes(pooled_rows, out_pixels, O, pl.ldc, out);
    }
  });
}

}  // namespace

void conv2d_fused_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                          const ConvEpilogue& e, float* y) {
  if (s.batch == 0 || s.out_channels == 0) return;  // nothing to write
  if (conv2d_winograd_selected(s)) {
    forward_winograd(s, x, w, bias, e, y);
    return;
  }
  const KernelConfig& cfg = active_kernel_config();
  const Plan pl = make_plan(cfg, s, e.input_nhwc);
  if (!fused_form_fits(cfg, s, pl)) {
    forward_unfused(s, x, w, bias, e, y);
    return;
  }
  forward_fused(cfg, pl, s, x, w, bias, e, y);
}

bool conv2d_fused_prefers_nchw_input(const Conv2dShape& s) {
  return s.batch > 0 && s.out_channels > 0 && conv2d_winograd_selected(s);
}

}  // namespace convnet
