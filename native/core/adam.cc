#include "adam.h"

#include <cmath>

#include "thread_pool.h"

namespace convnet {
namespace {

// Memory-bound (five arrays): only tensors this large are split over threads.
constexpr int64_t kGrain = 1 << 15;

template <bool kAmsgrad>
void update_range(const AdamStep& p, int64_t begin, int64_t end, float* w, const float* g, float* m,
                  float* v, float* v_max) {
  for (int64_t i = begin; i < end; ++i) {
    const float wi = w[i];
    const float d = p.sign * g[i] + p.l2 * wi;
    const float mi = p.beta1 * m[i] + p.one_minus_beta1 * d;
    const float vi = p.beta2 * v[i] + p.one_minus_beta2 * d * d;
    m[i] = mi;
    v[i] = vi;
    float second = vi;
    if (kAmsgrad) {
      const float prev = v_max[i];
      second = prev > vi ? prev : vi;
      v_max[i] = second;
    }
    w[i] = wi * p.decay - p.step_size * mi / (std::sqrt(second) * p.inv_bias2_sqrt + p.eps);
  }
}

}  // namespace

void adam_update(const AdamStep& p, int64_t n, float* w, const float* g, float* m, float* v,
                 float* v_max) {
  parallel_range(n, kGrain, [&](int64_t begin, int64_t end) {
    if (v_max != nullptr) {
      update_range<true>(p, begin, end, w, g, m, v, v_max);
    } else {
      update_range<false>(p, begin, end, w, g, m, v, v_max);
    }
  });
}

}  // namespace convnet
