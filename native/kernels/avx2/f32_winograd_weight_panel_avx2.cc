// The Winograd F(4x4, 3x3) weight transform of a whole packed GEMM panel for AVX2 + FMA3 (see
// winograd_wide_kernels.h). The lanes are consecutive entries of the panel rather than its mr
// rows, so every result is one full 8-float store: the per-kernel transform with mr of 8
// lanes in use needs masked stores, which are slow on some cores. Compiled with -mavx2 -mfma
// only.
#include "../../core/winograd_wide_kernels.h"

#if defined(CONVNET_HAVE_X86_KERNELS)

#include <immintrin.h>

#include <cstdint>

namespace convnet {
namespace {

// r[j][l] = r[l][j] for an 8x8 block.
inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// G g on three vectors, giving six: the same operations as f32_winograd_weight_3x3_avx2's, so
// that both transforms give the same values.
inline void weight_1d(__m256 g0, __m256 g1, __m256 g2, __m256 u[6]) {
  const __m256 even = _mm256_add_ps(g0, g2);
  const __m256 minus_sixth = _mm256_sub_ps(_mm256_setzero_ps(), _mm256_set1_ps(1.0f / 6.0f));
  const __m256 a = _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 24.0f), g0,
                                   _mm256_mul_ps(_mm256_set1_ps(1.0f / 6.0f), g2));
  const __m256 b = _mm256_mul_ps(_mm256_set1_ps(1.0f / 12.0f), g1);
  u[0] = _mm256_mul_ps(_mm256_set1_ps(0.25f), g0);
  u[1] = _mm256_mul_ps(minus_sixth, _mm256_add_ps(even, g1));
  u[2] = _mm256_mul_ps(minus_sixth, _mm256_sub_ps(even, g1));
  u[3] = _mm256_add_ps(a, b);
  u[4] = _mm256_sub_ps(a, b);
  u[5] = g2;
}

constexpr int64_t kPrefetchDepths = 4;  // measured best of 2 to 8 on ResNet-18's layer4

}  // namespace

void f32_winograd_weight_panel_avx2(const float* w, int64_t row_stride, int64_t col_stride,
                                    bool flip, int mr, int rows, int64_t depth, float* u,
                                    int64_t u_stride) {
  static const float kZeros[9] = {};
  const int64_t count = depth * mr;
  const uintptr_t ahead = uintptr_t(kPrefetchDepths * col_stride) * sizeof(float);
  int row = 0;
  int64_t q = 0;  // the item of the next lane
  for (int64_t f0 = 0; f0 < count; f0 += 8) {
    const float* k[8];
    for (int l = 0; l < 8; ++l) {
      k[l] = f0 + l < count && row < rows ? w + row * row_stride + q * col_stride : kZeros;
      if (++row == mr) {
        row = 0;
        ++q;
      }
    }
    // When the depth is the slow axis of w (the input gradient's swapped channels) each
    // item's kernel lies pages away from the last, out of the hardware prefetchers' reach:
    // fetch the kernels a few depths ahead (prefetches do not fault, even past w's end).
    for (int l = 0; l < 8; l += 2) {
      _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(k[l]) + ahead),
                   _MM_HINT_T0);
    }
    __m256 r[8];
    for (int l = 0; l < 8; ++l) r[l] = _mm256_loadu_ps(k[l]);  // taps 0..7
    transpose8x8(r);
    const __m256 last =
        _mm256_setr_ps(k[0][8], k[1][8], k[2][8], k[3][8], k[4][8], k[5][8], k[6][8], k[7][8]);
    __m256 g[9];
    for (int t = 0; t < 8; ++t) g[flip ? 8 - t : t] = r[t];
    g[flip ? 0 : 8] = last;
    __m256 t[18];  // t[i * 3 + j] = (G g)[i][j]
    for (int j = 0; j < 3; ++j) {
      __m256 o[6];
      weight_1d(g[j], g[3 + j], g[6 + j], o);
      for (int i = 0; i < 6; ++i) t[i * 3 + j] = o[i];
    }
    float* dst = u + f0;
    if (count - f0 >= 8) {
      for (int i = 0; i < 6; ++i) {
        __m256 o[6];
        weight_1d(t[i * 3], t[i * 3 + 1], t[i * 3 + 2], o);
        for (int j = 0; j < 6; ++j) _mm256_storeu_ps(dst + (i * 6 + j) * u_stride, o[j]);
      }
      continue;
    }
    // The panel's last few entries: u has no room past them.
    const int left = int(count - f0);
    for (int i = 0; i < 6; ++i) {
      __m256 o[6];
      weight_1d(t[i * 3], t[i * 3 + 1], t[i * 3 + 2], o);
      for (int j = 0; j < 6; ++j) {
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, o[j]);
        for (int l = 0; l < left; ++l) dst[(i * 6 + j) * u_stride + l] = lanes[l];
      }
    }
  }
}

}  // namespace convnet

#endif  // CONVNET_HAVE_X86_KERNELS
