// Bias broadcast along the channel axis of a tensor viewed as [outer, channels, inner].
#ifndef CONVNET_CORE_BIAS_ADD_H_
#define CONVNET_CORE_BIAS_ADD_H_

#include <cstdint>

namespace convnet {

struct BiasShape {
  int64_t outer, channels, inner;
};

// y = x + bias[c] (y may alias x).
void bias_add(const BiasShape& s, const float* x, const float* bias, float* y);
// dbias[c] = sum of dy over outer and inner (overwritten).
void bias_add_backward(const BiasShape& s, const float* dy, float* dbias);

}  // namespace convnet

#endif  // CONVNET_CORE_BIAS_ADD_H_
