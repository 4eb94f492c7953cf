// Peak probe in portable C++: 12 independent multiply-add chains, one float each.
#include "../../core/micro_kernel.h"

namespace convnet {

const int64_t kFmaPeakScalarFlopsPerRound = 12 * 2;

float fma_peak_scalar(int64_t iterations) {
  float acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = float(i);
  const float m = 0.999999f, add = 1e-6f;
  for (int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < 12; ++i) acc[i] = acc[i] * m + add;
  }
  float total = 0.0f;
  for (float v : acc) total += v;
  return total;
}

}  // namespace convnet
