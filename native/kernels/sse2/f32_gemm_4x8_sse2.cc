// 4x8 micro-kernel for SSE2 (the x86-64 baseline, no FMA): 8 xmm accumulators.
#include "../../core/micro_kernel.h"

#if defined(CONVNET_HAVE_X86_KERNELS)

#include <emmintrin.h>

namespace convnet {

void f32_gemm_4x8_sse2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                       float alpha, float beta) {
  __m128 c00 = _mm_setzero_ps(), c01 = _mm_setzero_ps();
  __m128 c10 = _mm_setzero_ps(), c11 = _mm_setzero_ps();
  __m128 c20 = _mm_setzero_ps(), c21 = _mm_setzero_ps();
  __m128 c30 = _mm_setzero_ps(), c31 = _mm_setzero_ps();

  for (int64_t p = 0; p < kc; ++p) {
    const __m128 b0 = _mm_load_ps(b);
    const __m128 b1 = _mm_load_ps(b + 4);
    __m128 ai = _mm_set1_ps(a[0]);
    c00 = _mm_add_ps(c00, _mm_mul_ps(ai, b0));
    c01 = _mm_add_ps(c01, _mm_mul_ps(ai, b1));
    ai = _mm_set1_ps(a[1]);
    c10 = _mm_add_ps(c10, _mm_mul_ps(ai, b0));
    c11 = _mm_add_ps(c11, _mm_mul_ps(ai, b1));
    ai = _mm_set1_ps(a[2]);
    c20 = _mm_add_ps(c20, _mm_mul_ps(ai, b0));
    c21 = _mm_add_ps(c21, _mm_mul_ps(ai, b1));
    ai = _mm_set1_ps(a[3]);
    c30 = _mm_add_ps(c30, _mm_mul_ps(ai, b0));
    c31 = _mm_add_ps(c31, _mm_mul_ps(ai, b1));
    a += 4;
    b += 8;
  }

  const __m128 va = _mm_set1_ps(alpha);
  const __m128 acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  if (beta == 0.0f) {
    for (int i = 0; i < 4; ++i) {
      _mm_storeu_ps(c + i * ldc, _mm_mul_ps(va, acc[i][0]));
      _mm_storeu_ps(c + i * ldc + 4, _mm_mul_ps(va, acc[i][1]));
    }
  } else {
    const __m128 vb = _mm_set1_ps(beta);
    for (int i = 0; i < 4; ++i) {
      float* row = c + i * ldc;
      _mm_storeu_ps(row, _mm_add_ps(_mm_mul_ps(va, acc[i][0]), _mm_mul_ps(vb, _mm_loadu_ps(row))));
      _mm_storeu_ps(row + 4,
                    _mm_add_ps(_mm_mul_ps(va, acc[i][1]), _mm_mul_ps(vb, _mm_loadu_ps(row + 4))));
    }
  }
}

}  // namespace convnet

#endif  // CONVNET_HAVE_X86_KERNELS
