// Winograd F(4x4, 3x3) input and output transforms of eight tiles for AVX2 + FMA3: the tiles'
// rows are loaded as vectors and transposed (8x8, in registers) so that the transform runs with
// one tile per lane. Compiled with -mavx2 -mfma only.
#include "../../core/winograd_kernels.h"

#if defined(CONVNET_HAVE_X86_KERNELS)

#include <immintrin.h>

#include "avx2_inline.h"

namespace convnet {
namespace {

// A^T m on six vectors, giving four.
inline void output_1d(const __m256 m[6], __m256 o[4]) {
  const __m256 a = _mm256_add_ps(m[1], m[2]), b = _mm256_sub_ps(m[1], m[2]);
  const __m256 c = _mm256_add_ps(m[3], m[4]), e = _mm256_sub_ps(m[3], m[4]);
  o[0] = _mm256_add_ps(_mm256_add_ps(m[0], a), c);
  o[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), e, b);
  o[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), c, a);
  o[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.0f), e, b), m[5]);
}

}  // namespace

void f32_winograd_weight_3x3_avx2(const float* const* kernels, bool flip, float* u,
                                  int64_t u_stride, int lanes) {
  __m256 t[18];  // t[i * 3 + j] = (G g)[i][j]
  avx2::winograd_weight_columns(kernels, flip, t);
  alignas(32) int32_t mask_bits[8];
  for (int l = 0; l < 8; ++l) mask_bits[l] = l < lanes ? -1 : 0;
  const __m256i mask = _mm256_load_si256(reinterpret_cast<const __m256i*>(mask_bits));
  for (int i = 0; i < 6; ++i) {
    __m256 o[6];
    avx2::winograd_weight_1d(t[i * 3], t[i * 3 + 1], t[i * 3 + 2], o);
    // A masked store costs several times a plain one.
    if (lanes == 8) {
      for (int j = 0; j < 6; ++j) _mm256_storeu_ps(u + (i * 6 + j) * u_stride, o[j]);
    } else {
      for (int j = 0; j < 6; ++j) _mm256_maskstore_ps(u + (i * 6 + j) * u_stride, mask, o[j]);
    }
  }
}

void f32_winograd_input_6x6_avx2(const WinogradWindows& w, float* out, int64_t out_stride) {
  __m256 t[36];  // after the row pass: t[k * 6 + j] = (B^T d)[k][j]
  __m256 d[36];  // d[i * 6 + j]: row i, column j of every tile
  // Lanes whose six columns all lie inside need no clearing (columns 6 and 7 are ignored).
  bool full_columns[8];
  for (int l = 0; l < 8; ++l) {
    const __m256 mask = _mm256_loadu_ps(reinterpret_cast<const float*>(w.column_mask[l]));
    full_columns[l] = (_mm256_movemask_ps(mask) & 0x3f) == 0x3f;
  }
  for (int i = 0; i < 6; ++i) {
    __m256 r[8];
    for (int l = 0; l < 8; ++l) {
      if (i < w.row_begin[l] || i >= w.row_end[l]) {
        r[l] = _mm256_setzero_ps();
      } else if (w.whole_rows[l]) {
        // A plain load and the columns outside cleared in registers: a masked load costs
        // several times as much.
        r[l] = _mm256_loadu_ps(w.origin[l] + i * w.ld);
        if (!full_columns[l]) {
          r[l] = _mm256_and_ps(r[l],
                               _mm256_loadu_ps(reinterpret_cast<const float*>(w.column_mask[l])));
        }
      } else {
        // Masked-off elements are not accessed (no fault), so the window may hang off the plane.
        const __m256i mask = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.column_mask[l]));
        r[l] = _mm256_maskload_ps(w.origin[l] + i * w.ld, mask);
      }
    }
    avx2::transpose8x8(r);
    for (int j = 0; j < 6; ++j) d[i * 6 + j] = r[j];
  }
  for (int j = 0; j < 6; ++j) {
    const __m256 col[6] = {d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j]};
    __m256 o[6];
    avx2::winograd_input_1d(col, o);
    for (int k = 0; k < 6; ++k) t[k * 6 + j] = o[k];
  }
  for (int k = 0; k < 6; ++k) {
    __m256 o[6];
    avx2::winograd_input_1d(t + k * 6, o);
    for (int j = 0; j < 6; ++j) _mm256_storeu_ps(out + (k * 6 + j) * out_stride, o[j]);
  }
}

void f32_winograd_input_6x6_masked_avx2(const WinogradMaskedWindows& w, float* out,
                                        int64_t out_stride) {
  __m256 d[36];  // d[i * 6 + j]: row i, column j of every tile
  for (int i = 0; i < 6; ++i) {
    __m256 r[8];
    for (int l = 0; l < 8; ++l) {
      const __m256 mask =
          _mm256_castsi256_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(w.mask[i][l])));
      r[l] = _mm256_and_ps(_mm256_loadu_ps(w.origin[l] + i * w.ld), mask);
    }
    avx2::transpose8x8(r);
    for (int j = 0; j < 6; ++j) d[i * 6 + j] = r[j];
  }
  __m256 t[36];  // after the column pass: t[k * 6 + j] = (B^T d)[k][j]
  for (int j = 0; j < 6; ++j) {
    const __m256 col[6] = {d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j]};
    __m256 o[6];
    avx2::winograd_input_1d(col, o);
    for (int k = 0; k < 6; ++k) t[k * 6 + j] = o[k];
  }
  for (int k = 0; k < 6; ++k) {
    __m256 o[6];
    avx2::winograd_input_1d(t + k * 6, o);
    for (int j = 0; j < 6; ++j) _mm256_storeu_ps(out + (k * 6 + j) * out_stride, o[j]);
  }
}

void f32_winograd_output_4x4_avx2(const float* m, int64_t m_stride, float bias, float* const* tiles,
                                  int64_t ld) {
  __m256 t[24];  // after the column pass: t[r * 6 + j]
  for (int j = 0; j < 6; ++j) {
    __m256 col[6], o[4];
    for (int i = 0; i < 6; ++i) col[i] = _mm256_loadu_ps(m + (i * 6 + j) * m_stride);
    output_1d(col, o);
    for (int r = 0; r < 4; ++r) t[r * 6 + j] = o[r];
  }
  const __m256 b = _mm256_set1_ps(bias);
  for (int r = 0; r < 4; ++r) {
    __m256 o[4];
    output_1d(t + r * 6, o);
    for (int c = 0; c < 4; ++c) o[c] = _mm256_add_ps(o[c], b);
    // Four columns of eight lanes to eight rows of four: a 4x4 transpose in each 128-bit half
    // leaves lane l's row in half l / 4 of vector l % 4.
    const __m256 t0 = _mm256_unpacklo_ps(o[0], o[1]), t1 = _mm256_unpackhi_ps(o[0], o[1]);
    const __m256 t2 = _mm256_unpacklo_ps(o[2], o[3]), t3 = _mm256_unpackhi_ps(o[2], o[3]);
    const __m256 row[4] = {_mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
                           _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2))};
    for (int l = 0; l < 4; ++l) {
      _mm_storeu_ps(tiles[l] + r * ld, _mm256_castps256_ps128(row[l]));
      _mm_storeu_ps(tiles[l + 4] + r * ld, _mm256_extractf128_ps(row[l], 1));
    }
  }
}

}  // namespace convnet

#endif  // CONVNET_HAVE_X86_KERNELS
