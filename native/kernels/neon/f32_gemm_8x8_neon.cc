// 8x8 micro-kernel for AArch64 NEON: 16 q-register accumulators, fused multiply-add by lane.
// Compiled only for arm64 (the build adds this folder only there, and the guard below keeps
// a stray x86 compile empty).
#include "../../core/micro_kernel.h"

#if defined(CONVNET_HAVE_NEON_KERNELS)

#include <arm_neon.h>

namespace convnet {

void f32_gemm_8x8_neon(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                       float alpha, float beta) {
  float32x4_t acc[8][2];
  for (int i = 0; i < 8; ++i) {
    acc[i][0] = vdupq_n_f32(0.0f);
    acc[i][1] = vdupq_n_f32(0.0f);
  }
  for (int64_t p = 0; p < kc; ++p) {
    const float32x4_t a_lo = vld1q_f32(a);
    const float32x4_t a_hi = vld1q_f32(a + 4);
    const float32x4_t b0 = vld1q_f32(b);
    const float32x4_t b1 = vld1q_f32(b + 4);
    acc[0][0] = vfmaq_laneq_f32(acc[0][0], b0, a_lo, 0);
    acc[0][1] = vfmaq_laneq_f32(acc[0][1], b1, a_lo, 0);
    acc[1][0] = vfmaq_laneq_f32(acc[1][0], b0, a_lo, 1);
    acc[1][1] = vfmaq_laneq_f32(acc[1][1], b1, a_lo, 1);
    acc[2][0] = vfmaq_laneq_f32(acc[2][0], b0, a_lo, 2);
    acc[2][1] = vfmaq_laneq_f32(acc[2][1], b1, a_lo, 2);
    acc[3][0] = vfmaq_laneq_f32(acc[3][0], b0, a_lo, 3);
    acc[3][1] = vfmaq_laneq_f32(acc[3][1], b1, a_lo, 3);
    acc[4][0] = vfmaq_laneq_f32(acc[4][0], b0, a_hi, 0);
    acc[4][1] = vfmaq_laneq_f32(acc[4][1], b1, a_hi, 0);
    acc[5][0] = vfmaq_laneq_f32(acc[5][0], b0, a_hi, 1);
    acc[5][1] = vfmaq_laneq_f32(acc[5][1], b1, a_hi, 1);
    acc[6][0] = vfmaq_laneq_f32(acc[6][0], b0, a_hi, 2);
    acc[6][1] = vfmaq_laneq_f32(acc[6][1], b1, a_hi, 2);
    acc[7][0] = vfmaq_laneq_f32(acc[7][0], b0, a_hi, 3);
    acc[7][1] = vfmaq_laneq_f32(acc[7][1], b1, a_hi, 3);
    a += 8;
    b += 8;
  }
  for (int i = 0; i < 8; ++i) {
    float* row = c + i * ldc;
    float32x4_t lo = vmulq_n_f32(acc[i][0], alpha);
    float32x4_t hi = vmulq_n_f32(acc[i][1], alpha);
    if (beta != 0.0f) {
      lo = vfmaq_n_f32(lo, vld1q_f32(row), beta);
      hi = vfmaq_n_f32(hi, vld1q_f32(row + 4), beta);
    }
    vst1q_f32(row, lo);
    vst1q_f32(row + 4, hi);
  }
}

}  // namespace convnet

#endif  // CONVNET_HAVE_NEON_KERNELS
