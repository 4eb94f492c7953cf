// Packing of row-major rows into column-interleaved panels for the 6x16 micro-kernel: A when it
// is not transposed (mr = 6 rows) and B when it is (nr = 16 rows). Done one scalar at a time,
// this gather costs several cycles per float, as much as the multiply-adds of a skinny product
// (8192x32x256 spends 64 flops per packed float of A); 8x8 register transposes make it a fraction
// of a cycle. Compiled with -mavx2 -mfma only.
#include "../../core/micro_kernel.h"

#if defined(CONVNET_HAVE_X86_KERNELS)

#include <immintrin.h>

#include "avx2_inline.h"

namespace convnet {
namespace {

// dst[p * kWidth + i] = src[i * ld + p] for i < rows (zero for rows <= i < kWidth), p < kc.
// Each group of 8 rows is transposed 8 columns at a time; the columns of a 6-wide panel are
// stored as 8 floats in increasing order, each store's 2 extra floats overwritten by the next
// one, the last column's store masked.
template <int kWidth>
void pack_transposed(int64_t rows, int64_t kc, const float* src, int64_t ld, float* dst) {
  static_assert(kWidth == 6 || kWidth % 8 == 0, "panel width");
  const __m256i keep6 = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
  for (int g = 0; g < kWidth; g += 8) {
    const int group_rows = int(rows - g < 8 ? (rows - g < 0 ? 0 : rows - g) : 8);
    const float* s = src + g * ld;
    float* d = dst + g;
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) {
        r[i] = i < group_rows ? _mm256_loadu_ps(s + i * ld + p) : _mm256_setzero_ps();
      }
      avx2::transpose8x8(r);
      float* col = d + p * kWidth;
      if (kWidth == 6) {
        for (int j = 0; j < 7; ++j) _mm256_storeu_ps(col + j * kWidth, r[j]);
        if (p + 8 < kc) {
          _mm256_storeu_ps(col + 7 * kWidth, r[7]);
        } else {
          _mm256_maskstore_ps(col + 7 * kWidth, keep6, r[7]);
        }
      } else {
        for (int j = 0; j < 8; ++j) _mm256_storeu_ps(col + j * kWidth, r[j]);
      }
    }
    const int width = kWidth < 8 ? kWidth : 8;
    for (; p < kc; ++p) {
      float* col = d + p * kWidth;
      for (int i = 0; i < width; ++i) col[i] = i < group_rows ? s[i * ld + p] : 0.0f;
    }
  }
}

}  // namespace

void f32_gemm_pack_6_transposed_avx2(int64_t rows, int64_t kc, const float* src, int64_t ld,
                                     float* dst) {
  pack_transposed<6>(rows, kc, src, ld, dst);
}

void f32_gemm_pack_16_transposed_avx2(int64_t rows, int64_t kc, const float* src, int64_t ld,
                                      float* dst) {
  pack_transposed<16>(rows, kc, src, ld, dst);
}

}  // namespace convnet

#endif  // CONVNET_HAVE_X86_KERNELS
