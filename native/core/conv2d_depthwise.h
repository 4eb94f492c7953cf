// Depthwise convolution (one input channel per group: groups == in_channels, any number of
// outputs per group), computed directly: a GEMM would have one row (or one column) per group,
// so its tiles would be almost all padding.
#ifndef CONVNET_CORE_CONV2D_DEPTHWISE_H_
#define CONVNET_CORE_CONV2D_DEPTHWISE_H_

#include "conv2d.h"

namespace convnet {

bool conv2d_is_depthwise(const Conv2dShape& s);

// The three passes of conv2d.h for a depthwise shape (conv2d_is_depthwise(s)).
void conv2d_depthwise_forward(const Conv2dShape& s, const float* x, const float* w,
                              const float* bias, float* y);
void conv2d_depthwise_backward_input(const Conv2dShape& s, const float* dy, const float* w,
                                     float* dx);
void conv2d_depthwise_backward_weight(const Conv2dShape& s, const float* x, const float* dy,
                                      float* dw, float* dbias);

}  // namespace convnet

#endif  // CONVNET_CORE_CONV2D_DEPTHWISE_H_
