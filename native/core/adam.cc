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
  // Local copies: read through `p` the scalars might alias the arrays written, which keeps the
  // compiler from vectorizing the loop (a scalar sqrt and divide per element cost more than the
  // memory traffic).
  const float sign = p.sign, l2 = p.l2, beta1 = p.beta1, beta2 = p.beta2;
  const float one_minus_beta1 = p.one_minus_beta1, one_minus_beta2 = p.one_minus_beta2;
  const float decay = p.decay, step_size = p.step_size, inv_bias2_sqrt = p.inv_bias2_sqrt;
  const float eps = p.eps;
  for (int64_t i = begin; i < end; ++i) {
    const float wi = w[i];
    const float d = sign * g[i] + l2 * wi;
    const float mi = beta1 * m[i] + one_minus_beta1 * d;
    const float vi = beta2 * v[i] + one_minus_beta2 * d * d;
    m[i] = mi;
    v[i] = vi;
    float second = vi;
    if (kAmsgrad) {
      const float prev = v_max[i];
      second = prev > vi ? prev : vi;
      v_max[i] = second;
    }
    w[i] = wi * decay - step_size * mi / (std::sqrt(second) * inv_bias2_sqrt + eps);
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
