// Peak probe: 12 independent chains of 8-wide FMAs, enough to cover FMA latency x throughput
// on current x86 cores.
#include "../../core/micro_kernel.h"

#if defined(CONVNET_HAVE_X86_KERNELS)

#include <immintrin.h>

namespace convnet {

const int64_t kFmaPeakAvx2FlopsPerRound = 12 * 8 * 2;

float fma_peak_avx2(int64_t iterations) {
  const __m256 m = _mm256_set1_ps(0.999999f);
  const __m256 add = _mm256_set1_ps(1e-6f);
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i));
  for (int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], m, add);
  }
  __m256 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0.0f;
  for (float v : lanes) total += v;
  return total;
}

}  // namespace convnet

#endif  // CONVNET_HAVE_X86_KERNELS
