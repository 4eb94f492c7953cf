// Row-wise softmax and log-softmax over a row-major [rows, cols] matrix, numerically stable
// (the row maximum is subtracted before exponentiating). Outputs may alias inputs.
#ifndef CONVNET_CORE_SOFTMAX_H_
#define CONVNET_CORE_SOFTMAX_H_

#include <cstdint>

namespace convnet {

void softmax(int64_t rows, int64_t cols, const float* x, float* y);
// dx = y * (dy - sum(dy * y)) per row.
void softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx);
// y = x - max - log(sum(exp(x - max))) per row.
void log_softmax(int64_t rows, int64_t cols, const float* x, float* y);
// dx = dy - exp(y) * sum(dy) per row.
void log_softmax_backward(int64_t rows, int64_t cols, const float* y, const float* dy, float* dx);

}  // namespace convnet

#endif  // CONVNET_CORE_SOFTMAX_H_
