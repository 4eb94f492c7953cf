#include "pool2d.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "thread_pool.h"

namespace convnet {
namespace {

// Planes per task: enough that a task does at least this many window-element visits.
constexpr int64_t kMinWorkPerTask = 1 << 15;

struct Window {
  int64_t h0, h1, w0, w1;  // clipped to the input
  int64_t count;           // divisor for average pooling
};

Window window(const Pool2dShape& s, int64_t oh, int64_t ow) {
  const int64_t hs = oh * s.stride_h - s.pad_h, ws = ow * s.stride_w - s.pad_w;
  // The padded window is clipped to the padded input, as in PyTorch.
  const int64_t he = std::min(hs + s.kernel_h, s.in_height + s.pad_h);
  const int64_t we = std::min(ws + s.kernel_w, s.in_width + s.pad_w);
  Window win;
  win.h0 = std::max<int64_t>(hs, 0);
  win.w0 = std::max<int64_t>(ws, 0);
  win.h1 = std::min(he, s.in_height);
  win.w1 = std::min(we, s.in_width);
  win.count = s.count_include_pad ? (he - hs) * (we - ws) : (win.h1 - win.h0) * (win.w1 - win.w0);
  return win;
}

// Calls fn(plane_begin, plane_end) over the N * C planes, in parallel.
template <class Fn>
void for_planes(const Pool2dShape& s, Fn fn) {
  const int64_t planes = s.batch * s.channels;
  const int64_t work = std::max<int64_t>(
      1, s.out_height * s.out_width * s.kernel_h * s.kernel_w + s.in_height * s.in_width);
  parallel_range(planes, std::max<int64_t>(1, kMinWorkPerTask / work), fn);
}

}  // namespace

void max_pool2d(const Pool2dShape& s, const float* x, float* y, int32_t* argmax) {
  const int64_t in_plane = s.in_height * s.in_width, out_plane = s.out_height * s.out_width;
  for_planes(s, [&](int64_t begin, int64_t end) {
    for (int64_t pl = begin; pl < end; ++pl) {
      const float* xp = x + pl * in_plane;
      float* yp = y + pl * out_plane;
      int32_t* ap = argmax + pl * out_plane;
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          const Window win = window(s, oh, ow);
          int64_t best_i = win.h0 * s.in_width + win.w0;
          float best = -std::numeric_limits<float>::infinity();
          for (int64_t h = win.h0; h < win.h1; ++h) {
            for (int64_t w = win.w0; w < win.w1; ++w) {
              const int64_t i = h * s.in_width + w;
              const float v = xp[i];
              if (v > best || std::isnan(v)) {  // as PyTorch: NaN propagates
                best = v;
                best_i = i;
              }
            }
          }
          yp[oh * s.out_width + ow] = best;
          ap[oh * s.out_width + ow] = static_cast<int32_t>(best_i);
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
          const Window win = window(s, oh, ow);
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
          const Window win = window(s, oh, ow);
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

}  // namespace convnet
