#include "gemm.h"

#include <algorithm>
#include <numeric>

#include "scratch_arena.h"
#include "thread_pool.h"

namespace convnet {
namespace {

// Below this many flops per thread, waking another thread costs more than it saves.
constexpr double kMinFlopsPerThread = double(1 << 20);
// C of at most this many floats counts as a small product (see kc_block).
constexpr int64_t kSmallProductFloats = 64 * 256;
constexpr int64_t kSmallProductMaxDepth = 512;
// Pack B in chunks of at least this many floats per task.
constexpr int64_t kMinPackFloatsPerTask = 16384;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Rows [i0, i0 + mc) and depth [p0, p0 + kc) of op(A), as mr-row panels: panel r holds
// ap[r * mr * kc + p * mr + i] = op(A)(i0 + r * mr + i, p0 + p), zero past row mc.
void pack_a(int64_t mr, const float* a, int64_t lda, bool trans, int64_t i0, int64_t mc, int64_t p0,
            int64_t kc, float* ap) {
  for (int64_t ir = 0; ir < mc; ir += mr) {
    const int64_t rows = std::min(mr, mc - ir);
    float* dst = ap + ir * kc;
    if (!trans) {
      for (int64_t i = 0; i < rows; ++i) {
        const float* src = a + (i0 + ir + i) * lda + p0;
        for (int64_t p = 0; p < kc; ++p) dst[p * mr + i] = src[p];
      }
      if (rows < mr) {
        for (int64_t p = 0; p < kc; ++p) std::fill(dst + p * mr + rows, dst + (p + 1) * mr, 0.0f);
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = a + (p0 + p) * lda + i0 + ir;
        float* d = dst + p * mr;
        std::copy(src, src + rows, d);
        std::fill(d + rows, d + mr, 0.0f);
      }
    }
  }
}

// Panels [q0, q1) of depth [p0, p0 + kc) and columns [j0, j0 + nc) of op(B): panel q holds
// bp[q * nr * kc + p * nr + j] = op(B)(p0 + p, j0 + q * nr + j), zero past column nc.
void pack_b(int64_t nr, const float* b, int64_t ldb, bool trans, int64_t p0, int64_t kc, int64_t j0,
            int64_t nc, int64_t q0, int64_t q1, float* bp) {
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t jr = q * nr;
    const int64_t cols = std::min(nr, nc - jr);
    float* dst = bp + jr * kc;
    if (!trans) {
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = b + (p0 + p) * ldb + j0 + jr;
        float* d = dst + p * nr;
        std::copy(src, src + cols, d);
        std::fill(d + cols, d + nr, 0.0f);
      }
    } else {
      for (int64_t j = 0; j < cols; ++j) {
        const float* src = b + (j0 + jr + j) * ldb + p0;
        for (int64_t p = 0; p < kc; ++p) dst[p * nr + j] = src[p];
      }
      if (cols < nr) {
        for (int64_t p = 0; p < kc; ++p) std::fill(dst + p * nr + cols, dst + (p + 1) * nr, 0.0f);
      }
    }
  }
}

// Walks the micro-tiles of an mc x [j_begin, j_end) block of C (c points at the block's
// column 0). Edge tiles are computed into a stack tile and merged.
void macro_kernel(const KernelConfig& cfg, int64_t mc, int64_t j_begin, int64_t j_end, int64_t kc,
                  const float* ap, const float* bp, float* c, int64_t ldc, float alpha,
                  float beta) {
  const int64_t mr = cfg.mr, nr = cfg.nr;
  alignas(64) float tile[kMaxMicroTile];
  for (int64_t j = j_begin; j < j_end; j += nr) {
    const int64_t cols = std::min(nr, j_end - j);
    const float* b_panel = bp + j * kc;
    for (int64_t i = 0; i < mc; i += mr) {
      const int64_t rows = std::min(mr, mc - i);
      const float* a_panel = ap + i * kc;
      float* c_tile = c + i * ldc + j;
      if (rows == mr && cols == nr) {
        cfg.gemm_ukernel(kc, a_panel, b_panel, c_tile, ldc, alpha, beta);
        continue;
      }
      cfg.gemm_ukernel(kc, a_panel, b_panel, tile, nr, 1.0f, 0.0f);
      for (int64_t ii = 0; ii < rows; ++ii) {
        float* crow = c_tile + ii * ldc;
        const float* trow = tile + ii * nr;
        if (beta == 0.0f) {
          for (int64_t jj = 0; jj < cols; ++jj) crow[jj] = alpha * trow[jj];
        } else {
          for (int64_t jj = 0; jj < cols; ++jj) crow[jj] = alpha * trow[jj] + beta * crow[jj];
        }
      }
    }
  }
}

void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f) {
      std::fill(row, row + n, 0.0f);
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
    }
  }
}

}  // namespace

void gemm_with_config(const KernelConfig& cfg, bool trans_a, bool trans_b, int64_t m, int64_t n,
                      int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                      int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  ThreadPool& pool = ThreadPool::global();
  const int64_t mr = cfg.mr, nr = cfg.nr;
  const double flops = 2.0 * double(m) * double(n) * double(k);
  const int max_threads =
      int(std::max<double>(1.0, std::min<double>(pool.num_threads(), flops / kMinFlopsPerThread)));
  const int threads = pool.participants(int64_t{1} << 30, max_threads);

  // Equal-sized row blocks, so the blocks split evenly over threads.
  const int64_t m_blocks = ceil_div(m, cfg.mc);
  const int64_t mc = round_up(ceil_div(m, m_blocks), mr);

  ScratchArena::Scope scope;
  const int64_t nc_cap = std::min(cfg.nc, round_up(n, nr));
  // Depth per packed block. Small products (C of a few panels, e.g. a linear layer's batch of 64)
  // take deeper blocks: every block costs two thread dispatches and a pass over C, which they
  // cannot amortize; 512 keeps an A sliver (6 x 512 floats) in L1 (measured: 64x128x1600 NT
  // 0.55 -> 0.24 ms on 2 threads, unchanged on 1).
  const int64_t kc_block =
      m * n <= kSmallProductFloats ? std::min<int64_t>(k, kSmallProductMaxDepth) : cfg.kc;
  const int64_t kc_cap = std::min(kc_block, k);
  float* bp = ScratchArena::local().allocate_floats(nc_cap * kc_cap);

  for (int64_t jc = 0; jc < n; jc += cfg.nc) {
    const int64_t nc = std::min(cfg.nc, n - jc);
    const int64_t n_panels = ceil_div(nc, nr);
    // With fewer row blocks than threads, the columns are split too, so that the number of
    // tasks is a multiple of the thread count.
    const int64_t n_splits =
        std::min<int64_t>(n_panels, threads / std::gcd<int64_t>(m_blocks, threads));
    const int64_t tasks = m_blocks * n_splits;

    for (int64_t pc = 0; pc < k; pc += kc_block) {
      const int64_t kc = std::min(kc_block, k - pc);
      const float beta_block = pc == 0 ? beta : 1.0f;

      const int64_t pack_chunks = std::max<int64_t>(
          1, std::min<int64_t>(n_panels, n_panels * nr * kc / kMinPackFloatsPerTask));
      pool.parallel_for(
          pack_chunks,
          [&](int64_t t, int) {
            pack_b(nr, b, ldb, trans_b, pc, kc, jc, nc, n_panels * t / pack_chunks,
                   n_panels * (t + 1) / pack_chunks, bp);
          },
          max_threads);

      pool.parallel_for(
          tasks,
          [&](int64_t t, int) {
            const int64_t block = t / n_splits, split = t % n_splits;
            const int64_t i0 = block * mc;
            const int64_t rows = std::min(mc, m - i0);
            const int64_t j_begin = n_panels * split / n_splits * nr;
            const int64_t j_end = std::min(nc, n_panels * (split + 1) / n_splits * nr);
            ScratchArena::Scope task_scope;
            float* ap = ScratchArena::local().allocate_floats(round_up(rows, mr) * kc);
            pack_a(mr, a, lda, trans_a, i0, rows, pc, kc, ap);
            macro_kernel(cfg, rows, j_begin, j_end, kc, ap, bp, c + i0 * ldc + jc, ldc, alpha,
                         beta_block);
          },
          max_threads);
    }
  }
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm_with_config(active_kernel_config(), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
                   c, ldc);
}

}  // namespace convnet
