// Inline AVX2 + FMA3 helpers shared by the kernels of this folder: the 8x8 register transpose
// (packing and the Winograd transforms turn rows into lanes with it) and the F(4x4, 3x3) 1-D
// transforms that more than one Winograd kernel applies. Include only from files compiled with
// -mavx2 -mfma.
#ifndef CONVNET_KERNELS_AVX2_AVX2_INLINE_H_
#define CONVNET_KERNELS_AVX2_AVX2_INLINE_H_

#include <immintrin.h>

namespace convnet {
namespace avx2 {

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

// B^T d on six vectors (the same map as conv2d_winograd.cc's F4x4::input).
inline void winograd_input_1d(const __m256 d[6], __m256 o[6]) {
  const __m256 four = _mm256_set1_ps(4.0f), five = _mm256_set1_ps(5.0f);
  const __m256 two = _mm256_set1_ps(2.0f);
  o[0] = _mm256_fmadd_ps(four, d[0], _mm256_fnmadd_ps(five, d[2], d[4]));
  o[1] = _mm256_fnmadd_ps(four, _mm256_add_ps(d[1], d[2]), _mm256_add_ps(d[3], d[4]));
  o[2] = _mm256_fmadd_ps(four, _mm256_sub_ps(d[1], d[2]), _mm256_sub_ps(d[4], d[3]));
  const __m256 d31 = _mm256_sub_ps(d[3], d[1]), d42 = _mm256_sub_ps(d[4], d[2]);
  o[3] = _mm256_fmadd_ps(two, d31, d42);
  o[4] = _mm256_fnmadd_ps(two, d31, d42);
  o[5] = _mm256_fmadd_ps(four, d[1], _mm256_fnmadd_ps(five, d[3], d[5]));
}

// G g on three vectors, giving six (conv2d_winograd.cc's F4x4::weight). Every weight transform
// uses this one, so that they all give the same values.
inline void winograd_weight_1d(__m256 g0, __m256 g1, __m256 g2, __m256 u[6]) {
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

// The first half of G g G^T for eight 3x3 kernels, one per lane (k[l]: nine floats, rotated by
// 180 degrees when flip is set): t[i * 3 + j] = (G g)[i][j].
inline void winograd_weight_columns(const float* const k[8], bool flip, __m256 t[18]) {
  __m256 r[8];
  for (int l = 0; l < 8; ++l) r[l] = _mm256_loadu_ps(k[l]);  // taps 0..7
  transpose8x8(r);
  const __m256 last =
      _mm256_setr_ps(k[0][8], k[1][8], k[2][8], k[3][8], k[4][8], k[5][8], k[6][8], k[7][8]);
  __m256 g[9];
  for (int tap = 0; tap < 8; ++tap) g[flip ? 8 - tap : tap] = r[tap];
  g[flip ? 0 : 8] = last;
  for (int j = 0; j < 3; ++j) {
    __m256 o[6];
    winograd_weight_1d(g[j], g[3 + j], g[6 + j], o);
    for (int i = 0; i < 6; ++i) t[i * 3 + j] = o[i];
  }
}

}  // namespace avx2
}  // namespace convnet

#endif  // CONVNET_KERNELS_AVX2_AVX2_INLINE_H_
