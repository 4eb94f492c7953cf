// Elementwise arithmetic on float arrays: the residual add and gradient accumulation.
#ifndef CONVNET_CORE_ELEMENTWISE_H_
#define CONVNET_CORE_ELEMENTWISE_H_

#include <cstdint>

namespace convnet {

// out = a + b; out may alias a or b.
void add(int64_t n, const float* a, const float* b, float* out);
// y += alpha * x (BLAS saxpy); y may alias x.
void axpy(int64_t n, float alpha, const float* x, float* y);

}  // namespace convnet

#endif  // CONVNET_CORE_ELEMENTWISE_H_
