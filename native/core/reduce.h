// Sums over contiguous float runs, vectorizable without -ffast-math: eight independent partial
// sums (one 256-bit vector, or two 128-bit ones), so the compiler need not reorder additions.
#ifndef CONVNET_CORE_REDUCE_H_
#define CONVNET_CORE_REDUCE_H_

#include <cstdint>

namespace convnet {

// sum of x[0 .. n).
inline float sum_floats(const float* x, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j];
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) s += x[i];
  return s;
}

// sum of (x[i] - shift)^2 over [0, n).
inline float sum_squared_deviations(const float* x, int64_t n, float shift) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) {
      const float d = x[i + j] - shift;
      acc[j] += d * d;
    }
  }
  float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) {
    const float d = x[i] - shift;
    s += d * d;
  }
  return s;
}

// sum of dy[i] and of dy[i] * (x[i] - shift) over [0, n), in one pass.
inline void sum_and_dot_deviations(const float* dy, const float* x, int64_t n, float shift,
                                   float* sum, float* dot) {
  float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) {
      const float g = dy[i + j];
      a[j] += g;
      b[j] += g * (x[i + j] - shift);
    }
  }
  float s = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
  float d = ((b[0] + b[4]) + (b[1] + b[5])) + ((b[2] + b[6]) + (b[3] + b[7]));
  for (; i < n; ++i) {
    s += dy[i];
    d += dy[i] * (x[i] - shift);
  }
  *sum = s;
  *dot = d;
}

}  // namespace convnet

#endif  // CONVNET_CORE_REDUCE_H_
