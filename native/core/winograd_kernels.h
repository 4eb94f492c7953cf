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

// The weight gradient's transforms of one tile, the lanes eight channels: the GEMMs' packed
// panels hold a tile's channels side by side, so the results go out as whole vectors. The
// tile's window in channel c starts at corner + c * plane floats (row stride ld; the address is
// formed as an integer, as the corner may lie outside the input); only its rows
// [row_begin, row_end) and columns [col_begin, col_end) lie inside, and only those are read.
// whole: all of it lies inside and eight floats can be read from each row of every channel.
// [begin, end) are the addresses that may be read at all (the array): a kernel may read past a
// window's columns inside them, and mask the extra floats off.
struct WinogradChannelWindow {
  uintptr_t corner, begin, end;
  int64_t plane, ld;
  int32_t row_begin, row_end, col_begin, col_end;
  bool whole;
};

// B^T d B of windows[t] (t < tiles) in channels [c_begin, c_end), c_begin a multiple of 8:
// element e of channel c of tile t at v[t * tile_stride + c / nr * panel + c % nr +
// e * e_stride], nr a multiple of 8; the channels past c_end, up to a multiple of 8, come out
// zero.
using WinogradGradInputKernel = void (*)(const WinogradChannelWindow* windows, int64_t tiles,
                                         int64_t c_begin, int64_t c_end, float* v,
                                         int64_t tile_stride, int64_t nr, int64_t panel,
                                         int64_t e_stride);
// A y A^T of the 4x4 windows[t] (t < tiles) in channels [c_begin, c_end), c_begin a multiple
// of 8 (the output gradient, whose windows start inside it), into panels six channels wide:
// element e of channel c of tile t at z[t * tile_stride + c / 6 * panel + c % 6 +
// e * e_stride]; nothing past c_end is written. sums, unless null: sums[c - c_begin] += the sum
// of channel c over the windows (the bias gradient), tile after tile.
using WinogradGradOutputKernel = void (*)(const WinogradChannelWindow* windows, int64_t tiles,
                                          int64_t c_begin, int64_t c_end, float* z,
                                          int64_t tile_stride, int64_t panel, int64_t e_stride,
                                          float* sums);
// dw[l * 9 + k] = (G^T u_l G)[k] for l < lanes (<= 8), k < 9, where u_l[e] = u[e * u_stride + l]
// (all eight lanes are read).
using WinogradGradWeightKernel = void (*)(const float* u, int64_t u_stride, int lanes, float* dw);

#if defined(CONVNET_HAVE_X86_KERNELS)
void f32_winograd_grad_input_6x6_avx2(const WinogradChannelWindow* windows, int64_t tiles,
                                      int64_t c_begin, int64_t c_end, float* v, int64_t tile_stride,
                                      int64_t nr, int64_t panel, int64_t e_stride);
void f32_winograd_grad_output_4x4_6panel_avx2(const WinogradChannelWindow* windows, int64_t tiles,
                                              int64_t c_begin, int64_t c_end, float* z,
                                              int64_t tile_stride, int64_t panel, int64_t e_stride,
                                              float* sums);
void f32_winograd_grad_weight_3x3_avx2(const float* u, int64_t u_stride, int lanes, float* dw);
#endif

}  // namespace convnet

#endif  // CONVNET_CORE_WINOGRAD_KERNELS_H_
