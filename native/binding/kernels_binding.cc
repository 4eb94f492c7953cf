#include "kernels_binding.h"

#include <cmath>
#include <string>

#include "../core/activation.h"
#include "../core/adam.h"
#include "../core/batch_norm.h"
#include "../core/bias_add.h"
#include "../core/conv2d.h"
#include "../core/conv2d_fused.h"
#include "../core/elementwise.h"
#include "../core/gemm.h"
#include "../core/pool2d.h"
#include "../core/softmax.h"
#include "arguments.h"

namespace convnet::binding {
namespace {

constexpr double kMaxInt = 2147483647.0;

// Field order of each geometry record; lib/backend/native.ts writes them in this order.
constexpr FieldSpec kGemmFields[] = {
    {"transA", 0, 1, true},  {"transB", 0, 1, true},  {"m", 0, kMaxInt, true},
    {"n", 0, kMaxInt, true}, {"k", 0, kMaxInt, true}, {"alpha", 0, 0, false},
    {"beta", 0, 0, false},
};
constexpr FieldSpec kConvFields[] = {
    {"batch", 0, kMaxInt, true},       {"inChannels", 0, kMaxInt, true},
    {"inHeight", 0, kMaxInt, true},    {"inWidth", 0, kMaxInt, true},
    {"outChannels", 0, kMaxInt, true}, {"kernelH", 1, kMaxInt, true},
    {"kernelW", 1, kMaxInt, true},     {"strideH", 1, kMaxInt, true},
    {"strideW", 1, kMaxInt, true},     {"padH", 0, kMaxInt, true},
    {"padW", 0, kMaxInt, true},        {"dilationH", 1, kMaxInt, true},
    {"dilationW", 1, kMaxInt, true},   {"groups", 1, kMaxInt, true},
    {"outHeight", 1, kMaxInt, true},   {"outWidth", 1, kMaxInt, true},
};
constexpr FieldSpec kPoolFields[] = {
    {"batch", 0, kMaxInt, true},     {"channels", 0, kMaxInt, true},
    {"inHeight", 1, kMaxInt, true},  {"inWidth", 1, kMaxInt, true},
    {"kernelH", 1, kMaxInt, true},   {"kernelW", 1, kMaxInt, true},
    {"strideH", 1, kMaxInt, true},   {"strideW", 1, kMaxInt, true},
    {"padH", 0, kMaxInt, true},      {"padW", 0, kMaxInt, true},
    {"outHeight", 1, kMaxInt, true}, {"outWidth", 1, kMaxInt, true},
    {"countIncludePad", 0, 1, true},
};
// What follows a fused convolution (lib/backend/kernels.ts ConvEpilogue): the activation code
// (none, relu, leakyRelu, sigmoid, tanh), leaky ReLU's slope, the pooling code (none, max, avg),
// then whether the input and the output are channels-last (NHWC).
constexpr FieldSpec kEpilogueFields[] = {{"activation", 0, 4, true},
                                         {"negativeSlope", 0, 0, false},
                                         {"pool", 0, 2, true},
                                         {"inputLayout", 0, 1, true},
                                         {"outputLayout", 0, 1, true}};
constexpr FieldSpec kBiasFields[] = {
    {"outer", 0, kMaxInt, true}, {"channels", 0, kMaxInt, true}, {"inner", 0, kMaxInt, true}};
constexpr FieldSpec kRowsFields[] = {{"rows", 0, kMaxInt, true}, {"cols", 0, kMaxInt, true}};
// One Adam step's scalars (lib/backend/kernels.ts AdamStep), in this order.
constexpr FieldSpec kAdamFields[] = {
    {"beta1", 0, 0, false},     {"beta2", 0, 0, false}, {"stepSize", 0, 0, false},
    {"bias2Sqrt", 0, 0, false}, {"eps", 0, 0, false},   {"l2", 0, 0, false},
    {"decay", 0, 0, false},     {"sign", 0, 0, false},
};
// Global average pooling: a plane of zero elements has no mean.
constexpr FieldSpec kPlanesFields[] = {{"rows", 0, kMaxInt, true}, {"cols", 1, kMaxInt, true}};

template <size_t N>
constexpr size_t count_of(const FieldSpec (&)[N]) {
  return N;
}

std::string str(int64_t v) { return std::to_string(v); }

// One spatial axis of a convolution or pooling: out must equal
// floor((in + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1.
void check_output_size(Napi::Env env, const char* fn, const char* axis, int64_t in, int64_t kernel,
                       int64_t stride, int64_t pad, int64_t dilation, int64_t out,
                       bool has_dilation, const std::string& g = "g") {
  const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  const std::string a = axis;
  if (span < 0) {
    throw_range_error(env, std::string(fn) + ": " + g + ".kernel" + a + " " + str(kernel) +
                               (has_dilation ? " (dilation " + str(dilation) + ")" : "") +
                               " does not fit " + g + ".in" + (a == "H" ? "Height " : "Width ") +
                               str(in) + " with padding " + str(pad));
  }
  const int64_t expected = span / stride + 1;
  if (out != expected) {
    const std::string dim = a == "H" ? "Height" : "Width";
    throw_range_error(env, std::string(fn) + ": " + g + ".out" + dim + " must be " + str(expected) +
                               " (from in" + dim + ", kernel" + a + ", stride" + a + ", pad" + a +
                               (has_dilation ? ", dilation" + a : "") + "), got " + str(out));
  }
}

Conv2dShape conv_shape(const Napi::CallbackInfo& info, const char* fn) {
  double f[count_of(kConvFields)];
  read_fields(info, 0, fn, "g", kConvFields, count_of(kConvFields), f);
  Conv2dShape s;
  int64_t* dst[] = {&s.batch,        &s.in_channels, &s.in_height,  &s.in_width,
                    &s.out_channels, &s.kernel_h,    &s.kernel_w,   &s.stride_h,
                    &s.stride_w,     &s.pad_h,       &s.pad_w,      &s.dilation_h,
                    &s.dilation_w,   &s.groups,      &s.out_height, &s.out_width};
  for (size_t i = 0; i < count_of(kConvFields); ++i) *dst[i] = static_cast<int64_t>(f[i]);
  Napi::Env env = info.Env();
  if (s.in_channels % s.groups != 0 || s.out_channels % s.groups != 0) {
    throw_range_error(env, std::string(fn) + ": g.groups (" + str(s.groups) +
                               ") must divide both g.inChannels (" + str(s.in_channels) +
                               ") and g.outChannels (" + str(s.out_channels) + ")");
  }
  check_output_size(env, fn, "H", s.in_height, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h,
                    s.out_height, true);
  check_output_size(env, fn, "W", s.in_width, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w,
                    s.out_width, true);
  return s;
}

double x_count(const Conv2dShape& s) {
  return double(s.batch) * double(s.in_channels) * double(s.in_height) * double(s.in_width);
}
double w_count(const Conv2dShape& s) {
  return double(s.out_channels) * double(s.in_channels / s.groups) * double(s.kernel_h) *
         double(s.kernel_w);
}
double y_count(const Conv2dShape& s) {
  return double(s.batch) * double(s.out_channels) * double(s.out_height) * double(s.out_width);
}

const char kXFormula[] = "N*C*H*W";
const char kWFormula[] = "O*C/groups*KH*KW";
const char kYFormula[] = "N*O*OH*OW";

Pool2dShape pool_shape(const Napi::CallbackInfo& info, const char* fn, size_t index = 0,
                       const char* name = "g") {
  double f[count_of(kPoolFields)];
  read_fields(info, index, fn, name, kPoolFields, count_of(kPoolFields), f);
  Pool2dShape s;
  int64_t* dst[] = {&s.batch,    &s.channels, &s.in_height,  &s.in_width,
                    &s.kernel_h, &s.kernel_w, &s.stride_h,   &s.stride_w,
                    &s.pad_h,    &s.pad_w,    &s.out_height, &s.out_width};
  for (size_t i = 0; i < 12; ++i) *dst[i] = static_cast<int64_t>(f[i]);
  s.count_include_pad = f[12] != 0.0;
  Napi::Env env = info.Env();
  // Padding of at most half the kernel keeps every window on the input (as PyTorch requires).
  if (2 * s.pad_h > s.kernel_h || 2 * s.pad_w > s.kernel_w) {
    throw_range_error(env, std::string(fn) + ": padding " + str(s.pad_h) + "x" + str(s.pad_w) +
                               " must be at most half the kernel " + str(s.kernel_h) + "x" +
                               str(s.kernel_w));
  }
  check_output_size(env, fn, "H", s.in_height, s.kernel_h, s.stride_h, s.pad_h, 1, s.out_height,
                    false, name);
  check_output_size(env, fn, "W", s.in_width, s.kernel_w, s.stride_w, s.pad_w, 1, s.out_width,
                    false, name);
  return s;
}

double pool_in_count(const Pool2dShape& s) {
  return double(s.batch) * double(s.channels) * double(s.in_height) * double(s.in_width);
}
double pool_out_count(const Pool2dShape& s) {
  return double(s.batch) * double(s.channels) * double(s.out_height) * double(s.out_width);
}

const char kPoolInFormula[] = "N*C*H*W";
const char kPoolOutFormula[] = "N*C*OH*OW";

// --- GEMM -----------------------------------------------------------------------------------

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const char* fn = "gemm";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    double f[count_of(kGemmFields)];
    read_fields(info, 0, fn, "p", kGemmFields, count_of(kGemmFields), f);
    const bool ta = f[0] != 0, tb = f[1] != 0;
    const int64_t m = int64_t(f[2]), n = int64_t(f[3]), k = int64_t(f[4]);
    const Span<float> a = float32_arg(info, 1, fn, "a");
    const Span<float> b = float32_arg(info, 2, fn, "b");
    const Span<float> c = float32_arg(info, 3, fn, "c");
    expect_length(env, a, double(m) * double(k), fn, "a", "m*k");
    expect_length(env, b, double(k) * double(n), fn, "b", "k*n");
    expect_length(env, c, double(m) * double(n), fn, "c", "m*n");
    gemm(ta, tb, m, n, k, float(f[5]), a.data, ta ? m : k, b.data, tb ? k : n, float(f[6]), c.data,
         n);
    return env.Undefined();
  });
}

// --- convolution ------------------------------------------------------------------------------

Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  const char* fn = "conv2d";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const Conv2dShape s = conv_shape(info, fn);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> w = float32_arg(info, 2, fn, "w");
    const Span<float> bias = float32_arg(info, 3, fn, "bias", true);
    const Span<float> y = float32_arg(info, 4, fn, "y");
    expect_length(env, x, x_count(s), fn, "x", kXFormula);
    expect_length(env, w, w_count(s), fn, "w", kWFormula);
    if (bias.data != nullptr) expect_length(env, bias, double(s.out_channels), fn, "bias", "O");
    expect_length(env, y, y_count(s), fn, "y", kYFormula);
    conv2d_forward(s, x.data, w.data, bias.data, y.data);
    return env.Undefined();
  });
}

Napi::Value Conv2dFused(const Napi::CallbackInfo& info) {
  const char* fn = "conv2dFused";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const Conv2dShape s = conv_shape(info, fn);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> w = float32_arg(info, 2, fn, "w");
    const Span<float> bias = float32_arg(info, 3, fn, "bias", true);
    double f[count_of(kEpilogueFields)];
    read_fields(info, 4, fn, "e", kEpilogueFields, count_of(kEpilogueFields), f);
    ConvEpilogue e;
    e.activation = static_cast<FusedActivation>(int(f[0]));
    e.slope = float(f[1]);
    e.pool = static_cast<FusedPool>(int(f[2]));
    e.input_nhwc = f[3] != 0.0;
    e.output_nhwc = f[4] != 0.0;
    double out = y_count(s);
    const char* out_formula = kYFormula;
    if (e.pool != FusedPool::kNone) {
      e.pool_shape = pool_shape(info, fn, 5, "e.pool.g");
      const Pool2dShape& ps = e.pool_shape;
      if (ps.batch != s.batch || ps.channels != s.out_channels || ps.in_height != s.out_height ||
          ps.in_width != s.out_width) {
        throw_range_error(env, std::string(fn) + ": e.pool.g must pool the convolution's output [" +
                                   str(s.batch) + ", " + str(s.out_channels) + ", " +
                                   str(s.out_height) + ", " + str(s.out_width) + "], got [" +
                                   str(ps.batch) + ", " + str(ps.channels) + ", " +
                                   str(ps.in_height) + ", " + str(ps.in_width) + "]");
      }
      out = pool_out_count(ps);
      out_formula = "N*O*PH*PW";
    }
    const Span<float> y = float32_arg(info, 6, fn, "y");
    expect_length(env, x, x_count(s), fn, "x", kXFormula);
    expect_length(env, w, w_count(s), fn, "w", kWFormula);
    if (bias.data != nullptr) expect_length(env, bias, double(s.out_channels), fn, "bias", "O");
    expect_length(env, y, out, fn, "y", out_formula);
    conv2d_fused_forward(s, x.data, w.data, bias.data, e, y.data);
    return env.Undefined();
  });
}

// conv2dFusedInputLayout(g): 'nchw' or 'nhwc', the input layout conv2dFused reads best for g.
Napi::Value Conv2dFusedInputLayout(const Napi::CallbackInfo& info) {
  const char* fn = "conv2dFusedInputLayout";
  return guarded(info, fn, [&]() -> Napi::Value {
    const Conv2dShape s = conv_shape(info, fn);
    return Napi::String::New(info.Env(), conv2d_fused_prefers_nchw_input(s) ? "nchw" : "nhwc");
  });
}

Napi::Value Conv2dBackwardInput(const Napi::CallbackInfo& info) {
  const char* fn = "conv2dBackwardInput";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const Conv2dShape s = conv_shape(info, fn);
    const Span<float> dy = float32_arg(info, 1, fn, "dy");
    const Span<float> w = float32_arg(info, 2, fn, "w");
    const Span<float> dx = float32_arg(info, 3, fn, "dx");
    expect_length(env, dy, y_count(s), fn, "dy", kYFormula);
    expect_length(env, w, w_count(s), fn, "w", kWFormula);
    expect_length(env, dx, x_count(s), fn, "dx", kXFormula);
    conv2d_backward_input(s, dy.data, w.data, dx.data);
    return env.Undefined();
  });
}

Napi::Value Conv2dBackwardWeight(const Napi::CallbackInfo& info) {
  const char* fn = "conv2dBackwardWeight";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const Conv2dShape s = conv_shape(info, fn);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> dy = float32_arg(info, 2, fn, "dy");
    const Span<float> dw = float32_arg(info, 3, fn, "dw");
    const Span<float> dbias = float32_arg(info, 4, fn, "dbias", true);
    expect_length(env, x, x_count(s), fn, "x", kXFormula);
    expect_length(env, dy, y_count(s), fn, "dy", kYFormula);
    expect_length(env, dw, w_count(s), fn, "dw", kWFormula);
    if (dbias.data != nullptr) expect_length(env, dbias, double(s.out_channels), fn, "dbias", "O");
    conv2d_backward_weight(s, x.data, dy.data, dw.data, dbias.data);
    return env.Undefined();
  });
}

// --- pooling ----------------------------------------------------------------------------------

Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  const char* fn = "maxPool2d";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const Pool2dShape s = pool_shape(info, fn);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> y = float32_arg(info, 2, fn, "y");
    const Span<int32_t> argmax = int32_arg(info, 3, fn, "argmax");
    expect_length(env, x, pool_in_count(s), fn, "x", kPoolInFormula);
    expect_length(env, y, pool_out_count(s), fn, "y", kPoolOutFormula);
    expect_length(env, argmax, pool_out_count(s), fn, "argmax", kPoolOutFormula);
    max_pool2d(s, x.data, y.data, argmax.data);
    return env.Undefined();
  });
}

Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  const char* fn = "maxPool2dBackward";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const Pool2dShape s = pool_shape(info, fn);
    const Span<float> dy = float32_arg(info, 1, fn, "dy");
    const Span<int32_t> argmax = int32_arg(info, 2, fn, "argmax");
    const Span<float> dx = float32_arg(info, 3, fn, "dx");
    expect_length(env, dy, pool_out_count(s), fn, "dy", kPoolOutFormula);
    expect_length(env, argmax, pool_out_count(s), fn, "argmax", kPoolOutFormula);
    expect_length(env, dx, pool_in_count(s), fn, "dx", kPoolInFormula);
    // Indices come from JS memory: check every one before scattering with it.
    const int64_t plane = s.in_height * s.in_width;
    for (int64_t i = 0; i < argmax.size; ++i) {
      if (argmax.data[i] < 0 || argmax.data[i] >= plane) {
        throw_range_error(env, std::string(fn) + ": argmax[" + str(i) +
                                   "] = " + str(argmax.data[i]) +
                                   " is outside the input plane [0, " + str(plane) + ")");
      }
    }
    max_pool2d_backward(s, dy.data, argmax.data, dx.data);
    return env.Undefined();
  });
}

Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  const char* fn = "avgPool2d";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const Pool2dShape s = pool_shape(info, fn);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> y = float32_arg(info, 2, fn, "y");
    expect_length(env, x, pool_in_count(s), fn, "x", kPoolInFormula);
    expect_length(env, y, pool_out_count(s), fn, "y", kPoolOutFormula);
    avg_pool2d(s, x.data, y.data);
    return env.Undefined();
  });
}

Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  const char* fn = "avgPool2dBackward";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const Pool2dShape s = pool_shape(info, fn);
    const Span<float> dy = float32_arg(info, 1, fn, "dy");
    const Span<float> dx = float32_arg(info, 2, fn, "dx");
    expect_length(env, dy, pool_out_count(s), fn, "dy", kPoolOutFormula);
    expect_length(env, dx, pool_in_count(s), fn, "dx", kPoolInFormula);
    avg_pool2d_backward(s, dy.data, dx.data);
    return env.Undefined();
  });
}

// --- elementwise ------------------------------------------------------------------------------

using Unary = void (*)(int64_t, const float*, float*);
using Binary = void (*)(int64_t, const float*, const float*, float*);

// f(x, y): y must match x.
template <Unary F>
Napi::Value unary(const Napi::CallbackInfo& info, const char* fn) {
  return guarded(info, fn, [&]() -> Napi::Value {
    const Span<float> x = float32_arg(info, 0, fn, "x");
    const Span<float> y = float32_arg(info, 1, fn, "y");
    expect_same_length(info.Env(), y, x, fn, "y", "x");
    F(x.size, x.data, y.data);
    return info.Env().Undefined();
  });
}

// f(in, dy, dx): dy and dx must match in (named x or y).
template <Binary F>
Napi::Value binary(const Napi::CallbackInfo& info, const char* fn, const char* in_name) {
  return guarded(info, fn, [&]() -> Napi::Value {
    const Span<float> in = float32_arg(info, 0, fn, in_name);
    const Span<float> dy = float32_arg(info, 1, fn, "dy");
    const Span<float> dx = float32_arg(info, 2, fn, "dx");
    expect_same_length(info.Env(), dy, in, fn, "dy", in_name);
    expect_same_length(info.Env(), dx, in, fn, "dx", in_name);
    F(in.size, in.data, dy.data, dx.data);
    return info.Env().Undefined();
  });
}

Napi::Value Relu(const Napi::CallbackInfo& info) { return unary<relu>(info, "relu"); }
Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
  return binary<relu_backward>(info, "reluBackward", "x");
}
Napi::Value Sigmoid(const Napi::CallbackInfo& info) { return unary<sigmoid>(info, "sigmoid"); }
Napi::Value SigmoidBackward(const Napi::CallbackInfo& info) {
  return binary<sigmoid_backward>(info, "sigmoidBackward", "y");
}
Napi::Value Tanh(const Napi::CallbackInfo& info) { return unary<tanh_forward>(info, "tanh"); }
Napi::Value TanhBackward(const Napi::CallbackInfo& info) {
  return binary<tanh_backward>(info, "tanhBackward", "y");
}

Napi::Value LeakyRelu(const Napi::CallbackInfo& info) {
  const char* fn = "leakyRelu";
  return guarded(info, fn, [&]() -> Napi::Value {
    const Span<float> x = float32_arg(info, 0, fn, "x");
    const Span<float> y = float32_arg(info, 1, fn, "y");
    const double slope = finite_number_arg(info, 2, fn, "slope");
    expect_same_length(info.Env(), y, x, fn, "y", "x");
    leaky_relu(x.size, x.data, y.data, float(slope));
    return info.Env().Undefined();
  });
}

Napi::Value LeakyReluBackward(const Napi::CallbackInfo& info) {
  const char* fn = "leakyReluBackward";
  return guarded(info, fn, [&]() -> Napi::Value {
    const Span<float> x = float32_arg(info, 0, fn, "x");
    const Span<float> dy = float32_arg(info, 1, fn, "dy");
    const Span<float> dx = float32_arg(info, 2, fn, "dx");
    const double slope = finite_number_arg(info, 3, fn, "slope");
    expect_same_length(info.Env(), dy, x, fn, "dy", "x");
    expect_same_length(info.Env(), dx, x, fn, "dx", "x");
    leaky_relu_backward(x.size, x.data, dy.data, dx.data, float(slope));
    return info.Env().Undefined();
  });
}

// --- bias -------------------------------------------------------------------------------------

BiasShape bias_shape(const Napi::CallbackInfo& info, const char* fn) {
  double f[count_of(kBiasFields)];
  read_fields(info, 0, fn, "g", kBiasFields, count_of(kBiasFields), f);
  return {int64_t(f[0]), int64_t(f[1]), int64_t(f[2])};
}

Napi::Value BiasAdd(const Napi::CallbackInfo& info) {
  const char* fn = "biasAdd";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const BiasShape s = bias_shape(info, fn);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> bias = float32_arg(info, 2, fn, "bias");
    const Span<float> y = float32_arg(info, 3, fn, "y");
    const double total = double(s.outer) * double(s.channels) * double(s.inner);
    expect_length(env, x, total, fn, "x", "outer*channels*inner");
    expect_length(env, bias, double(s.channels), fn, "bias", "channels");
    expect_length(env, y, total, fn, "y", "outer*channels*inner");
    bias_add(s, x.data, bias.data, y.data);
    return env.Undefined();
  });
}

Napi::Value BiasAddBackward(const Napi::CallbackInfo& info) {
  const char* fn = "biasAddBackward";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const BiasShape s = bias_shape(info, fn);
    const Span<float> dy = float32_arg(info, 1, fn, "dy");
    const Span<float> dbias = float32_arg(info, 2, fn, "dbias");
    expect_length(env, dy, double(s.outer) * double(s.channels) * double(s.inner), fn, "dy",
                  "outer*channels*inner");
    expect_length(env, dbias, double(s.channels), fn, "dbias", "channels");
    bias_add_backward(s, dy.data, dbias.data);
    return env.Undefined();
  });
}

// --- softmax ----------------------------------------------------------------------------------

using RowsForward = void (*)(int64_t, int64_t, const float*, float*);
using RowsBackward = void (*)(int64_t, int64_t, const float*, const float*, float*);

template <RowsForward F>
Napi::Value rows_forward(const Napi::CallbackInfo& info, const char* fn) {
  return guarded(info, fn, [&]() -> Napi::Value {
    double f[count_of(kRowsFields)];
    read_fields(info, 0, fn, "g", kRowsFields, count_of(kRowsFields), f);
    const int64_t rows = int64_t(f[0]), cols = int64_t(f[1]);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> y = float32_arg(info, 2, fn, "y");
    expect_length(info.Env(), x, double(rows) * double(cols), fn, "x", "rows*cols");
    expect_length(info.Env(), y, double(rows) * double(cols), fn, "y", "rows*cols");
    F(rows, cols, x.data, y.data);
    return info.Env().Undefined();
  });
}

template <RowsBackward F>
Napi::Value rows_backward(const Napi::CallbackInfo& info, const char* fn) {
  return guarded(info, fn, [&]() -> Napi::Value {
    double f[count_of(kRowsFields)];
    read_fields(info, 0, fn, "g", kRowsFields, count_of(kRowsFields), f);
    const int64_t rows = int64_t(f[0]), cols = int64_t(f[1]);
    const Span<float> y = float32_arg(info, 1, fn, "y");
    const Span<float> dy = float32_arg(info, 2, fn, "dy");
    const Span<float> dx = float32_arg(info, 3, fn, "dx");
    const double total = double(rows) * double(cols);
    expect_length(info.Env(), y, total, fn, "y", "rows*cols");
    expect_length(info.Env(), dy, total, fn, "dy", "rows*cols");
    expect_length(info.Env(), dx, total, fn, "dx", "rows*cols");
    F(rows, cols, y.data, dy.data, dx.data);
    return info.Env().Undefined();
  });
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return rows_forward<softmax>(info, "softmax");
}
Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  return rows_backward<softmax_backward>(info, "softmaxBackward");
}
Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  return rows_forward<log_softmax>(info, "logSoftmax");
}
Napi::Value LogSoftmaxBackward(const Napi::CallbackInfo& info) {
  return rows_backward<log_softmax_backward>(info, "logSoftmaxBackward");
}

// --- batch normalization ----------------------------------------------------------------------

const char kChannelFormula[] = "outer*channels*inner";

double channel_total(const BiasShape& s) {
  return double(s.outer) * double(s.channels) * double(s.inner);
}

// eps: finite and >= 0.
float eps_arg(const Napi::CallbackInfo& info, size_t index, const char* fn) {
  const double eps = finite_number_arg(info, index, fn, "eps");
  if (eps < 0) {
    throw_range_error(info.Env(), std::string(fn) + ": eps must be >= 0, got " + format_count(eps));
  }
  return float(eps);
}

// A per-channel vector: `channels` elements at least.
void expect_channels(Napi::Env env, const Span<float>& v, const BiasShape& s, const char* fn,
                     const char* name) {
  if (v.data != nullptr) expect_length(env, v, double(s.channels), fn, name, "channels");
}

Napi::Value BatchNormTraining(const Napi::CallbackInfo& info) {
  const char* fn = "batchNormTraining";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const BiasShape s = bias_shape(info, fn);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> gamma = float32_arg(info, 2, fn, "gamma", true);
    const Span<float> beta = float32_arg(info, 3, fn, "beta", true);
    const Span<float> y = float32_arg(info, 4, fn, "y");
    const Span<float> mean = float32_arg(info, 5, fn, "mean");
    const Span<float> inv_std = float32_arg(info, 6, fn, "invStd");
    const Span<float> running_mean = float32_arg(info, 7, fn, "runningMean", true);
    const Span<float> running_var = float32_arg(info, 8, fn, "runningVar", true);
    const float eps = eps_arg(info, 9, fn);
    const double momentum = finite_number_arg(info, 10, fn, "momentum");
    if (momentum < 0 || momentum > 1) {
      throw_range_error(
          env, std::string(fn) + ": momentum must be in [0, 1], got " + format_count(momentum));
    }
    // Both or neither: a running mean without its variance cannot be updated consistently.
    if (running_mean.data == nullptr && running_var.data != nullptr) {
      throw_type_error(env, std::string(fn) +
                                ": runningMean must be a Float32Array when runningVar is given "
                                "(both or neither), got null");
    }
    if (running_mean.data != nullptr && running_var.data == nullptr) {
      throw_type_error(env, std::string(fn) +
                                ": runningVar must be a Float32Array when runningMean is given "
                                "(both or neither), got null");
    }
    if (s.channels > 0 && double(s.outer) * double(s.inner) < 1) {
      throw_range_error(
          env,
          std::string(fn) + ": each channel needs at least 1 value (g.outer * g.inner), got 0");
    }
    expect_length(env, x, channel_total(s), fn, "x", kChannelFormula);
    expect_channels(env, gamma, s, fn, "gamma");
    expect_channels(env, beta, s, fn, "beta");
    expect_length(env, y, channel_total(s), fn, "y", kChannelFormula);
    expect_channels(env, mean, s, fn, "mean");
    expect_channels(env, inv_std, s, fn, "invStd");
    expect_channels(env, running_mean, s, fn, "runningMean");
    expect_channels(env, running_var, s, fn, "runningVar");
    BatchNormEpilogue epilogue;
    const Span<float> residual = float32_arg(info, 11, fn, "residual", true);
    if (residual.data != nullptr) {
      expect_length(env, residual, channel_total(s), fn, "residual", kChannelFormula);
    }
    epilogue.residual = residual.data;
    epilogue.relu = boolean_arg(info, 12, fn, "relu");
    batch_norm_training(s, eps, float(momentum), x.data, gamma.data, beta.data, y.data, mean.data,
                        inv_std.data, running_mean.data, running_var.data, epilogue);
    return env.Undefined();
  });
}

Napi::Value BatchNormInference(const Napi::CallbackInfo& info) {
  const char* fn = "batchNormInference";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const BiasShape s = bias_shape(info, fn);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> gamma = float32_arg(info, 2, fn, "gamma", true);
    const Span<float> beta = float32_arg(info, 3, fn, "beta", true);
    const Span<float> running_mean = float32_arg(info, 4, fn, "runningMean");
    const Span<float> running_var = float32_arg(info, 5, fn, "runningVar");
    const Span<float> y = float32_arg(info, 6, fn, "y");
    const float eps = eps_arg(info, 7, fn);
    expect_length(env, x, channel_total(s), fn, "x", kChannelFormula);
    expect_channels(env, gamma, s, fn, "gamma");
    expect_channels(env, beta, s, fn, "beta");
    expect_channels(env, running_mean, s, fn, "runningMean");
    expect_channels(env, running_var, s, fn, "runningVar");
    expect_length(env, y, channel_total(s), fn, "y", kChannelFormula);
    batch_norm_inference(s, eps, x.data, gamma.data, beta.data, running_mean.data, running_var.data,
                         y.data);
    return env.Undefined();
  });
}

Napi::Value BatchNormBackward(const Napi::CallbackInfo& info) {
  const char* fn = "batchNormBackward";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    const BiasShape s = bias_shape(info, fn);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> dy = float32_arg(info, 2, fn, "dy");
    const Span<float> mean = float32_arg(info, 3, fn, "mean");
    const Span<float> inv_std = float32_arg(info, 4, fn, "invStd");
    const Span<float> gamma = float32_arg(info, 5, fn, "gamma", true);
    const Span<float> dx = float32_arg(info, 6, fn, "dx", true);
    const Span<float> dgamma = float32_arg(info, 7, fn, "dgamma", true);
    const Span<float> dbeta = float32_arg(info, 8, fn, "dbeta", true);
    const bool training = boolean_arg(info, 9, fn, "training");
    expect_length(env, x, channel_total(s), fn, "x", kChannelFormula);
    expect_length(env, dy, channel_total(s), fn, "dy", kChannelFormula);
    expect_channels(env, mean, s, fn, "mean");
    expect_channels(env, inv_std, s, fn, "invStd");
    expect_channels(env, gamma, s, fn, "gamma");
    if (dx.data != nullptr) expect_length(env, dx, channel_total(s), fn, "dx", kChannelFormula);
    expect_channels(env, dgamma, s, fn, "dgamma");
    expect_channels(env, dbeta, s, fn, "dbeta");
    const Span<float> relu_out = float32_arg(info, 10, fn, "reluOut", true);
    const Span<float> dresidual = float32_arg(info, 11, fn, "dresidual", true);
    if (relu_out.data != nullptr) {
      expect_length(env, relu_out, channel_total(s), fn, "reluOut", kChannelFormula);
    }
    if (dresidual.data != nullptr) {
      expect_length(env, dresidual, channel_total(s), fn, "dresidual", kChannelFormula);
    }
    BatchNormBackwardEpilogue epilogue;
    epilogue.relu_out = relu_out.data;
    epilogue.dresidual = dresidual.data;
    batch_norm_backward(s, training, x.data, dy.data, mean.data, inv_std.data, gamma.data, dx.data,
                        dgamma.data, dbeta.data, epilogue);
    return env.Undefined();
  });
}

// --- global average pooling -------------------------------------------------------------------

Napi::Value GlobalAvgPool(const Napi::CallbackInfo& info) {
  const char* fn = "globalAvgPool";
  return guarded(info, fn, [&]() -> Napi::Value {
    double f[count_of(kPlanesFields)];
    read_fields(info, 0, fn, "g", kPlanesFields, count_of(kPlanesFields), f);
    const int64_t rows = int64_t(f[0]), cols = int64_t(f[1]);
    const Span<float> x = float32_arg(info, 1, fn, "x");
    const Span<float> y = float32_arg(info, 2, fn, "y");
    expect_length(info.Env(), x, double(rows) * double(cols), fn, "x", "rows*cols");
    expect_length(info.Env(), y, double(rows), fn, "y", "rows");
    global_avg_pool(rows, cols, x.data, y.data);
    return info.Env().Undefined();
  });
}

Napi::Value GlobalAvgPoolBackward(const Napi::CallbackInfo& info) {
  const char* fn = "globalAvgPoolBackward";
  return guarded(info, fn, [&]() -> Napi::Value {
    double f[count_of(kPlanesFields)];
    read_fields(info, 0, fn, "g", kPlanesFields, count_of(kPlanesFields), f);
    const int64_t rows = int64_t(f[0]), cols = int64_t(f[1]);
    const Span<float> dy = float32_arg(info, 1, fn, "dy");
    const Span<float> dx = float32_arg(info, 2, fn, "dx");
    expect_length(info.Env(), dy, double(rows), fn, "dy", "rows");
    expect_length(info.Env(), dx, double(rows) * double(cols), fn, "dx", "rows*cols");
    global_avg_pool_backward(rows, cols, dy.data, dx.data);
    return info.Env().Undefined();
  });
}

// --- arithmetic -------------------------------------------------------------------------------

Napi::Value Add(const Napi::CallbackInfo& info) {
  const char* fn = "add";
  return guarded(info, fn, [&]() -> Napi::Value {
    const Span<float> a = float32_arg(info, 0, fn, "a");
    const Span<float> b = float32_arg(info, 1, fn, "b");
    const Span<float> out = float32_arg(info, 2, fn, "out");
    expect_same_length(info.Env(), b, a, fn, "b", "a");
    expect_same_length(info.Env(), out, a, fn, "out", "a");
    add(a.size, a.data, b.data, out.data);
    return info.Env().Undefined();
  });
}

Napi::Value Axpy(const Napi::CallbackInfo& info) {
  const char* fn = "axpy";
  return guarded(info, fn, [&]() -> Napi::Value {
    const Span<float> x = float32_arg(info, 0, fn, "x");
    const Span<float> y = float32_arg(info, 1, fn, "y");
    const double alpha = finite_number_arg(info, 2, fn, "alpha");
    expect_same_length(info.Env(), y, x, fn, "y", "x");
    axpy(x.size, float(alpha), x.data, y.data);
    return info.Env().Undefined();
  });
}

// --- optimizer --------------------------------------------------------------------------------

Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  const char* fn = "adamUpdate";
  return guarded(info, fn, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    double f[count_of(kAdamFields)];
    read_fields(info, 0, fn, "p", kAdamFields, count_of(kAdamFields), f);
    if (!(f[3] > 0)) {
      throw_range_error(env,
                        std::string(fn) + ": p.bias2Sqrt must be > 0, got " + format_count(f[3]));
    }
    const Span<float> w = float32_arg(info, 1, fn, "w");
    const Span<float> g = float32_arg(info, 2, fn, "g");
    const Span<float> m = float32_arg(info, 3, fn, "m");
    const Span<float> v = float32_arg(info, 4, fn, "v");
    const Span<float> v_max = float32_arg(info, 5, fn, "vMax", true);
    expect_same_length(env, g, w, fn, "g", "w");
    expect_same_length(env, m, w, fn, "m", "w");
    expect_same_length(env, v, w, fn, "v", "w");
    if (v_max.data != nullptr) expect_same_length(env, v_max, w, fn, "vMax", "w");
    const AdamStep p{float(f[0]), float(f[1]),       float(1.0 - f[0]), float(1.0 - f[1]),
                     float(f[2]), float(1.0 / f[3]), float(f[4]),       float(f[5]),
                     float(f[6]), float(f[7])};
    adam_update(p, w.size, w.data, g.data, m.data, v.data, v_max.data);
    return env.Undefined();
  });
}

}  // namespace

void export_kernels(Napi::Env env, Napi::Object exports) {
  struct Entry {
    const char* name;
    Napi::Function::Callback fn;
  };
  const Entry entries[] = {
      {"gemm", Gemm},
      {"conv2d", Conv2d},
      {"conv2dFused", Conv2dFused},
      {"conv2dFusedInputLayout", Conv2dFusedInputLayout},
      {"conv2dBackwardInput", Conv2dBackwardInput},
      {"conv2dBackwardWeight", Conv2dBackwardWeight},
      {"maxPool2d", MaxPool2d},
      {"maxPool2dBackward", MaxPool2dBackward},
      {"avgPool2d", AvgPool2d},
      {"avgPool2dBackward", AvgPool2dBackward},
      {"relu", Relu},
      {"reluBackward", ReluBackward},
      {"leakyRelu", LeakyRelu},
      {"leakyReluBackward", LeakyReluBackward},
      {"sigmoid", Sigmoid},
      {"sigmoidBackward", SigmoidBackward},
      {"tanh", Tanh},
      {"tanhBackward", TanhBackward},
      {"biasAdd", BiasAdd},
      {"biasAddBackward", BiasAddBackward},
      {"softmax", Softmax},
      {"softmaxBackward", SoftmaxBackward},
      {"logSoftmax", LogSoftmax},
      {"logSoftmaxBackward", LogSoftmaxBackward},
      {"batchNormTraining", BatchNormTraining},
      {"batchNormInference", BatchNormInference},
      {"batchNormBackward", BatchNormBackward},
      {"globalAvgPool", GlobalAvgPool},
      {"globalAvgPoolBackward", GlobalAvgPoolBackward},
      {"add", Add},
      {"axpy", Axpy},
      {"adamUpdate", AdamUpdate},
  };
  for (const Entry& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
}

}  // namespace convnet::binding
