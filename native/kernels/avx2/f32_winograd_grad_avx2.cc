// The Winograd F(4x4, 3x3) weight gradient's transforms for AVX2 + FMA3, one tile at a time with
// eight channels in the lanes: each channel's window rows are loaded as vectors and transposed
// in registers, and the results land as whole vectors in the GEMMs' packed panels (whose rows
// are channels). Compiled with -mavx2 -mfma only.
#include "../../core/winograd_kernels.h"

#if defined(CONVNET_HAVE_X86_KERNELS)

#include <immintrin.h>

#include "avx2_inline.h"

namespace convnet {
namespace {

// A y on four vectors, giving six (F4x4::output_adjoint).
inline void output_adjoint_1d(__m256 y0, __m256 y1, __m256 y2, __m256 y3, __m256 z[6]) {
  const __m256 even1 = _mm256_add_ps(y0, y2), odd1 = _mm256_add_ps(y1, y3);
  const __m256 even2 = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), y2, y0);
  const __m256 odd2 = _mm256_fmadd_ps(_mm256_set1_ps(8.0f), y3, _mm256_add_ps(y1, y1));
  z[0] = y0;
  z[1] = _mm256_add_ps(even1, odd1);
  z[2] = _mm256_sub_ps(even1, odd1);
  z[3] = _mm256_add_ps(even2, odd2);
  z[4] = _mm256_sub_ps(even2, odd2);
  z[5] = y3;
}

// G^T u on six vectors, giving three (F4x4::weight_adjoint).
inline void weight_adjoint_1d(const __m256 u[6], __m256 g[3]) {
  const __m256 s12 = _mm256_add_ps(u[1], u[2]), d12 = _mm256_sub_ps(u[2], u[1]);
  const __m256 s34 = _mm256_add_ps(u[3], u[4]), d34 = _mm256_sub_ps(u[3], u[4]);
  const __m256 sixth = _mm256_set1_ps(1.0f / 6.0f);
  const __m256 minus_s12_6 = _mm256_mul_ps(_mm256_set1_ps(-1.0f / 6.0f), s12);
  g[0] = _mm256_fmadd_ps(_mm256_set1_ps(0.25f), u[0],
                         _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 24.0f), s34, minus_s12_6));
  g[1] = _mm256_fmadd_ps(sixth, d12, _mm256_mul_ps(_mm256_set1_ps(1.0f / 12.0f), d34));
  g[2] = _mm256_add_ps(_mm256_fmadd_ps(sixth, s34, minus_s12_6), u[5]);
}

inline const float* at(uintptr_t base, int64_t floats) {
  return reinterpret_cast<const float*>(base + uintptr_t(floats * int64_t(sizeof(float))));
}

// Lanes 0..7 of channels c .. c + 7 (c a multiple of 8) into the six-wide panels at z: channel
// c + l goes to z[(c + l) / 6 * panel + (c + l) % 6]. c % 6 is 0, 2 or 4, so a vector spans
// two panels.
inline void store_6panel(__m256 v, int64_t c, float* z, int64_t panel) {
  float* p = z + c / 6 * panel;
  const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  switch (c % 6) {
    case 0:
      _mm_storeu_ps(p, lo);
      _mm_storel_pi(reinterpret_cast<__m64*>(p + 4), hi);
      _mm_storeh_pi(reinterpret_cast<__m64*>(p + panel), hi);
      break;
    case 2:
      _mm_storeu_ps(p + 2, lo);
      _mm_storeu_ps(p + panel, hi);
      break;
    default:  // 4
      _mm_storel_pi(reinterpret_cast<__m64*>(p + 4), lo);
      _mm_storeh_pi(reinterpret_cast<__m64*>(p + panel), lo);
      _mm_storeu_ps(p + panel + 2, hi);
  }
}

// -1 in the lanes j of the window's columns [col_begin, col_end), 0 elsewhere.
inline __m256i column_mask8(const WinogradChannelWindow& w) {
  const __m256i j = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i begin = _mm256_set1_epi32(w.col_begin), end = _mm256_set1_epi32(w.col_end);
  // j >= begin and j < end
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(begin, j), _mm256_cmpgt_epi32(end, j));
}

}  // namespace

void f32_winograd_grad_input_6x6_avx2(const WinogradChannelWindow* windows, int64_t tiles,
                                      int64_t c_begin, int64_t c_end, float* v, int64_t tile_stride,
                                      int64_t nr, int64_t panel, int64_t e_stride) {
  // Tiles outer, channels inner: the panels' cache lines are written whole, one after the
  // other (the caller gives whole panels).
  for (int64_t tile = 0; tile < tiles; ++tile) {
    const WinogradChannelWindow& w = windows[tile];
    const __m256i mask = column_mask8(w);
    for (int64_t c0 = c_begin; c0 < c_end; c0 += 8) {
      const int lanes = c_end - c0 < 8 ? int(c_end - c0) : 8;
      // Whether eight floats from the start of every row inside the window, in every channel of
      // the group, lie inside the array.
      const bool readable =
          w.row_begin < w.row_end &&
          reinterpret_cast<uintptr_t>(at(w.corner, c0 * w.plane + w.row_begin * w.ld)) >= w.begin &&
          reinterpret_cast<uintptr_t>(
              at(w.corner, (c0 + lanes - 1) * w.plane + (w.row_end - 1) * w.ld + 8)) <= w.end;
      __m256 d[36];  // d[i * 6 + j]: row i, column j of every channel's window
      for (int i = 0; i < 6; ++i) {
        __m256 r[8];
        if (w.whole && lanes == 8) {
          for (int l = 0; l < 8; ++l)
            r[l] = _mm256_loadu_ps(at(w.corner, (c0 + l) * w.plane + i * w.ld));
        } else if (readable) {
          // Plain loads, the columns outside masked off afterwards: masked loads are slow.
          const bool inside = i >= w.row_begin && i < w.row_end;
          for (int l = 0; l < 8; ++l) {
            r[l] = inside && l < lanes
                       ? _mm256_and_ps(_mm256_loadu_ps(at(w.corner, (c0 + l) * w.plane + i * w.ld)),
                                       _mm256_castsi256_ps(mask))
                       : _mm256_setzero_ps();
          }
        } else {
          const bool inside = i >= w.row_begin && i < w.row_end;
          for (int l = 0; l < 8; ++l) {
            // Masked-off elements are not accessed, so the window may hang off the plane.
            r[l] = inside && l < lanes
                       ? _mm256_maskload_ps(at(w.corner, (c0 + l) * w.plane + i * w.ld), mask)
                       : _mm256_setzero_ps();
          }
        }
        avx2::transpose8x8(r);
        for (int j = 0; j < 6; ++j) d[i * 6 + j] = r[j];
      }
      __m256 t[36];  // t[k * 6 + j] = (B^T d)[k][j]
      for (int j = 0; j < 6; ++j) {
        const __m256 col[6] = {d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j]};
        __m256 o[6];
        avx2::winograd_input_1d(col, o);
        for (int k = 0; k < 6; ++k) t[k * 6 + j] = o[k];
      }
      float* dst = v + tile * tile_stride + c0 / nr * panel + c0 % nr;
      for (int k = 0; k < 6; ++k) {
        __m256 o[6];
        avx2::winograd_input_1d(t + k * 6, o);
        for (int j = 0; j < 6; ++j) _mm256_storeu_ps(dst + (k * 6 + j) * e_stride, o[j]);
      }
    }
  }
}

void f32_winograd_grad_output_4x4_6panel_avx2(const WinogradChannelWindow* windows, int64_t tiles,
                                              int64_t c_begin, int64_t c_end, float* z,
                                              int64_t tile_stride, int64_t panel, int64_t e_stride,
                                              float* sums) {
  for (int64_t tile = 0; tile < tiles; ++tile) {
    const WinogradChannelWindow& w = windows[tile];
    const __m128i mask = _mm256_castsi256_si128(column_mask8(w));
    float* const z_tile = z + tile * tile_stride;
    for (int64_t c0 = c_begin; c0 < c_end; c0 += 8) {
      const int lanes = c_end - c0 < 8 ? int(c_end - c0) : 8;
      __m256 d[16];  // d[i * 4 + j]: row i, column j; lanes 0..3 and 4..7 are channels c0 + l
      for (int i = 0; i < 4; ++i) {
        __m128 x[8];
        if (w.whole && lanes == 8) {
          for (int l = 0; l < 8; ++l)
            x[l] = _mm_loadu_ps(at(w.corner, (c0 + l) * w.plane + i * w.ld));
        } else {
          const bool inside = i >= w.row_begin && i < w.row_end;
          for (int l = 0; l < 8; ++l) {
            x[l] = inside && l < lanes
                       ? _mm_maskload_ps(at(w.corner, (c0 + l) * w.plane + i * w.ld), mask)
                       : _mm_setzero_ps();
          }
        }
        __m256 r[4];
        for (int l = 0; l < 4; ++l)
          r[l] = _mm256_insertf128_ps(_mm256_castps128_ps256(x[l]), x[l + 4], 1);
        const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
        const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
        d[i * 4 + 0] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
        d[i * 4 + 1] = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
        d[i * 4 + 2] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
        d[i * 4 + 3] = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
      }
      __m256 t[24];  // t[k * 4 + j] = (A y)[k][j]
      for (int j = 0; j < 4; ++j) {
        __m256 o[6];
        output_adjoint_1d(d[j], d[4 + j], d[8 + j], d[12 + j], o);
        for (int k = 0; k < 6; ++k) t[k * 4 + j] = o[k];
      }
      for (int k = 0; k < 6; ++k) {
        __m256 o[6];
        output_adjoint_1d(t[k * 4], t[k * 4 + 1], t[k * 4 + 2], t[k * 4 + 3], o);
        if (k == 1 && sums != nullptr) {
          // Row 1 of A is all ones, so element (1, 1) is the sum of the tile.
          float* s = sums + (c0 - c_begin);
          if (lanes == 8) {
            _mm256_storeu_ps(s, _mm256_add_ps(_mm256_loadu_ps(s), o[1]));
          } else {
            alignas(32) float part[8];
            _mm256_store_ps(part, o[1]);
            for (int l = 0; l < lanes; ++l) s[l] += part[l];
          }
        }
        for (int m = 0; m < 6; ++m) {
          float* ze = z_tile + (k * 6 + m) * e_stride;
          if (lanes == 8) {
            store_6panel(o[m], c0, ze, panel);
          } else {
            alignas(32) float part[8];
            _mm256_store_ps(part, o[m]);
            for (int l = 0; l < lanes; ++l) ze[(c0 + l) / 6 * panel + (c0 + l) % 6] = part[l];
          }
        }
      }
    }
  }
}

void f32_winograd_grad_weight_3x3_avx2(const float* u, int64_t u_stride, int lanes, float* dw) {
  __m256 t[18];  // t[r * 6 + j] = (G^T u)[r][j]
  for (int j = 0; j < 6; ++j) {
    __m256 col[6], g[3];
    for (int k = 0; k < 6; ++k) col[k] = _mm256_loadu_ps(u + (k * 6 + j) * u_stride);
    weight_adjoint_1d(col, g);
    for (int r = 0; r < 3; ++r) t[r * 6 + j] = g[r];
  }
  __m256 taps[8];
  alignas(32) float last[8];
  for (int r = 0; r < 3; ++r) {
    __m256 g[3];
    weight_adjoint_1d(t + r * 6, g);
    for (int q = 0; q < 3; ++q) {
      if (r * 3 + q < 8) {
        taps[r * 3 + q] = g[q];
      } else {
        _mm256_store_ps(last, g[q]);
      }
    }
  }
  avx2::transpose8x8(taps);  // taps[l]: taps 0..7 of lane l
  if (lanes == 8) {
    for (int l = 0; l < 8; ++l) {
      _mm256_storeu_ps(dw + l * 9, taps[l]);
      dw[l * 9 + 8] = last[l];
    }
    return;
  }
  for (int l = 0; l < lanes; ++l) {
    alignas(32) float row[8];
    _mm256_store_ps(row, taps[l]);
    for (int k = 0; k < 8; ++k) dw[l * 9 + k] = row[k];
    dw[l * 9 + 8] = last[l];
  }
}

}  // namespace convnet

#endif  // CONVNET_HAVE_X86_KERNELS
