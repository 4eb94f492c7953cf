// Convolution as indirect GEMM: no im2col matrix is built. Output pixels are the GEMM's rows,
// each read in place through a pointer to where its receptive field starts plus per-tap offsets,
// and output channels are its columns (packed weight panels). Used by conv2d.cc where it applies.
#ifndef CONVNET_CORE_CONV2D_INDIRECT_H_
#define CONVNET_CORE_CONV2D_INDIRECT_H_

#include "conv2d.h"
#include "kernel_config.h"

namespace convnet {

// Whether the indirect forward path suits s: enough output channels per group to fill most of
// a column panel (otherwise most of every multiply-add would be padding).
bool conv2d_forward_indirect_applies(const KernelConfig& cfg, const Conv2dShape& s);
void conv2d_forward_indirect(const KernelConfig& cfg, const Conv2dShape& s, const float* x,
                             const float* w, const float* bias, float* y);

// Backward input of a stride-1 convolution is a forward convolution of dy with the kernel
// flipped and its in/out channels swapped; applies when that padding is not negative.
bool conv2d_backward_input_indirect_applies(const KernelConfig& cfg, const Conv2dShape& s);
void conv2d_backward_input_indirect(const KernelConfig& cfg, const Conv2dShape& s,
                                    const float* dy, const float* w, float* dx);

// dW^T (taps x output channels) = sum over images and pixels of x at each tap times dy: taps are
// the rows (pointers into x), the (image, pixel) pairs the depth (offsets), dy^T the panels.
bool conv2d_backward_weight_indirect_applies(const KernelConfig& cfg, const Conv2dShape& s);
void conv2d_backward_weight_indirect(const KernelConfig& cfg, const Conv2dShape& s,
                                     const float* x, const float* dy, float* dw);

}  // namespace convnet

#endif  // CONVNET_CORE_CONV2D_INDIRECT_H_
