#include "bias_add.h"

#include <algorithm>

#include "reduce.h"
#include "thread_pool.h"

namespace convnet {

void bias_add(const BiasShape& s, const float* x, const float* bias, float* y) {
  const int64_t rows = s.outer * s.channels;
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(s.inner, 1));
  parallel_range(rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float b = bias[r % s.channels];
      const float* xr = x + r * s.inner;
      float* yr = y + r * s.inner;
      for (int64_t i = 0; i < s.inner; ++i) yr[i] = xr[i] + b;
    }
  });
}

void bias_add_backward(const BiasShape& s, const float* dy, float* dbias) {
  const int64_t grain =
      std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(s.outer * s.inner, 1));
  parallel_range(s.channels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      double sum = 0.0;
      for (int64_t o = 0; o < s.outer; ++o) {
        sum += sum_floats(dy + (o * s.channels + c) * s.inner, s.inner);
      }
      dbias[c] = float(sum);
    }
  });
}

}  // namespace convnet
