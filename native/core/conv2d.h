// 2-D convolution (NCHW activations, OIHW weights, as PyTorch) forward and both backward passes,
// reduced to GEMM: implicitly where it pays (conv2d_implicit.h), directly for depthwise shapes
// (conv2d_depthwise.h), through im2col otherwise. Shapes are validated by the caller.
#ifndef CONVNET_CORE_CONV2D_H_
#define CONVNET_CORE_CONV2D_H_

#include <cstdint>

namespace convnet {

struct Conv2dShape {
  int64_t batch, in_channels, in_height, in_width;
  int64_t out_channels, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int64_t groups;
  int64_t out_height, out_width;
};

// y[N, O, OH, OW] = conv(x[N, C, H, W], w[O, C/groups, KH, KW]) + bias[O] (bias may be null).
void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                    float* y);
// dx[N, C, H, W] (overwritten) from dy[N, O, OH, OW] and w.
void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
// dw[O, C/groups, KH, KW] (overwritten) and, when not null, dbias[O] = sum of dy over N, OH, OW.
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* dbias);

}  // namespace convnet

#endif  // CONVNET_CORE_CONV2D_H_
