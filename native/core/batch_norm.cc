#include "batch_norm.h"

#include <algorithm>
#include <cmath>

#include "map_blocks.h"
#include "reduce.h"
#include "scratch_arena.h"
#include "thread_pool.h"

namespace convnet {
namespace {

// Channels per task: enough that a task touches at least this many elements.
constexpr int64_t kMinWorkPerTask = 1 << 15;

// Calls fn(c_begin, c_end) over ranges of channels, in parallel. Each channel's statistics are
// computed by one thread in a fixed order, so results do not depend on the thread count.
template <class Fn>
void for_channels(const BiasShape& s, Fn fn) {
  const int64_t per_channel = std::max<int64_t>(1, s.outer * s.inner);
  parallel_range(s.channels, std::max<int64_t>(1, kMinWorkPerTask / per_channel), fn);
}

// How a task walks its channels: a block of channels at a time, each pass over the block going
// sample by sample, so that every sample's part of the block is one contiguous run of at least
// kMinRunFloats values. One channel's part is only inner floats (64 bytes for 4x4 images, one
// page for 32x32), and walking a channel down the batch in such pieces, channels * inner floats
// apart, leaves the hardware prefetchers little to go on: measured on ResNet-18's activations,
// the longer runs take 40% off every batch norm pass. Blocks stay near kBlockFloats values per
// array, so the passes after the first find most of them in L2 or L3.
constexpr int64_t kMinRunFloats = 1 << 15;
constexpr int64_t kBlockFloats = 1 << 17;

// As for_channels, but fn sees the blocks above. The blocks do not change the order in which a
// channel's values are summed, so the results do not depend on them either.
template <class Fn>
void for_channel_blocks(const BiasShape& s, Fn fn) {
  const int64_t per_channel = std::max<int64_t>(1, s.outer * s.inner);
  const int64_t inner = std::max<int64_t>(1, s.inner);
  const int64_t block = std::max<int64_t>(
      {int64_t{1}, kBlockFloats / per_channel, (kMinRunFloats + inner - 1) / inner});
  for_channels(s, [&](int64_t c0, int64_t c1) {
    for (int64_t b = c0; b < c1; b += block) fn(b, std::min(b + block, c1));
  });
}

// The epilogue of one value, at flat index i: each step rounded as the separate kernels round
// (add, then relu, which keeps NaN).
inline float apply_epilogue(const BatchNormEpilogue& e, int64_t i, float v) {
  if (e.residual != nullptr) v = v + e.residual[i];
  if (e.relu) v = v < 0.0f ? 0.0f : v;
  return v;
}

template <bool kResidual, bool kRelu>
void normalize_row_as(int64_t n, const float* x, float mean, float scale, float shift,
                      const float* r, float* y) {
  map_blocks(0, n, y, [&](int64_t i) {
    float v = (x[i] - mean) * scale + shift;
    if (kResidual) v = v + r[i];
    if (kRelu) v = v < 0.0f ? 0.0f : v;
    return v;
  });
}

// y[off, off + n) = epilogue((x - mean) * scale + shift): one channel's row.
void normalize_row(const BatchNormEpilogue& e, int64_t off, int64_t n, const float* x, float mean,
                   float scale, float shift, float* y) {
  const float* r = e.residual != nullptr ? e.residual + off : nullptr;
  if (r != nullptr) {
    if (e.relu) {
      normalize_row_as<true, true>(n, x + off, mean, scale, shift, r, y + off);
    } else {
      normalize_row_as<true, false>(n, x + off, mean, scale, shift, r, y + off);
    }
  } else if (e.relu) {
    normalize_row_as<false, true>(n, x + off, mean, scale, shift, r, y + off);
  } else {
    normalize_row_as<false, false>(n, x + off, mean, scale, shift, r, y + off);
  }
}

// The gradient reaching bn(x) over [off, off + n): dy, masked by the fused ReLU's output when
// there is one (the value relu_backward gives). Stored in dresidual when there is one, else in
// tmp (n floats), or not at all without a ReLU.
const float* gradient_row(const BatchNormBackwardEpilogue& e, const float* dy, int64_t off,
                          int64_t n, float* tmp) {
  float* dst = e.dresidual != nullptr ? e.dresidual + off : tmp;
  if (e.relu_out == nullptr) {
    if (e.dresidual == nullptr) return dy + off;
    std::copy(dy + off, dy + off + n, dst);
    return dst;
  }
  const float* y = e.relu_out + off;
  const float* g = dy + off;
  map_blocks(0, n, dst, [&](int64_t i) {
    const float gi = g[i];
    return y[i] > 0.0f ? gi : 0.0f;
  });
  return dst;
}

// [N, C] rows (inner == 1): a channel's values are C apart, so the statistics of channels
// [c0, c1) are gathered a row at a time into double-precision sums (sum[c - c0]).
void row_sums(const BiasShape& s, int64_t c0, int64_t c1, const float* x, double* sum) {
  std::fill(sum, sum + (c1 - c0), 0.0);
  for (int64_t o = 0; o < s.outer; ++o) {
    const float* row = x + o * s.channels;
    for (int64_t c = c0; c < c1; ++c) sum[c - c0] += row[c];
  }
}

// sum_sq[c - c0] = sum over rows of (x - mean[c - c0])^2.
void row_squared_deviations(const BiasShape& s, int64_t c0, int64_t c1, const float* x,
                            const double* mean, double* sum_sq) {
  std::fill(sum_sq, sum_sq + (c1 - c0), 0.0);
  for (int64_t o = 0; o < s.outer; ++o) {
    const float* row = x + o * s.channels;
    for (int64_t c = c0; c < c1; ++c) {
      const double d = double(row[c]) - mean[c - c0];
      sum_sq[c - c0] += d * d;
    }
  }
}

}  // namespace

void batch_norm_training(const BiasShape& s, float eps, float momentum, const float* x,
                         const float* gamma, const float* beta, float* y, float* save_mean,
                         float* save_inv_std, float* running_mean, float* running_var,
                         const BatchNormEpilogue& epilogue) {
  const int64_t m = s.outer * s.inner;
  // stats(c, mean, sum of squared deviations) finishes channel c once its sums are known.
  auto finish = [&](int64_t c, double mean, double ss) {
    const double var = ss / double(m);
    const double inv_std = 1.0 / std::sqrt(var + double(eps));
    save_mean[c] = float(mean);
    save_inv_std[c] = float(inv_std);
    if (running_mean != nullptr) {
      const double mo = momentum;
      running_mean[c] = float((1.0 - mo) * running_mean[c] + mo * mean);
      // The unbiased variance, as PyTorch (M == 1 gives the 0 / 0 NaN it gives).
      running_var[c] = float((1.0 - mo) * running_var[c] + mo * (ss / double(m - 1)));
    }
  };
  if (s.inner == 1) {
    for_channels(s, [&](int64_t c0, int64_t c1) {
      ScratchArena::Scope scope;
      const int64_t nc = c1 - c0;
      double* sum = reinterpret_cast<double*>(ScratchArena::local().allocate(nc * sizeof(double)));
      double* ss = reinterpret_cast<double*>(ScratchArena::local().allocate(nc * sizeof(double)));
      row_sums(s, c0, c1, x, sum);
      for (int64_t c = 0; c < nc; ++c) sum[c] /= double(m);  // now the means
      row_squared_deviations(s, c0, c1, x, sum, ss);
      for (int64_t c = 0; c < nc; ++c) finish(c0 + c, sum[c], ss[c]);
      for (int64_t c = c0; c < c1; ++c) {
        const float mean = save_mean[c];
        const float scale = (gamma != nullptr ? gamma[c] : 1.0f) * save_inv_std[c];
        const float shift = beta != nullptr ? beta[c] : 0.0f;
        for (int64_t o = 0; o < s.outer; ++o) {
          const int64_t i = o * s.channels + c;
          y[i] = apply_epilogue(epilogue, i, (x[i] - mean) * scale + shift);
        }
      }
    });
    return;
  }
  for_channel_blocks(s, [&](int64_t c0, int64_t c1) {
    ScratchArena::Scope scope;
    const int64_t nc = c1 - c0;
    double* sum =
        reinterpret_cast<double*>(ScratchArena::local().allocate(size_t(2 * nc) * sizeof(double)));
    double* ss = sum + nc;
    std::fill(sum, sum + 2 * nc, 0.0);
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t c = c0; c < c1; ++c) {
        sum[c - c0] += sum_floats(x + (o * s.channels + c) * s.inner, s.inner);
      }
    }
    for (int64_t j = 0; j < nc; ++j) sum[j] /= double(m);  // now the means
    // Two passes: E[x^2] - E[x]^2 loses everything to cancellation when |mean| >> std.
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t c = c0; c < c1; ++c) {
        ss[c - c0] +=
            sum_squared_deviations(x + (o * s.channels + c) * s.inner, s.inner, float(sum[c - c0]));
      }
    }
    for (int64_t c = c0; c < c1; ++c) finish(c, sum[c - c0], ss[c - c0]);
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t c = c0; c < c1; ++c) {
        const float g = gamma != nullptr ? gamma[c] : 1.0f;
        normalize_row(epilogue, (o * s.channels + c) * s.inner, s.inner, x, save_mean[c],
                      g * save_inv_std[c], beta != nullptr ? beta[c] : 0.0f, y);
      }
    }
  });
}

void batch_norm_inference(const BiasShape& s, float eps, const float* x, const float* gamma,
                          const float* beta, const float* running_mean, const float* running_var,
                          float* y) {
  auto scale_of = [&](int64_t c) {
    const float g = gamma != nullptr ? gamma[c] : 1.0f;
    return float(double(g) / std::sqrt(double(running_var[c]) + double(eps)));
  };
  if (s.inner == 1) {
    for_channels(s, [&](int64_t c0, int64_t c1) {
      ScratchArena::Scope scope;
      float* scale = ScratchArena::local().allocate_floats(c1 - c0);
      for (int64_t c = c0; c < c1; ++c) scale[c - c0] = scale_of(c);
      for (int64_t o = 0; o < s.outer; ++o) {
        const float* xr = x + o * s.channels;
        float* yr = y + o * s.channels;
        for (int64_t c = c0; c < c1; ++c) {
          yr[c] = (xr[c] - running_mean[c]) * scale[c - c0] + (beta != nullptr ? beta[c] : 0.0f);
        }
      }
    });
    return;
  }
  for_channel_blocks(s, [&](int64_t c0, int64_t c1) {
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t c = c0; c < c1; ++c) {
        normalize_row(BatchNormEpilogue(), (o * s.channels + c) * s.inner, s.inner, x,
                      running_mean[c], scale_of(c), beta != nullptr ? beta[c] : 0.0f, y);
      }
    }
  });
}

void batch_norm_backward(const BiasShape& s, bool training, const float* x, const float* dy,
                         const float* mean, const float* inv_std, const float* gamma, float* dx,
                         float* dgamma, float* dbeta, const BatchNormBackwardEpilogue& epilogue) {
  const double m = double(s.outer * s.inner);
  // dx = k_dy * dy - k_x * (x - mean) - k_0, from channel c's sums of dy and dy * (x - mean).
  auto write_grads = [&](int64_t c, double sum_dy, double dot) {
    const double is = inv_std[c];
    if (dgamma != nullptr) dgamma[c] = float(dot * is);
    if (dbeta != nullptr) dbeta[c] = float(sum_dy);
  };
  auto dx_coefficients = [&](int64_t c, double sum_dy, double dot, float* k_dy, float* k_x,
                             float* k_0) {
    const double is = inv_std[c];
    const double g = gamma != nullptr ? double(gamma[c]) : 1.0;
    *k_dy = float(g * is);
    if (training) {
      // xhat * mean(dy * xhat) = (x - mean) * is^2 * dot / M.
      *k_x = float(g * is * is * is * dot / m);
      *k_0 = float(g * is * sum_dy / m);
    } else {
      *k_x = 0.0f;
      *k_0 = 0.0f;
    }
  };
  const bool need_sums = training || dgamma != nullptr || dbeta != nullptr;
  // The first pass also stores the masked gradient in dresidual; the second reads it back there.
  const bool first_pass = need_sums || epilogue.dresidual != nullptr;
  if (s.inner == 1) {
    for_channels(s, [&](int64_t c0, int64_t c1) {
      const int64_t nc = c1 - c0;
      ScratchArena::Scope scope;
      double* sums = reinterpret_cast<double*>(
          ScratchArena::local().allocate(size_t(2 * nc) * sizeof(double)));
      double* sum_dy = sums;
      double* dot = sums + nc;
      float* tmp = ScratchArena::local().allocate_floats(nc);
      std::fill(sums, sums + 2 * nc, 0.0);
      if (first_pass) {
        for (int64_t o = 0; o < s.outer; ++o) {
          const int64_t off = o * s.channels + c0;
          const float* g = gradient_row(epilogue, dy, off, nc, tmp);
          if (!need_sums) continue;
          const float* xr = x + off;
          for (int64_t j = 0; j < nc; ++j) {
            sum_dy[j] += g[j];
            dot[j] += double(g[j]) * (double(xr[j]) - double(mean[c0 + j]));
          }
        }
      }
      for (int64_t c = c0; c < c1; ++c) write_grads(c, sum_dy[c - c0], dot[c - c0]);
      if (dx == nullptr) return;
      float* k = ScratchArena::local().allocate_floats(3 * nc);
      for (int64_t c = c0; c < c1; ++c) {
        dx_coefficients(c, sum_dy[c - c0], dot[c - c0], &k[c - c0], &k[nc + c - c0],
                        &k[2 * nc + c - c0]);
      }
      for (int64_t o = 0; o < s.outer; ++o) {
        const int64_t off = o * s.channels + c0;
        const float* g = epilogue.dresidual != nullptr ? epilogue.dresidual + off
                                                       : gradient_row(epilogue, dy, off, nc, tmp);
        const float* xr = x + off;
        float* d = dx + off;
        for (int64_t j = 0; j < nc; ++j) {
          d[j] = k[j] * g[j] - k[nc + j] * (xr[j] - mean[c0 + j]) - k[2 * nc + j];
        }
      }
    });
    return;
  }
  for_channel_blocks(s, [&](int64_t c0, int64_t c1) {
    const int64_t nc = c1 - c0;
    ScratchArena::Scope scope;
    double* sums =
        reinterpret_cast<double*>(ScratchArena::local().allocate(size_t(2 * nc) * sizeof(double)));
    double* sum_dy = sums;
    double* dot = sums + nc;
    std::fill(sums, sums + 2 * nc, 0.0);
    float* tmp = ScratchArena::local().allocate_floats(s.inner);
    if (first_pass) {
      for (int64_t o = 0; o < s.outer; ++o) {
        for (int64_t c = c0; c < c1; ++c) {
          const int64_t off = (o * s.channels + c) * s.inner;
          const float* g = gradient_row(epilogue, dy, off, s.inner, tmp);
          if (!need_sums) continue;
          float a, b;
          sum_and_dot_deviations(g, x + off, s.inner, mean[c], &a, &b);
          sum_dy[c - c0] += a;
          dot[c - c0] += b;
        }
      }
    }
    for (int64_t c = c0; c < c1; ++c) write_grads(c, sum_dy[c - c0], dot[c - c0]);
    if (dx == nullptr) return;
    float* k = ScratchArena::local().allocate_floats(3 * nc);
    for (int64_t c = c0; c < c1; ++c) {
      dx_coefficients(c, sum_dy[c - c0], dot[c - c0], &k[c - c0], &k[nc + c - c0],
                      &k[2 * nc + c - c0]);
    }
    for (int64_t o = 0; o < s.outer; ++o) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t off = (o * s.channels + c) * s.inner;
        const float* g = epilogue.dresidual != nullptr
                             ? epilogue.dresidual + off
                             : gradient_row(epilogue, dy, off, s.inner, tmp);
        const float* xs = x + off;
        float* d = dx + off;
        const float mu = mean[c];
        const float k_dy = k[c - c0], k_x = k[nc + c - c0], k_0 = k[2 * nc + c - c0];
        for (int64_t i = 0; i < s.inner; ++i) d[i] = k_dy * g[i] - k_x * (xs[i] - mu) - k_0;
      }
    }
  });
}

}  // namespace convnet
