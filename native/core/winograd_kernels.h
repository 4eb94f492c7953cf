// Per-instruction-set kernels for the Winograd F(4x4, 3x3) transforms of eight tiles at once
// (conv2d_winograd.cc has the portable loops). The work is mostly a transposition, tiles
// being rows in memory and lanes in the transform, which only shuffles do well.
#ifndef CONVNET_CORE_WINOGRAD_KERNELS_H_
#define CONVNET_CORE_WINOGRAD_KERNELS_H_

#include <cstdint>

#include "micro_kernel.h"

namespace convnet {

// Eight 6x6 input windows: lane l's window starts at origin[l] (row stride ld); only its rows
// [row_begin[l], row_end[l]) and the columns where column_mask[l][j] is -1 lie inside the
// input, and only those are read (origin[l] itself may point outside it); the rest is zero.
// whole_rows[l] says that eight floats can be read from the start of each of those rows (plain
// loads, the columns outside the mask then cleared in registers, rather than masked loads).
struct WinogradWindows {
  const float* origin[8];
  int64_t ld;
  int32_t row_begin[8], row_end[8];
  int32_t column_mask[8][8];
  bool whole_rows[8];
};

// Eight 6x6 input windows read whole: row i of lane l is the eight floats at
// origin[l] + i * ld, all of which may be read, ANDed with mask[i][l] (bit patterns: -1 keeps
// a column, 0 clears it; columns 6 and 7 are ignored). The branch-free form of
// WinogradWindows, for windows whose rows outside the input still lie inside its array.
struct WinogradMaskedWindows {
  alignas(32) int32_t mask[6][8][8];
  const float* origin[8];
  int64_t ld;
};

// out[e * out_stride + l] = (B^T d_l B)[e], e < 36, for window d_l of w.
using WinogradInputKernel = void (*)(const WinogradWindows& w, float* out, int64_t out_stride);
using WinogradMaskedInputKernel = void (*)(const WinogradMaskedWindows& w, float* out,
                                           int64_t out_stride);
// The 4x4 tile (A^T m_l A) + bias of lane l, m_l[e] = m[e * m_stride + l], written to
// tiles[l] with row stride ld.
using WinogradOutputKernel = void (*)(const float* m, int64_t m_stride, float bias,
                                      float* const* tiles, int64_t ld);

// u[e * u_stride + l] = (G g_l G^T)[e] for l < lanes (<= 8), e < 36, where g_l is the 3x3
// kernel at kernels[l] (nine floats, rotated by 180 degrees when flip is set); all eight
// pointers are read.
using WinogradWeightKernel = void (*)(const float* const* kernels, bool flip, float* u,
                                      int64_t u_stride, int lanes);

#if defined(CONVNET_HAVE_X86_KERNELS)
void f32_winograd_weight_3x3_avx2(const float* const* kernels, bool flip, float* u,
                                  int64_t u_stride, int lanes);
void f32_winograd_input_6x6_avx2(const WinogradWindows& w, float* out, int64_t out_stride);
void f32_winograd_input_6x6_masked_avx2(const WinogradMaskedWindows& w, float* out,
                                        int64_t out_stride);
void f32_winograd_output_4x4_avx2(const float* m, int64_t m_stride, float bias, float* const* tiles,
                                  int64_t ld);
#endif

}  // namespace convnet

#endif  // CONVNET_CORE_WINOGRAD_KERNELS_H_
