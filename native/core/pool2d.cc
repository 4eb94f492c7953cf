#include "pool2d.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "reduce.h"
#include "thread_pool.h"

namespace convnet {
namespace {

// Planes per task: enough that a task does at least this many window-element visits.
constexpr int64_t kMinWorkPerTask = 1 << 15;

// Calls fn(plane_begin, plane_end) over the N * C planes, in parallel.
template <class Fn>
void for_planes(const Pool2dShape& s, Fn fn) {
  const int64_t planes = s.batch * s.channels;
  const int64_t work = std::max<int64_t>(
      1, s.out_height * s.out_width * s.kernel_h * s.kernel_w + s.in_height * s.in_width);
  parallel_range(planes, std::max<int64_t>(1, kMinWorkPerTask / work), fn);
}

// A window that may win: NaN always does (the last one, as in PyTorch), otherwise only a strictly
// greater value, so ties keep the first. Written as selects, not branches: with random data a
// branch mispredicts on every other element.
inline void take_if_better(float v, int32_t i, float& best, int32_t& best_i) {
  const bool take = v > best || v != v;
  best = take ? v : best;
  best_i = take ? i : best_i;
}

// 2x2 windows with stride 2 and no padding, the common case: one output row from two input
// rows, blocks of 8 outputs so that the selects vectorize.
void max_pool_2x2_row(const float* r0, const float* r1, int32_t i0, int64_t in_width,
                      int64_t out_width, float* y, int32_t* argmax) {
  constexpr int kBlock = 8;
  const int32_t w1 = int32_t(in_width);
  auto one = [&](int64_t ow, float& best, int32_t& best_i) {
    const int32_t i = i0 + int32_t(2 * ow);
    best = r0[2 * ow];
    best_i = i;
    take_if_better(r0[2 * ow + 1], i + 1, best, best_i);
    take_if_better(r1[2 * ow], i + w1, best, best_i);
    take_if_better(r1[2 * ow + 1], i + w1 + 1, best, best_i);
  };
  int64_t ow = 0;
  for (; ow + kBlock <= out_width; ow += kBlock) {
    float b[kBlock];
    int32_t bi[kBlock];
    for (int j = 0; j < kBlock; ++j) one(ow + j, b[j], bi[j]);
    for (int j = 0; j < kBlock; ++j) {
      y[ow + j] = b[j];
      argmax[ow + j] = bi[j];
    }
  }
  for (; ow < out_width; ++ow) one(ow, y[ow], argmax[ow]);
}

bool is_2x2_stride_2(const Pool2dShape& s) {
  return s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 &&
         s.pad_w == 0;
}

}  // namespace

void max_pool2d(const Pool2dShape& s, const float* x, float* y, int32_t* argmax) {
  const int64_t in_plane = s.in_height * s.in_width, out_plane = s.out_height * s.out_width;
  if (is_2x2_stride_2(s)) {
    for_planes(s, [&](int64_t begin, int64_t end) {
      for (int64_t pl = begin; pl < end; ++pl) {
        const float* xp = x + pl * in_plane;
        for (int64_t oh = 0; oh < s.out_height; ++oh) {
          const int64_t h = 2 * oh;
          max_pool_2x2_row(xp + h * s.in_width, xp + (h + 1) * s.in_width, int32_t(h * s.in_width),
                           s.in_width, s.out_width, y + pl * out_plane + oh * s.out_width,
                           argmax + pl * out_plane + oh * s.out_width);
        }
      }
    });
    return;
  }
  for_planes(s, [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = x + pl * in_plane;
      float* yp = y + pl * out_plane;
      int32_t* ap = argmax + pl * out_plane;
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          const PoolWindow win = pool_window(s, oh, ow);
          int32_t best_i = int32_t(win.h0 * s.in_width + win.w0);
          float best = -std::numeric_limits<float>::infinity();
          for (int64_t h = win.h0; h < win.h1; ++h) {
            for (int64_t w = win.w0; w < win.w1; ++w) {
              const int64_t i = h * s.in_width + w;
              take_if_better(xp[i], int32_t(i), best, best_i);
            }
          }
          yp[oh * s.out_width + ow] = best;
          ap[oh * s.out_width + ow] = best_i;
        }
      }
    }
  });
}

void max_pool2d_backward(const Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx) {
  const int64_t in_plane = s.in_height * s.in_width, out_plane = s.out_height * s.out_width;
  for_planes(s, [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      float* dxp = dx + pl * in_plane;
      const float* dyp = dy + pl * out_plane;
      const int32_t* ap = argmax + pl * out_plane;
      std::fill(dxp, dxp + in_plane, 0.0f);
      for (int64_t i = 0; i < out_plane; ++i) dxp[ap[i]] += dyp[i];
    }
  });
}

void avg_pool2d(const Pool2dShape& s, const float* x, float* y) {
  const int64_t in_plane = s.in_height * s.in_width, out_plane = s.out_height * s.out_width;
  for_planes(s, [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = x + pl * in_plane;
      float* yp = y + pl * out_plane;
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          const PoolWindow win = pool_window(s, oh, ow);
          float sum = 0.0f;
          for (int64_t h = win.h0; h < win.h1; ++h) {
            for (int64_t w = win.w0; w < win.w1; ++w) sum += xp[h * s.in_width + w];
          }
          yp[oh * s.out_width + ow] = win.count > 0 ? sum / float(win.count) : 0.0f;
        }
      }
    }
  });
}

void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx) {
  const int64_t in_plane = s.in_height * s.in_width, out_plane = s.out_height * s.out_width;
  for_planes(s, [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      float* dxp = dx + pl * in_plane;
      const float* dyp = dy + pl * out_plane;
      std::fill(dxp, dxp + in_plane, 0.0f);
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          const PoolWindow win = pool_window(s, oh, ow);
          if (win.count <= 0) continue;
          const float g = dyp[oh * s.out_width + ow] / float(win.count);
          for (int64_t h = win.h0; h < win.h1; ++h) {
            for (int64_t w = win.w0; w < win.w1; ++w) dxp[h * s.in_width + w] += g;
          }
        }
      }
    }
  });
}

void global_avg_pool(int64_t planes, int64_t plane_size, const float* x, float* y) {
  const float size = float(plane_size);
  parallel_range(planes, std::max<int64_t>(1, kMinWorkPerTask / plane_size),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t p = begin; p < end; ++p) {
                     y[p] = sum_floats(x + p * plane_size, plane_size) / size;
                   }
                 });
}

void global_avg_pool_backward(int64_t planes, int64_t plane_size, const float* dy, float* dx) {
  // A division per plane (not a multiplication by 1 / size) rounds exactly as the TS kernel.
  const float size = float(plane_size);
  parallel_range(planes, std::max<int64_t>(1, kMinWorkPerTask / plane_size),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t p = begin; p < end; ++p) {
                     std::fill(dx + p * plane_size, dx + (p + 1) * plane_size, dy[p] / size);
                   }
                 });
}

}  // namespace convnet
