// Per-instruction-set kernels of the Winograd path for wide layers (conv2d_winograd.cc's
// winograd_convolve_wide), which transforms the weights of one GEMM panel at a time into a
// buffer that stays in cache.
#ifndef CONVNET_CORE_WINOGRAD_WIDE_KERNELS_H_
#define CONVNET_CORE_WINOGRAD_WIDE_KERNELS_H_

#include <cstdint>

#include "micro_kernel.h"  // CONVNET_HAVE_X86_KERNELS

namespace convnet {

// The F(4x4, 3x3) weight transform of one packed A panel: item f < depth * mr is row
// r = f % mr and depth q = f / mr of the panel, the 3x3 kernel at w + r * row_stride +
// q * col_stride (rotated by 180 degrees when flip is set; zero for r >= rows), and
// u[e * u_stride + f] = (G g_f G^T)[e] for e < 36. The items run in the panel's own order, so
// eight of them fill a whole vector of u.
using WinogradWeightPanelKernel = void (*)(const float* w, int64_t row_stride, int64_t col_stride,
                                           bool flip, int mr, int rows, int64_t depth, float* u,
                                           int64_t u_stride);

#if defined(CONVNET_HAVE_X86_KERNELS)
void f32_winograd_weight_panel_avx2(const float* w, int64_t row_stride, int64_t col_stride,
                                    bool flip, int mr, int rows, int64_t depth, float* u,
                                    int64_t u_stride);
#endif

}  // namespace convnet

#endif  // CONVNET_CORE_WINOGRAD_WIDE_KERNELS_H_
