#include "activation.h"

#include <cmath>

#include "map_blocks.h"
#include "thread_pool.h"

namespace convnet {
namespace {

// Elementwise work is memory-bound: split only arrays big enough to amortize waking threads.
constexpr int64_t kGrain = 1 << 16;

template <class Fn>
void for_chunks(int64_t n, Fn fn) {
  parallel_range(n, kGrain, fn);
}

}  // namespace

void relu(int64_t n, const float* x, float* y) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    // NaN is kept, as in PyTorch.
    map_blocks(b, e, y, [&](int64_t i) {
      const float v = x[i];
      return v < 0.0f ? 0.0f : v;
    });
  });
}

void relu_backward(int64_t n, const float* x, const float* dy, float* dx) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    map_blocks(b, e, dx, [&](int64_t i) {
      const float g = dy[i];
      return x[i] > 0.0f ? g : 0.0f;
    });
  });
}

void leaky_relu(int64_t n, const float* x, float* y, float slope) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    map_blocks(b, e, y, [&](int64_t i) {
      const float v = x[i];
      return v < 0.0f ? v * slope : v;
    });
  });
}

void leaky_relu_backward(int64_t n, const float* x, const float* dy, float* dx, float slope) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    map_blocks(b, e, dx, [&](int64_t i) {
      const float g = dy[i];
      return x[i] > 0.0f ? g : g * slope;
    });
  });
}

void sigmoid(int64_t n, const float* x, float* y) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      // exp of a non-positive argument only, so large |x| neither overflows nor loses 1 - y.
      const float v = x[i];
      if (v >= 0.0f) {
        y[i] = 1.0f / (1.0f + std::exp(-v));
      } else {
        const float t = std::exp(v);
        y[i] = t / (1.0f + t);
      }
    }
  });
}

void sigmoid_backward(int64_t n, const float* y, const float* dy, float* dx) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    map_blocks(b, e, dx, [&](int64_t i) { return dy[i] * y[i] * (1.0f - y[i]); });
  });
}

void tanh_forward(int64_t n, const float* x, float* y) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = std::tanh(x[i]);
  });
}

void tanh_backward(int64_t n, const float* y, const float* dy, float* dx) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    map_blocks(b, e, dx, [&](int64_t i) { return dy[i] * (1.0f - y[i] * y[i]); });
  });
}

}  // namespace convnet
