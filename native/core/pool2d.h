// 2-D max and average pooling (NCHW), forward and backward. Shapes are validated by the caller;
// padding is at most half the kernel, so every window holds at least one input element.
#ifndef CONVNET_CORE_POOL2D_H_
#define CONVNET_CORE_POOL2D_H_

#include <algorithm>
#include <cstdint>

namespace convnet {

struct Pool2dShape {
  int64_t batch, channels, in_height, in_width;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  int64_t out_height, out_width;
  bool count_include_pad;  // average pooling: divide by the whole window, padding included
};

// y = max over each window (padding never wins); argmax = index of the winner in its input
// plane (h * in_width + w). A NaN wins (the last one, as in PyTorch); ties keep the first in
// row-major order.
void max_pool2d(const Pool2dShape& s, const float* x, float* y, int32_t* argmax);
// dx (overwritten) receives dy at each argmax; overlapping windows add up. Every argmax entry
// must lie in [0, in_height * in_width).
void max_pool2d_backward(const Pool2dShape& s, const float* dy, const int32_t* argmax, float* dx);
void avg_pool2d(const Pool2dShape& s, const float* x, float* y);
void avg_pool2d_backward(const Pool2dShape& s, const float* dy, float* dx);

// The window of pooled pixel (oh, ow) clipped to the input, and average pooling's divisor: the
// padded window is clipped to the padded input first, as in PyTorch. Shared by every pooling
// path (pool2d.cc, conv2d_fused.cc), so they agree on edges and divisors.
struct PoolWindow {
  int64_t h0, h1, w0, w1;
  int64_t count;
};

inline PoolWindow pool_window(const Pool2dShape& s, int64_t oh, int64_t ow) {
  const int64_t hs = oh * s.stride_h - s.pad_h, ws = ow * s.stride_w - s.pad_w;
  const int64_t he = std::min(hs + s.kernel_h, s.in_height + s.pad_h);
  const int64_t we = std::min(ws + s.kernel_w, s.in_width + s.pad_w);
  PoolWindow win;
  win.h0 = std::max<int64_t>(hs, 0);
  win.w0 = std::max<int64_t>(ws, 0);
  win.h1 = std::min(he, s.in_height);
  win.w1 = std::min(we, s.in_width);
  win.count = s.count_include_pad ? (he - hs) * (we - ws) : (win.h1 - win.h0) * (win.w1 - win.w0);
  return win;
}

// Global average pooling over `planes` planes of `plane_size` elements each (N * C planes of
// H * W): y[p] = mean of plane p. plane_size >= 1.
void global_avg_pool(int64_t planes, int64_t plane_size, const float* x, float* y);
// dx[p, :] = dy[p] / plane_size (overwritten).
void global_avg_pool_backward(int64_t planes, int64_t plane_size, const float* dy, float* dx);

}  // namespace convnet

#endif  // CONVNET_CORE_POOL2D_H_
