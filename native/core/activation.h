// Elementwise activations and their gradients. y may alias x, and dx may alias dy.
#ifndef CONVNET_CORE_ACTIVATION_H_
#define CONVNET_CORE_ACTIVATION_H_

#include <cstdint>

namespace convnet {

void relu(int64_t n, const float* x, float* y);
void relu_backward(int64_t n, const float* x, const float* dy, float* dx);
void leaky_relu(int64_t n, const float* x, float* y, float slope);
void leaky_relu_backward(int64_t n, const float* x, const float* dy, float* dx, float slope);
void sigmoid(int64_t n, const float* x, float* y);
// From the forward output y: dx = dy * y * (1 - y).
void sigmoid_backward(int64_t n, const float* y, const float* dy, float* dx);
void tanh_forward(int64_t n, const float* x, float* y);
// From the forward output y: dx = dy * (1 - y^2).
void tanh_backward(int64_t n, const float* y, const float* dy, float* dx);

}  // namespace convnet

#endif  // CONVNET_CORE_ACTIVATION_H_
