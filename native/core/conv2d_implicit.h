// Convolution as implicit GEMM: no im2col matrix is built; the GEMM micro-kernels read the
// input in place. Two forms, chosen per shape:
//  - indirect: output pixels are the rows, each read through a pointer to where its receptive
//    field starts plus per-tap offsets; output channels are the columns (packed weight panels).
//    Tiles are stored transposed into the NCHW output: cheap when the taps per output (K) are many.
//  - rows (stride-1 width only): output channels are the rows (packed weights), nr consecutive
//    pixels of one output row the columns, read as contiguous input runs per tap; tiles are
//    stored straight into the output: the form for few taps (a first layer).
// Each function returns false, doing nothing, when neither form suits the shape (conv2d.cc then
// lowers through im2col).
#ifndef CONVNET_CORE_CONV2D_IMPLICIT_H_
#define CONVNET_CORE_CONV2D_IMPLICIT_H_

#include "conv2d.h"
#include "kernel_config.h"

namespace convnet {

bool conv2d_forward_implicit(const KernelConfig& cfg, const Conv2dShape& s, const float* x,
                             const float* w, const float* bias, float* y);

// A stride-1 convolution's input gradient is a forward convolution of dy with the kernel
// flipped and its in/out channels swapped (padding (K - 1) * dilation - pad, so not when the
// padding exceeds the kernel's extent).
bool conv2d_backward_input_implicit(const KernelConfig& cfg, const Conv2dShape& s, const float* dy,
                                    const float* w, float* dx);

// dW^T (taps x output channels) = sum over images and pixels of x at each tap times dy: taps are
// the rows (pointers into x), (image, pixel) pairs the depth (offsets), dy^T the packed panels.
// dw is overwritten, and dbias too when not null (summed while dy is packed).
bool conv2d_backward_weight_implicit(const KernelConfig& cfg, const Conv2dShape& s, const float* x,
                                     const float* dy, float* dw, float* dbias);

}  // namespace convnet

#endif  // CONVNET_CORE_CONV2D_IMPLICIT_H_
