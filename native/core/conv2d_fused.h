// Inference-time fusion of a convolution with what follows it in most CNNs: bias, an elementwise
// activation and optionally a pooling layer, y = pool(act(conv(x, w) + bias)). The images of the
// batch are spread over the threads, and each runs the whole chain on one image while its
// convolution output is still in cache: only the (pooled) result reaches memory. Results equal
// conv2d_forward, then the activation, then max_pool2d / avg_pool2d (pool2d.h).
#ifndef CONVNET_CORE_CONV2D_FUSED_H_
#define CONVNET_CORE_CONV2D_FUSED_H_

#include <cstdint>

#include "conv2d.h"
#include "pool2d.h"

namespace convnet {

// Codes shared with the binding (lib/backend/native.ts writes them).
enum class FusedActivation : int { kNone = 0, kRelu = 1, kLeakyRelu = 2, kSigmoid = 3, kTanh = 4 };
enum class FusedPool : int { kNone = 0, kMax = 1, kAvg = 2 };

struct ConvEpilogue {
  FusedActivation activation = FusedActivation::kNone;
  float slope = 0.0f;  // leaky ReLU's negative slope
  FusedPool pool = FusedPool::kNone;
  // The pooling of the activated output: batch, channels, in_height and in_width must be the
  // convolution's batch, out_channels, out_height and out_width (the caller checks).
  Pool2dShape pool_shape{};
};

// y = pool(act(conv(x, w) + bias)) in NCHW: [N, O, PH, PW] with a pool, else [N, O, OH, OW].
// bias may be null.
void conv2d_fused_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                          const ConvEpilogue& e, float* y);

}  // namespace convnet

#endif  // CONVNET_CORE_CONV2D_FUSED_H_
