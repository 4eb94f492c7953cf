// Winograd convolution for 3x3, stride 1, dilation 1, ungrouped shapes: F(4x4, 3x3) computes a
// 4x4 output tile from a 6x6 input tile with 36 multiplies per (in, out) channel pair instead of
// 144, so most of the work becomes 36 independent GEMMs (out channels x tiles x in channels).
// Tiles are processed in blocks sized to stay in cache: input tiles are transformed into
// V[element][channel][tile], the weights into U[element][out][in], each element's GEMM gives
// M[element][out][tile], and the output transform writes the tiles (plus bias) into NCHW.
// Layers too wide for U to stay in cache (ResNet-18's last stages) never store U whole: the
// forward and input-gradient passes transform the weights of a few GEMM row panels at a time,
// inside the GEMMs, into a buffer that stays in cache.
#ifndef CONVNET_CORE_CONV2D_WINOGRAD_H_
#define CONVNET_CORE_CONV2D_WINOGRAD_H_

#include <optional>
#include <string_view>

#include "conv2d.h"

namespace convnet {

// Which convolution algorithm the dispatch in conv2d.cc may use for shapes that Winograd
// supports: kAuto picks by a cost rule, kDirect never uses Winograd, kWinograd always does.
enum class ConvAlgo { kAuto, kDirect, kWinograd };

const char* conv_algo_name(ConvAlgo algo);
std::optional<ConvAlgo> parse_conv_algo(std::string_view name);
ConvAlgo conv_algo();
void set_conv_algo(ConvAlgo algo);

// The forward and input-gradient passes take their wide-layer path (the weights transformed
// panel by panel inside the GEMMs, never stored whole) when the transformed weights,
// 36 * out * in floats, exceed this many; negative restores the default bound (the shared
// cache's share). For tests, to force the path on small shapes (0) or keep it off.
void set_winograd_wide_weight_limit(int64_t floats);

// 3x3, stride 1, dilation 1, one group (any padding).
bool conv2d_winograd_supported(const Conv2dShape& s);

// Whether conv2d_forward_winograd takes this shape under the active ConvAlgo (and its cost
// rule): for callers that must choose a data layout or a path before convolving.
bool conv2d_winograd_selected(const Conv2dShape& s);

// Receives the forward convolution's output one 4x4 tile of one channel at a time, bias added,
// instead of its being stored: tile[i * 4 + j] is output (row + i, col + j) of channel
// `channel` of image `image`; entries past the output's last row or column are unspecified.
// Calls may come from any thread of the pool, each tile once.
struct WinogradTileSink {
  void (*consume)(void* context, int64_t image, int64_t channel, int64_t row, int64_t col,
                  const float* tile);
  void* context;
};
constexpr int64_t kWinogradTile = 4;

// conv2d_forward_winograd handing its output to `sink` instead of storing it.
bool conv2d_forward_winograd_tiles(const Conv2dShape& s, const float* x, const float* w,
                                   const float* bias, const WinogradTileSink& sink);

// Each returns false, doing nothing, when the shape is not supported or the active ConvAlgo
// (with the cost rule under kAuto) keeps it on the direct path.
bool conv2d_forward_winograd(const Conv2dShape& s, const float* x, const float* w,
                             const float* bias, float* y);
bool conv2d_backward_input_winograd(const Conv2dShape& s, const float* dy, const float* w,
                                    float* dx);
// dw is overwritten, and dbias too when not null.
bool conv2d_backward_weight_winograd(const Conv2dShape& s, const float* x, const float* dy,
                                     float* dw, float* dbias);

}  // namespace convnet

#endif  // CONVNET_CORE_CONV2D_WINOGRAD_H_
