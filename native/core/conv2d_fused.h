// Inference-time fusion of a convolution with what follows it in most CNNs: bias, an elementwise
// activation and optionally a pooling layer, y = pool(act(conv(x, w) + bias)). The images of the
// batch are spread over the threads, and each runs the whole chain on one image while its
// convolution output is still in cache: only the (pooled) result reaches memory. Results equal
// conv2d_forward, then the activation, then max_pool2d / avg_pool2d (pool2d.h). Shapes that
// conv2d_forward gives to Winograd (conv2d_winograd.h) are convolved that way here too, the
// whole batch at once; a 2x2 stride-2 pool is then taken inside its output transform.
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
  // Channels-last (NHWC) input and/or output instead of NCHW. Between two fused layers NHWC is
  // what both sides read and write best: the first stores its pixel-major results as they are,
  // and the second reads them in place through the same kind of tap offsets.
  bool input_nhwc = false;
  bool output_nhwc = false;
};

// y = pool(act(conv(x, w) + bias)): [N, O, PH, PW] with a pool, else [N, O, OH, OW] (or
// [N, PH, PW, O] / [N, OH, OW, O] with output_nhwc; x is [N, H, W, C] with input_nhwc).
// bias may be null.
void conv2d_fused_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                          const ConvEpilogue& e, float* y);

// Whether conv2d_fused_forward reads this shape's input best as NCHW (it then convolves the
// batch with Winograd, which reads NCHW; NHWC would first be transposed). A fused layer feeding
// this one should then write NCHW.
bool conv2d_fused_prefers_nchw_input(const Conv2dShape& s);

}  // namespace convnet

#endif  // CONVNET_CORE_CONV2D_FUSED_H_
