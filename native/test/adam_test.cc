// The Adam update against torch's algorithm in double, with and without amsgrad, 1 and 3 threads.
#include <cmath>
#include <vector>

#include "../core/adam.h"
#include "../core/thread_pool.h"
#include "reference.h"
#include "test_framework.h"

using convnet_test::compare;
using convnet_test::random_vector;

TEST(adam_update_matches_torch_algorithm) {
  convnet::ThreadPool& pool = convnet::ThreadPool::global();
  const int saved = pool.num_threads();
  const int64_t n = 100003;
  const double lr = 2e-3, b1 = 0.9, b2 = 0.99, eps = 1e-6, wd = 0.05;
  const int t = 5;
  for (int threads : {1, 3}) {
    pool.set_num_threads(threads);
    for (bool amsgrad : {false, true}) {
      std::vector<float> w = random_vector(n, 1200), g = random_vector(n, 1201);
      std::vector<float> m = random_vector(n, 1202, -0.1f, 0.1f);
      std::vector<float> v = random_vector(n, 1203, 0.0f, 0.01f);
      std::vector<float> vmax = random_vector(n, 1204, 0.0f, 0.012f);
      std::vector<double> want_w(n), want_m(n), want_v(n), want_vmax(n);
      for (int64_t i = 0; i < n; ++i) {
        const double d = g[i] + wd * w[i];  // Adam: L2 on the gradient
        want_m[i] = b1 * m[i] + (1 - b1) * d;
        want_v[i] = b2 * v[i] + (1 - b2) * d * d;
        want_vmax[i] = std::max<double>(vmax[i], want_v[i]);
        const double second = amsgrad ? want_vmax[i] : want_v[i];
        want_w[i] = w[i] - lr / (1 - std::pow(b1, t)) * want_m[i] /
                               (std::sqrt(second / (1 - std::pow(b2, t))) + eps);
      }
      const convnet::AdamStep p{float(b1),
                                float(b2),
                                float(1 - b1),
                                float(1 - b2),
                                float(lr / (1 - std::pow(b1, t))),
                                float(1 / std::sqrt(1 - std::pow(b2, t))),
                                float(eps),
                                float(wd),
                                1.0f,
                                1.0f};
      convnet::adam_update(p, n, w.data(), g.data(), m.data(), v.data(),
                           amsgrad ? vmax.data() : nullptr);
      // float32 terms of about 0.1 carry 4e-9 rounding each, also where they nearly cancel.
      EXPECT_MSG(compare(m, want_m, 3e-8, 1e-6).empty(), compare(m, want_m, 3e-8, 1e-6));
      EXPECT(compare(v, want_v, 1e-9, 1e-6).empty());
      EXPECT_MSG(compare(w, want_w, 1e-7, 1e-5).empty(), compare(w, want_w, 1e-7, 1e-5));
      if (amsgrad) EXPECT(compare(vmax, want_vmax, 1e-9, 1e-6).empty());
    }
  }
  pool.set_num_threads(saved);
}
