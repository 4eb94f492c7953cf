// Peak probe for AArch64 NEON: 12 independent chains of 4-wide fused multiply-adds.
#include "../../core/micro_kernel.h"

#if defined(CONVNET_HAVE_NEON_KERNELS)

#include <arm_neon.h>

namespace convnet {

const int64_t kFmaPeakNeonFlopsPerRound = 12 * 4 * 2;

float fma_peak_neon(int64_t iterations) {
  const float32x4_t m = vdupq_n_f32(0.999999f);
  const float32x4_t add = vdupq_n_f32(1e-6f);
  float32x4_t acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = vdupq_n_f32(float(i));
  for (int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = vfmaq_f32(add, acc[i], m);
  }
  float32x4_t sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = vaddq_f32(sum, acc[i]);
  return vaddvq_f32(sum);
}

}  // namespace convnet

#endif  // CONVNET_HAVE_NEON_KERNELS
