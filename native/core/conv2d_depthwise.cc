#include "conv2d_depthwise.h"

#include <algorithm>
#include <cstring>

#include "reduce.h"
#include "scratch_arena.h"
#include "thread_pool.h"

namespace convnet {
namespace {

// Planes per task: enough that a task does at least this many multiply-adds.
constexpr int64_t kMinWorkPerTask = 1 << 15;

struct Plane {
  int64_t hp, wp;   // the padded input plane
  int64_t in, out;  // input and output plane sizes
  int64_t taps;     // kernel_h * kernel_w
  int64_t mult;     // outputs per input channel
};

Plane plane_of(const Conv2dShape& s) {
  return {s.in_height + 2 * s.pad_h,  s.in_width + 2 * s.pad_w, s.in_height * s.in_width,
          s.out_height * s.out_width, s.kernel_h * s.kernel_w,  s.out_channels / s.in_channels};
}

// dst (hp x wp) = src (in_height x in_width) with a zero border of the padding.
void pad_plane(const Conv2dShape& s, const Plane& pl, const float* src, float* dst) {
  std::fill(dst, dst + s.pad_h * pl.wp, 0.0f);
  for (int64_t r = 0; r < s.in_height; ++r) {
    float* d = dst + (r + s.pad_h) * pl.wp;
    std::fill(d, d + s.pad_w, 0.0f);
    std::memcpy(d + s.pad_w, src + r * s.in_width, size_t(s.in_width) * sizeof(float));
    std::fill(d + s.pad_w + s.in_width, d + pl.wp, 0.0f);
  }
  std::fill(dst + (s.pad_h + s.in_height) * pl.wp, dst + pl.hp * pl.wp, 0.0f);
}

// Calls fn(begin, end) over [0, n) planes in parallel, grouped so a task has enough work.
template <class Fn>
void for_planes(const Conv2dShape& s, int64_t n, int64_t work_per_plane, Fn fn) {
  (void)s;
  parallel_range(n, std::max<int64_t>(1, kMinWorkPerTask / std::max<int64_t>(work_per_plane, 1)),
                 fn);
}

}  // namespace

bool conv2d_is_depthwise(const Conv2dShape& s) { return s.groups > 1 && s.groups == s.in_channels; }

void conv2d_depthwise_forward(const Conv2dShape& s, const float* x, const float* w,
                              const float* bias, float* y) {
  const Plane pl = plane_of(s);
  const int64_t planes = s.batch * s.out_channels;
  for_planes(s, planes, pl.out * pl.taps, [&](int64_t begin, int64_t end) {
    ScratchArena::Scope scope;
    float* xp = ScratchArena::local().allocate_floats(pl.hp * pl.wp);
    int64_t padded_plane = -1;  // which input plane xp holds
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / s.out_channels, o = t % s.out_channels, c = o / pl.mult;
      const int64_t in_plane = n * s.in_channels + c;
      if (in_plane != padded_plane) {
        pad_plane(s, pl, x + in_plane * pl.in, xp);
        padded_plane = in_plane;
      }
      const float* wo = w + o * pl.taps;
      const float b = bias != nullptr ? bias[o] : 0.0f;
      float* yo = y + t * pl.out;
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        float* yr = yo + oh * s.out_width;
        std::fill(yr, yr + s.out_width, b);
        for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
          const float* xr = xp + (oh * s.stride_h + kh * s.dilation_h) * pl.wp;
          for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
            const float wv = wo[kh * s.kernel_w + kw];
            const float* xs = xr + kw * s.dilation_w;
            if (s.stride_w == 1) {
              for (int64_t ow = 0; ow < s.out_width; ++ow) yr[ow] += wv * xs[ow];
            } else {
              for (int64_t ow = 0; ow < s.out_width; ++ow) yr[ow] += wv * xs[ow * s.stride_w];
            }
          }
        }
      }
    }
  });
}

void conv2d_depthwise_backward_input(const Conv2dShape& s, const float* dy, const float* w,
                                     float* dx) {
  const Plane pl = plane_of(s);
  const int64_t planes = s.batch * s.in_channels;
  for_planes(s, planes, pl.out * pl.taps * pl.mult, [&](int64_t begin, int64_t end) {
    ScratchArena::Scope scope;
    float* dxp = ScratchArena::local().allocate_floats(pl.hp * pl.wp);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / s.in_channels, c = t % s.in_channels;
      // Scatter into the padded plane (the adjoint of reading from it), then keep its interior.
      std::fill(dxp, dxp + pl.hp * pl.wp, 0.0f);
      for (int64_t m = 0; m < pl.mult; ++m) {
        const int64_t o = c * pl.mult + m;
        const float* wo = w + o * pl.taps;
        const float* dyo = dy + (n * s.out_channels + o) * pl.out;
        for (int64_t oh = 0; oh < s.out_height; ++oh) {
          const float* g = dyo + oh * s.out_width;
          for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
            float* dr = dxp + (oh * s.stride_h + kh * s.dilation_h) * pl.wp;
            for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
              const float wv = wo[kh * s.kernel_w + kw];
              float* ds = dr + kw * s.dilation_w;
              if (s.stride_w == 1) {
                for (int64_t ow = 0; ow < s.out_width; ++ow) ds[ow] += wv * g[ow];
              } else {
                for (int64_t ow = 0; ow < s.out_width; ++ow) ds[ow * s.stride_w] += wv * g[ow];
              }
            }
          }
        }
      }
      float* dxc = dx + t * pl.in;
      for (int64_t r = 0; r < s.in_height; ++r) {
        const float* src = dxp + (r + s.pad_h) * pl.wp + s.pad_w;
        std::copy(src, src + s.in_width, dxc + r * s.in_width);
      }
    }
  });
}

void conv2d_depthwise_backward_weight(const Conv2dShape& s, const float* x, const float* dy,
                                      float* dw, float* dbias) {
  const Plane pl = plane_of(s);
  // One output channel per task, summing over the batch in image order: the result does not
  // depend on the thread count.
  for_planes(s, s.out_channels, s.batch * pl.out * pl.taps, [&](int64_t begin, int64_t end) {
    ScratchArena::Scope scope;
    ScratchArena& arena = ScratchArena::local();
    float* xp = arena.allocate_floats(pl.hp * pl.wp);
    double* acc = static_cast<double*>(arena.allocate(size_t(pl.taps) * sizeof(double)));
    for (int64_t o = begin; o < end; ++o) {
      const int64_t c = o / pl.mult;
      std::fill(acc, acc + pl.taps, 0.0);
      double bias_sum = 0.0;
      for (int64_t n = 0; n < s.batch; ++n) {
        pad_plane(s, pl, x + (n * s.in_channels + c) * pl.in, xp);
        const float* dyo = dy + (n * s.out_channels + o) * pl.out;
        if (dbias != nullptr) bias_sum += sum_floats(dyo, pl.out);
        for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
          for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
            float sum = 0.0f;
            for (int64_t oh = 0; oh < s.out_height; ++oh) {
              const float* g = dyo + oh * s.out_width;
              const float* xs =
                  xp + (oh * s.stride_h + kh * s.dilation_h) * pl.wp + kw * s.dilation_w;
              if (s.stride_w == 1) {
                float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                int64_t ow = 0;
                for (; ow + 8 <= s.out_width; ow += 8) {
                  for (int j = 0; j < 8; ++j) part[j] += g[ow + j] * xs[ow + j];
                }
                for (; ow < s.out_width; ++ow) part[0] += g[ow] * xs[ow];
                sum += ((part[0] + part[4]) + (part[1] + part[5])) +
                       ((part[2] + part[6]) + (part[3] + part[7]));
              } else {
                for (int64_t ow = 0; ow < s.out_width; ++ow) sum += g[ow] * xs[ow * s.stride_w];
              }
            }
            acc[kh * s.kernel_w + kw] += sum;
          }
        }
      }
      for (int64_t k = 0; k < pl.taps; ++k) dw[o * pl.taps + k] = float(acc[k]);
      if (dbias != nullptr) dbias[o] = float(bias_sum);
    }
  });
}

}  // namespace convnet
