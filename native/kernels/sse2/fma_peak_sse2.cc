// Peak probe for SSE2: no fused multiply-add, so each round is a 4-wide multiply and add on
// 12 independent chains.
#include "../../core/micro_kernel.h"

#if defined(CONVNET_HAVE_X86_KERNELS)

#include <emmintrin.h>

namespace convnet {

const int64_t kFmaPeakSse2FlopsPerRound = 12 * 4 * 2;

float fma_peak_sse2(int64_t iterations) {
  const __m128 m = _mm_set1_ps(0.999999f);
  const __m128 add = _mm_set1_ps(1e-6f);
  __m128 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm_set1_ps(float(i));
  for (int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], m), add);
  }
  __m128 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm_add_ps(sum, acc[i]);
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, sum);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

}  // namespace convnet

#endif  // CONVNET_HAVE_X86_KERNELS
