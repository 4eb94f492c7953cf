#include "softmax.h"

#include <algorithm>
#include <cmath>

#include "thread_pool.h"

namespace convnet {
namespace {

template <class Fn>
void for_rows(int64_t rows, int64_t cols, Fn fn) {
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(cols, 1));
  parallel_range(rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) fn(r * cols);
  });
}

float row_max(int64_t cols, const float* x) {
  float m = -INFINITY;
  for (int64_t j = 0; j < cols; ++j) {
    if (x[j] > m || std::isnan(x[j])) m = x[j];
  }
  return m;
}

}  // namespace

void softmax(int64_t rows, int64_t cols, const float* x, float* y) {
  for_rows(rows, cols, [&](int64_t off) {
    const float* xr = x + off;
    float* yr = y + off;
    const float m = row_max(cols, xr);
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      const float e = std::exp(xr[j] - m);
      yr[j] = e;
      sum += e;
    }
    const float inv = float(1.0 / sum);
    for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
  });
}

void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  for_rows(rows, cols, [&](int64_t off) {
    double dot = 0.0;
    for (int64_t j = 0; j < cols; ++j) dot += double(dy[off + j]) * double(y[off + j]);
    const float d = float(dot);
    for (int64_t j = 0; j < cols; ++j) dx[off + j] = y[off + j] * (dy[off + j] - d);
  });
}

void log_softmax(int64_t rows, int64_t cols, const float* x, float* y) {
  for_rows(rows, cols, [&](int64_t off) {
    const float* xr = x + off;
    float* yr = y + off;
    const float m = row_max(cols, xr);
    double sum = 0.0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(xr[j] - m);
    const float log_sum = float(std::log(sum));
    for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - log_sum;
  });
}

void log_softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx) {
  for_rows(rows, cols, [&](int64_t off) {
    double total = 0.0;
    for (int64_t j = 0; j < cols; ++j) total += dy[off + j];
    const float t = float(total);
    for (int64_t j = 0; j < cols; ++j) dx[off + j] = dy[off + j] - std::exp(y[off + j]) * t;
  });
}

}  // namespace convnet
