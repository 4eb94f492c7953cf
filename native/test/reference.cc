#include "reference.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

namespace convnet_test {

using convnet::Conv2dShape;
using convnet::Pool2dShape;

std::vector<float> random_vector(int64_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = dist(rng);
  return v;
}

std::string compare(const std::vector<float>& got, const std::vector<double>& want, double atol,
                    double rtol, const std::vector<double>* scale) {
  if (got.size() != want.size()) return "size mismatch";
  double worst = 0.0;
  size_t worst_i = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double s = scale != nullptr ? (*scale)[i] : std::fabs(want[i]);
    const double diff = std::fabs(double(got[i]) - want[i]);
    const double err = diff == 0.0 ? 0.0 : diff / (atol + rtol * s);
    if (!(err <= worst)) {  // also catches NaN
      worst = std::isnan(err) ? std::numeric_limits<double>::infinity() : err;
      worst_i = i;
      if (std::isnan(err)) break;
    }
  }
  if (worst <= 1.0) return "";
  char buf[160];
  std::snprintf(buf, sizeof buf, "element %zu: got %.9g, want %.9g (%.3g x tolerance)", worst_i,
                double(got[worst_i]), want[worst_i], worst);
  return buf;
}

void gemm_reference(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                    const std::vector<float>& a, int64_t lda, const std::vector<float>& b,
                    int64_t ldb, double beta, const std::vector<float>& c, int64_t ldc,
                    std::vector<double>* out, std::vector<double>* abs_sum) {
  out->assign(c.begin(), c.end());
  abs_sum->assign(c.size(), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0.0, mag = 0.0;
      for (int64_t p = 0; p < k; ++p) {
        const double av = ta ? a[p * lda + i] : a[i * lda + p];
        const double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
        sum += av * bv;
        mag += std::fabs(av * bv);
      }
      const double cv = c[i * ldc + j];
      (*out)[i * ldc + j] = alpha * sum + (beta == 0.0 ? 0.0 : beta * cv);
      (*abs_sum)[i * ldc + j] = std::fabs(alpha) * mag + (beta == 0.0 ? 0.0 : std::fabs(beta * cv));
    }
  }
}

namespace {

// Calls fn(y_index, x_index, w_index) for every tap of the convolution that reads the input.
template <class Fn>
void for_each_tap(const Conv2dShape& s, Fn fn) {
  const int64_t cg = s.in_channels / s.groups, og = s.out_channels / s.groups;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t o = 0; o < s.out_channels; ++o) {
      const int64_t g = o / og;
      for (int64_t oh = 0; oh < s.out_height; ++oh) {
        for (int64_t ow = 0; ow < s.out_width; ++ow) {
          const int64_t y_index = ((n * s.out_channels + o) * s.out_height + oh) * s.out_width + ow;
          for (int64_t cl = 0; cl < cg; ++cl) {
            const int64_t c = g * cg + cl;
            for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
              const int64_t ih = oh * s.stride_h - s.pad_h + kh * s.dilation_h;
              if (ih < 0 || ih >= s.in_height) continue;
              for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
                const int64_t iw = ow * s.stride_w - s.pad_w + kw * s.dilation_w;
                if (iw < 0 || iw >= s.in_width) continue;
                const int64_t x_index =
                    ((n * s.in_channels + c) * s.in_height + ih) * s.in_width + iw;
                const int64_t w_index = ((o * cg + cl) * s.kernel_h + kh) * s.kernel_w + kw;
                fn(y_index, x_index, w_index);
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace

void conv2d_reference(const Conv2dShape& s, const std::vector<float>& x,
                      const std::vector<float>& w, const float* bias, std::vector<double>* y) {
  const int64_t plane = s.out_height * s.out_width;
  y->assign(static_cast<size_t>(s.batch * s.out_channels * plane), 0.0);
  if (bias != nullptr) {
    for (size_t i = 0; i < y->size(); ++i) (*y)[i] = bias[(int64_t(i) / plane) % s.out_channels];
  }
  for_each_tap(s, [&](int64_t yi, int64_t xi, int64_t wi) { (*y)[yi] += double(x[xi]) * w[wi]; });
}

void conv2d_backward_input_reference(const Conv2dShape& s, const std::vector<float>& dy,
                                     const std::vector<float>& w, std::vector<double>* dx) {
  dx->assign(static_cast<size_t>(s.batch * s.in_channels * s.in_height * s.in_width), 0.0);
  for_each_tap(s, [&](int64_t yi, int64_t xi, int64_t wi) { (*dx)[xi] += double(dy[yi]) * w[wi]; });
}

void conv2d_backward_weight_reference(const Conv2dShape& s, const std::vector<float>& x,
                                      const std::vector<float>& dy, std::vector<double>* dw,
                                      std::vector<double>* dbias) {
  const int64_t cg = s.in_channels / s.groups;
  dw->assign(static_cast<size_t>(s.out_channels * cg * s.kernel_h * s.kernel_w), 0.0);
  for_each_tap(s, [&](int64_t yi, int64_t xi, int64_t wi) { (*dw)[wi] += double(dy[yi]) * x[xi]; });
  const int64_t plane = s.out_height * s.out_width;
  dbias->assign(static_cast<size_t>(s.out_channels), 0.0);
  for (int64_t i = 0; i < s.batch * s.out_channels * plane; ++i) {
    (*dbias)[(i / plane) % s.out_channels] += dy[i];
  }
}

namespace {

template <class Fn>
void for_each_window(const Pool2dShape& s, Fn fn) {
  for (int64_t pl = 0; pl < s.batch * s.channels; ++pl) {
    for (int64_t oh = 0; oh < s.out_height; ++oh) {
      for (int64_t ow = 0; ow < s.out_width; ++ow) {
        const int64_t hs = oh * s.stride_h - s.pad_h, ws = ow * s.stride_w - s.pad_w;
        fn(pl, (pl * s.out_height + oh) * s.out_width + ow, hs, ws);
      }
    }
  }
}

}  // namespace

void max_pool2d_reference(const Pool2dShape& s, const std::vector<float>& x, std::vector<double>* y,
                          std::vector<int32_t>* argmax) {
  const int64_t n_out = s.batch * s.channels * s.out_height * s.out_width;
  y->assign(static_cast<size_t>(n_out), 0.0);
  argmax->assign(static_cast<size_t>(n_out), -1);
  for_each_window(s, [&](int64_t pl, int64_t yi, int64_t hs, int64_t ws) {
    double best = -std::numeric_limits<double>::infinity();
    int32_t best_i = -1;
    for (int64_t h = hs; h < hs + s.kernel_h; ++h) {
      for (int64_t w = ws; w < ws + s.kernel_w; ++w) {
        if (h < 0 || h >= s.in_height || w < 0 || w >= s.in_width) continue;
        const int64_t i = h * s.in_width + w;
        const double v = x[pl * s.in_height * s.in_width + i];
        if (best_i < 0 || v > best) {
          best = v;
          best_i = int32_t(i);
        }
      }
    }
    (*y)[yi] = best;
    (*argmax)[yi] = best_i;
  });
}

void avg_pool2d_reference(const Pool2dShape& s, const std::vector<float>& x,
                          std::vector<double>* y) {
  y->assign(static_cast<size_t>(s.batch * s.channels * s.out_height * s.out_width), 0.0);
  for_each_window(s, [&](int64_t pl, int64_t yi, int64_t hs, int64_t ws) {
    double sum = 0.0;
    int64_t valid = 0;
    for (int64_t h = hs; h < hs + s.kernel_h; ++h) {
      for (int64_t w = ws; w < ws + s.kernel_w; ++w) {
        if (h < 0 || h >= s.in_height || w < 0 || w >= s.in_width) continue;
        sum += x[(pl * s.in_height + h) * s.in_width + w];
        ++valid;
      }
    }
    (*y)[yi] = sum / double(s.count_include_pad ? s.kernel_h * s.kernel_w : valid);
  });
}

void avg_pool2d_backward_reference(const Pool2dShape& s, const std::vector<float>& dy,
                                   std::vector<double>* dx) {
  dx->assign(static_cast<size_t>(s.batch * s.channels * s.in_height * s.in_width), 0.0);
  for_each_window(s, [&](int64_t pl, int64_t yi, int64_t hs, int64_t ws) {
    int64_t valid = 0;
    for (int64_t h = std::max<int64_t>(hs, 0); h < std::min(hs + s.kernel_h, s.in_height); ++h) {
      valid += std::min(ws + s.kernel_w, s.in_width) - std::max<int64_t>(ws, 0);
    }
    const double g = dy[yi] / double(s.count_include_pad ? s.kernel_h * s.kernel_w : valid);
    for (int64_t h = hs; h < hs + s.kernel_h; ++h) {
      for (int64_t w = ws; w < ws + s.kernel_w; ++w) {
        if (h < 0 || h >= s.in_height || w < 0 || w >= s.in_width) continue;
        (*dx)[(pl * s.in_height + h) * s.in_width + w] += g;
      }
    }
  });
}

int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation) {
  const int64_t span = in + 2 * pad - dilation * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

std::string describe(const Conv2dShape& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "N%lld C%lld %lldx%lld O%lld k%lldx%lld s%lldx%lld p%lldx%lld d%lldx%lld g%lld",
                (long long)s.batch, (long long)s.in_channels, (long long)s.in_height,
                (long long)s.in_width, (long long)s.out_channels, (long long)s.kernel_h,
                (long long)s.kernel_w, (long long)s.stride_h, (long long)s.stride_w,
                (long long)s.pad_h, (long long)s.pad_w, (long long)s.dilation_h,
                (long long)s.dilation_w, (long long)s.groups);
  return buf;
}

}  // namespace convnet_test
