#include "im2col.h"

#include <algorithm>

namespace convnet {
namespace {

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Output columns ow in [lo, hi) read input columns ow * stride + offset inside [0, width).
void valid_range(int64_t offset, int64_t stride, int64_t width, int64_t out_width, int64_t* lo,
                 int64_t* hi) {
  // ow * stride + offset >= 0  <=>  ow >= ceil(-offset / stride)
  *lo = std::clamp<int64_t>(-floor_div(offset, stride), 0, out_width);
  // ow * stride + offset <= width - 1
  *hi = std::clamp<int64_t>(floor_div(width - 1 - offset, stride) + 1, *lo, out_width);
}

// Calls fn(c, row, ih, ow_begin, ow_end, col_offset, iw_offset) for every output-row segment
// of [p_begin, p_end) and every kernel tap; ih may lie outside the input (padding rows).
template <class Fn>
void for_each_segment(const Conv2dShape& s, int64_t channels, int64_t p_begin, int64_t p_end,
                      Fn fn) {
  const int64_t ow_n = s.out_width;
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        const int64_t row = (c * s.kernel_h + kh) * s.kernel_w + kw;
        const int64_t iw_offset = kw * s.dilation_w - s.pad_w;
        int64_t p = p_begin;
        while (p < p_end) {
          const int64_t oh = p / ow_n;
          const int64_t ow_begin = p % ow_n;
          const int64_t ow_end = std::min(ow_n, ow_begin + (p_end - p));
          const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dilation_h;
          fn(c, row, ih, ow_begin, ow_end, p - p_begin, iw_offset);
          p += ow_end - ow_begin;
        }
      }
    }
  }
}

}  // namespace

void im2col(const Conv2dShape& s, int64_t channels, const float* x, int64_t p_begin, int64_t p_end,
            float* col) {
  const int64_t np = p_end - p_begin;
  const int64_t sw = s.stride_w;
  for_each_segment(s, channels, p_begin, p_end,
                   [&](int64_t c, int64_t row, int64_t ih, int64_t ow_begin, int64_t ow_end,
                       int64_t col_offset, int64_t iw_offset) {
                     // dst[ow - ow_begin] is the entry of output column ow.
                     float* dst = col + row * np + col_offset;
                     const int64_t n = ow_end - ow_begin;
                     if (ih < 0 || ih >= s.in_height) {
                       std::fill(dst, dst + n, 0.0f);
                       return;
                     }
                     int64_t lo, hi;
                     valid_range(iw_offset, sw, s.in_width, s.out_width, &lo, &hi);
                     lo = std::clamp(lo, ow_begin, ow_end);
                     hi = std::clamp(hi, lo, ow_end);
                     if (lo < hi) {
                       const float* src =
                           x + (c * s.in_height + ih) * s.in_width + lo * sw + iw_offset;
                       float* d = dst + (lo - ow_begin);
                       if (sw == 1) {
                         std::copy(src, src + (hi - lo), d);
                       } else {
                         for (int64_t i = 0; i < hi - lo; ++i) d[i] = src[i * sw];
                       }
                     }
                     std::fill(dst, dst + (lo - ow_begin), 0.0f);
                     std::fill(dst + (hi - ow_begin), dst + n, 0.0f);
                   });
}

void col2im_add(const Conv2dShape& s, int64_t channels, const float* col, int64_t p_begin,
                int64_t p_end, float* dx) {
  const int64_t np = p_end - p_begin;
  const int64_t sw = s.stride_w;
  for_each_segment(s, channels, p_begin, p_end,
                   [&](int64_t c, int64_t row, int64_t ih, int64_t ow_begin, int64_t ow_end,
                       int64_t col_offset, int64_t iw_offset) {
                     if (ih < 0 || ih >= s.in_height) return;
                     int64_t lo, hi;
                     valid_range(iw_offset, sw, s.in_width, s.out_width, &lo, &hi);
                     lo = std::clamp(lo, ow_begin, ow_end);
                     hi = std::clamp(hi, lo, ow_end);
                     if (lo == hi) return;
                     const float* src = col + row * np + col_offset + (lo - ow_begin);
                     float* dst = dx + (c * s.in_height + ih) * s.in_width + lo * sw + iw_offset;
                     for (int64_t i = 0; i < hi - lo; ++i) dst[i * sw] += src[i];
                   });
}

}  // namespace convnet
