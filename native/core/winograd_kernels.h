// Per-instruction-set kernels for the Winograd F(4x4, 3x3) transforms of eight tiles at once
// (conv2d_winograd.cc has the portable loops). The work is mostly a transposition, tiles
// being rows in memory and lanes in the transform, which only shuffles do well.
#ifndef CONVNET_CORE_WINOGRAD_KERNELS_H_
#define CONVNET_CORE_WINOGRAD_KERNELS_H_

#include <cstdint>

#include "micro_kernel.h"

namespace convnet {

// out[e * 8 + l] = (B^T d_l B)[e], e < 36, where d_l is the 6x6 window at windows[l] with row
// stride strides[l] (six floats of each row are read).
using WinogradInputKernel = void (*)(const float* const* windows, const int64_t* strides,
                                     float* out);
// The 4x4 tile (A^T m_l A) + bias of lane l, m_l[e] = m[e * m_stride + l], written to
// tiles[l] with row stride ld.
using WinogradOutputKernel = void (*)(const float* m, int64_t m_stride, float bias,
                                      float* const* tiles, int64_t ld);

#if defined(CONVNET_HAVE_X86_KERNELS)
void f32_winograd_input_6x6_avx2(const float* const* windows, const int64_t* strides, float* out);
void f32_winograd_output_4x4_avx2(const float* m, int64_t m_stride, float bias,
                                  float* const* tiles, int64_t ld);
#endif

}  // namespace convnet

#endif  // CONVNET_CORE_WINOGRAD_KERNELS_H_
