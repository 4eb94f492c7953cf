#include "activation.h"

#include <cmath>

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
    for (int64_t i = b; i < e; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
  });
}

void relu_backward(int64_t n, const float* x, const float* dy, float* dx) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
  });
}

void leaky_relu(int64_t n, const float* x, float* y, float slope) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = x[i] < 0.0f ? x[i] * slope : x[i];
  });
}

void leaky_relu_backward(int64_t n, const float* x, const float* dy, float* dx, float slope) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * slope;
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
    for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
  });
}

void tanh_forward(int64_t n, const float* x, float* y) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = std::tanh(x[i]);
  });
}

void tanh_backward(int64_t n, const float* y, const float* dy, float* dx) {
  for_chunks(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
  });
}

}  // namespace convnet
