// 4x4 micro-kernel in portable C++: the reference every other level is checked against, and
// the level used on CPUs without a SIMD kernel.
#include "../../core/micro_kernel.h"

namespace convnet {

void f32_gemm_4x4_scalar(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                         float alpha, float beta) {
  constexpr int kMr = 4, kNr = 4;
  float acc[kMr][kNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    for (int i = 0; i < kMr; ++i) {
      const float ai = a[i];
      for (int j = 0; j < kNr; ++j) acc[i][j] += ai * b[j];
    }
    a += kMr;
    b += kNr;
  }
  for (int i = 0; i < kMr; ++i) {
    float* row = c + i * ldc;
    for (int j = 0; j < kNr; ++j) {
      row[j] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * row[j];
    }
  }
}

}  // namespace convnet
