#include "elementwise.h"

#include "map_blocks.h"
#include "thread_pool.h"

namespace convnet {
namespace {

// Memory-bound: only arrays this large are split over threads.
constexpr int64_t kGrain = 1 << 16;

}  // namespace

void add(int64_t n, const float* a, const float* b, float* out) {
  parallel_range(n, kGrain, [&](int64_t begin, int64_t end) {
    map_blocks(begin, end, out, [&](int64_t i) { return a[i] + b[i]; });
  });
}

void axpy(int64_t n, float alpha, const float* x, float* y) {
  parallel_range(n, kGrain, [&](int64_t begin, int64_t end) {
    if (alpha == 1.0f) {
      map_blocks(begin, end, y, [&](int64_t i) { return y[i] + x[i]; });
    } else {
      map_blocks(begin, end, y, [&](int64_t i) { return y[i] + alpha * x[i]; });
    }
  });
}

}  // namespace convnet
