#include "conv2d.h"

#include <algorithm>
#include <vector>

#include "conv2d_depthwise.h"
#include "conv2d_implicit.h"
#include "conv2d_winograd.h"
#include "gemm.h"
#include "im2col.h"
#include "reduce.h"
#include "scratch_arena.h"
#include "thread_pool.h"

namespace convnet {
namespace {

// Per image n and group g, with K = C/groups * KH * KW and P = OH * OW:
//   forward          Y[n,g] (O/g x P) = W[g] (O/g x K) * col(X[n,g]) (K x P)
//   backward input   dX[n,g] = col2im(W[g]^T (K x O/g) * dY[n,g] (O/g x P))
//   backward weight  dW[g] (O/g x K) += dY[n,g] (O/g x P) * col(X[n,g])^T (P x K)
// The column matrix is built for at most kMaxColFloats entries at a time (a range of output
// pixels), so scratch stays bounded for large images.
constexpr int64_t kMaxColFloats = int64_t{1} << 21;
// Below this many output pixels per column chunk GEMM gets inefficient; it overrides the cap.
constexpr int64_t kMinColPixels = 256;

struct Plan {
  int64_t cg, og;   // channels per group, in and out
  int64_t k;        // rows of the column matrix: cg * KH * KW
  int64_t p;        // output pixels per image
  int64_t hw;       // input pixels per plane
  bool direct;      // 1x1, stride 1, no padding: the input is already the column matrix
  int64_t chunk;    // output pixels per column chunk
  int64_t tasks;    // (image, group) pairs
  bool over_tasks;  // parallel over (image, group), GEMM single-threaded inside
};

Plan make_plan(const Conv2dShape& s) {
  Plan pl;
  pl.cg = s.in_channels / s.groups;
  pl.og = s.out_channels / s.groups;
  pl.k = pl.cg * s.kernel_h * s.kernel_w;
  pl.p = s.out_height * s.out_width;
  pl.hw = s.in_height * s.in_width;
  pl.direct = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
              s.pad_h == 0 && s.pad_w == 0;
  pl.chunk =
      pl.direct || pl.k == 0 ? pl.p : std::min(pl.p, std::max(kMinColPixels, kMaxColFloats / pl.k));
  pl.tasks = s.batch * s.groups;
  const ThreadPool& pool = ThreadPool::global();
  pl.over_tasks = pool.participants(pl.tasks) > 1 && pl.tasks >= pool.num_threads();
  return pl;
}

// Runs fn(task) for every (image, group) task: spread over the pool when there are enough of
// them (each task's GEMM then runs on its thread), otherwise in order with a parallel GEMM.
template <class Fn>
void for_each_task(const Plan& pl, Fn fn) {
  if (pl.over_tasks) {
    ThreadPool::global().parallel_for(pl.tasks, [&](int64_t t, int) { fn(t); });
  } else {
    for (int64_t t = 0; t < pl.tasks; ++t) fn(t);
  }
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias,
                    float* y) {
  if (s.out_channels == 0) return;  // nothing to write (and the output size is unbounded)
  const Plan pl = make_plan(s);
  if (conv2d_is_depthwise(s)) {
    conv2d_depthwise_forward(s, x, w, bias, y);
    return;
  }
  if (conv2d_forward_winograd(s, x, w, bias, y)) return;
  const KernelConfig& cfg = active_kernel_config();
  if (!pl.direct && conv2d_forward_implicit(cfg, s, x, w, bias, y)) return;
  for_each_task(pl, [&](int64_t t) {
    const int64_t n = t / s.groups, g = t % s.groups;
    const float* xg = x + (n * s.in_channels + g * pl.cg) * pl.hw;
    const float* wg = w + g * pl.og * pl.k;
    float* yg = y + (n * s.out_channels + g * pl.og) * pl.p;
    float beta = 0.0f;
    if (bias != nullptr) {
      for (int64_t o = 0; o < pl.og; ++o) {
        std::fill(yg + o * pl.p, yg + (o + 1) * pl.p, bias[g * pl.og + o]);
      }
      beta = 1.0f;
    }
    if (pl.direct) {
      gemm(false, false, pl.og, pl.p, pl.k, 1.0f, wg, pl.k, xg, pl.hw, beta, yg, pl.p);
      return;
    }
    ScratchArena::Scope scope;
    float* col = ScratchArena::local().allocate_floats(pl.k * pl.chunk);
    for (int64_t p0 = 0; p0 < pl.p; p0 += pl.chunk) {
      const int64_t np = std::min(pl.chunk, pl.p - p0);
      im2col(s, pl.cg, xg, p0, p0 + np, col);
      gemm(false, false, pl.og, np, pl.k, 1.0f, wg, pl.k, col, np, beta, yg + p0, pl.p);
    }
  });
}

void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
  if (s.out_channels == 0) {
    std::fill(dx, dx + s.batch * s.in_channels * s.in_height * s.in_width, 0.0f);
    return;
  }
  const Plan pl = make_plan(s);
  if (conv2d_is_depthwise(s)) {
    conv2d_depthwise_backward_input(s, dy, w, dx);
    return;
  }
  if (conv2d_backward_input_winograd(s, dy, w, dx)) return;
  const KernelConfig& cfg = active_kernel_config();
  if (!pl.direct && conv2d_backward_input_implicit(cfg, s, dy, w, dx)) return;
  for_each_task(pl, [&](int64_t t) {
    const int64_t n = t / s.groups, g = t % s.groups;
    const float* dyg = dy + (n * s.out_channels + g * pl.og) * pl.p;
    const float* wg = w + g * pl.og * pl.k;
    float* dxg = dx + (n * s.in_channels + g * pl.cg) * pl.hw;
    if (pl.direct) {
      gemm(true, false, pl.k, pl.p, pl.og, 1.0f, wg, pl.k, dyg, pl.p, 0.0f, dxg, pl.hw);
      return;
    }
    std::fill(dxg, dxg + pl.cg * pl.hw, 0.0f);
    ScratchArena::Scope scope;
    float* col = ScratchArena::local().allocate_floats(pl.k * pl.chunk);
    for (int64_t p0 = 0; p0 < pl.p; p0 += pl.chunk) {
      const int64_t np = std::min(pl.chunk, pl.p - p0);
      gemm(true, false, pl.k, np, pl.og, 1.0f, wg, pl.k, dyg + p0, pl.p, 0.0f, col, np);
      col2im_add(s, pl.cg, col, p0, p0 + np, dxg);
    }
  });
}

namespace {

// dW[g] += dY[n,g] * col(X[n,g])^T for task t = (n, g), into dw_all (all groups).
void accumulate_weight_grad(const Conv2dShape& s, const Plan& pl, int64_t t, const float* x,
                            const float* dy, float* dw_all) {
  const int64_t n = t / s.groups, g = t % s.groups;
  const float* xg = x + (n * s.in_channels + g * pl.cg) * pl.hw;
  const float* dyg = dy + (n * s.out_channels + g * pl.og) * pl.p;
  float* dwg = dw_all + g * pl.og * pl.k;
  if (pl.direct) {
    gemm(false, true, pl.og, pl.k, pl.p, 1.0f, dyg, pl.p, xg, pl.hw, 1.0f, dwg, pl.k);
    return;
  }
  ScratchArena::Scope scope;
  float* col = ScratchArena::local().allocate_floats(pl.k * pl.chunk);
  for (int64_t p0 = 0; p0 < pl.p; p0 += pl.chunk) {
    const int64_t np = std::min(pl.chunk, pl.p - p0);
    im2col(s, pl.cg, xg, p0, p0 + np, col);
    gemm(false, true, pl.og, pl.k, np, 1.0f, dyg + p0, pl.p, col, np, 1.0f, dwg, pl.k);
  }
}

void bias_grad(const Conv2dShape& s, int64_t p, const float* dy, float* dbias) {
  parallel_range(s.out_channels, 1, [&](int64_t o_begin, int64_t o_end) {
    for (int64_t o = o_begin; o < o_end; ++o) {
      double sum = 0.0;
      for (int64_t n = 0; n < s.batch; ++n) {
        sum += sum_floats(dy + (n * s.out_channels + o) * p, p);
      }
      dbias[o] = float(sum);
    }
  });
}

}  // namespace

void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw,
                            float* dbias) {
  if (s.out_channels == 0) return;  // dw and dbias are empty
  const Plan pl = make_plan(s);
  if (conv2d_is_depthwise(s)) {
    conv2d_depthwise_backward_weight(s, x, dy, dw, dbias);
    return;
  }
  if (conv2d_backward_weight_winograd(s, x, dy, dw, dbias)) return;
  const KernelConfig& cfg = active_kernel_config();
  if (!pl.direct && conv2d_backward_weight_implicit(cfg, s, x, dy, dw, dbias)) return;
  if (dbias != nullptr) bias_grad(s, pl.p, dy, dbias);
  const int64_t w_size = s.out_channels * pl.k;
  std::fill(dw, dw + w_size, 0.0f);
  if (!pl.over_tasks) {
    for (int64_t t = 0; t < pl.tasks; ++t) accumulate_weight_grad(s, pl, t, x, dy, dw);
    return;
  }
  // Each slot sums a fixed range of tasks into its own copy of dW (a fixed partition, so the
  // summation order and the result do not depend on scheduling); the copies are then added.
  ThreadPool& pool = ThreadPool::global();
  const int64_t slots = pool.participants(pl.tasks);
  ScratchArena::Scope scope;
  float* partial = ScratchArena::local().allocate_floats(slots * w_size);
  pool.parallel_for(slots, [&](int64_t slot, int) {
    float* mine = partial + slot * w_size;
    std::fill(mine, mine + w_size, 0.0f);
    const int64_t t_begin = pl.tasks * slot / slots, t_end = pl.tasks * (slot + 1) / slots;
    for (int64_t t = t_begin; t < t_end; ++t) accumulate_weight_grad(s, pl, t, x, dy, mine);
  });
  parallel_range(w_size, 4096, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float sum = 0.0f;
      for (int64_t slot = 0; slot < slots; ++slot) sum += partial[slot * w_size + i];
      dw[i] = sum;
    }
  });
}

}  // namespace convnet
