// Batch normalization over a tensor viewed as [outer, channels, inner] ([N, C, H, W]: outer N,
// inner H*W; [N, C]: inner 1): per-channel statistics over outer and inner, as PyTorch's
// batch_norm. Shapes and scalars are validated by the caller.
#ifndef CONVNET_CORE_BATCH_NORM_H_
#define CONVNET_CORE_BATCH_NORM_H_

#include <cstdint>

#include "bias_add.h"

namespace convnet {

// What the training forward applies to the normalized values before it stores them: ResNet's
// "batch norm, add the shortcut, ReLU" then makes one pass over memory instead of three.
//   y = relu(bn(x) + residual)   (residual may be null; relu false leaves it out)
// Each step rounds to float as the separate kernels do (add, relu), so y is bit-identical to them.
struct BatchNormEpilogue {
  const float* residual = nullptr;  // same shape as x; may alias neither y nor x
  bool relu = false;
};

// The backward pass of that fused forward: dy is the gradient of its output y, and the ReLU's
// mask comes from y itself (relu_out: y > 0 exactly where the ReLU's input was > 0, as
// relu_backward tests). The masked gradient is what reaches bn(x) and the residual; dresidual
// (may be null) receives it. relu_out null: no ReLU (dresidual = dy).
struct BatchNormBackwardEpilogue {
  const float* relu_out = nullptr;
  float* dresidual = nullptr;  // may alias neither dx nor dy
};

// Training: mean and biased variance of each channel over its M = outer * inner values (M >= 1)
// normalize x; y = (x - mean) * inv_std * gamma + beta (gamma, beta may be null: 1 and 0).
// save_mean and save_inv_std receive mean and 1 / sqrt(var + eps) for the backward pass. When
// running_mean and running_var are not null they are updated in place:
// running = (1 - momentum) * running + momentum * stat, with the unbiased variance (M > 1).
// y may alias x. `epilogue` (see above) is applied before y is stored.
void batch_norm_training(const BiasShape& s, float eps, float momentum, const float* x,
                         const float* gamma, const float* beta, float* y, float* save_mean,
                         float* save_inv_std, float* running_mean, float* running_var,
                         const BatchNormEpilogue& epilogue = BatchNormEpilogue());

// Evaluation: y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta. y may alias x.
void batch_norm_inference(const BiasShape& s, float eps, const float* x, const float* gamma,
                          const float* beta, const float* running_mean, const float* running_var,
                          float* y);

// Gradients from the forward input x and the statistics it was normalized with (mean, inv_std:
// the saved batch statistics when `training`, else the running ones). Each output may be null:
//   dbeta = sum dy,  dgamma = sum dy * xhat  (xhat = (x - mean) * inv_std)
//   dx = gamma * inv_std * (dy - dbeta / M - xhat * dgamma / M)   when training
//   dx = gamma * inv_std * dy                                      otherwise
// dx may alias dy. With `epilogue`, dy is the gradient of the fused forward's output (see above).
void batch_norm_backward(const BiasShape& s, bool training, const float* x, const float* dy,
                         const float* mean, const float* inv_std, const float* gamma, float* dx,
                         float* dgamma, float* dbeta,
                         const BatchNormBackwardEpilogue& epilogue = BatchNormBackwardEpilogue());

}  // namespace convnet

#endif  // CONVNET_CORE_BATCH_NORM_H_
