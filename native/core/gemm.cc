#include "gemm.h"

#include <algorithm>
#include <cstring>

#include "scratch_arena.h"
#include "thread_pool.h"

namespace convnet {
namespace {

// A is read in place when B has at most this many panels (see Problem::a_in_place).
constexpr int64_t kAInPlaceMaxPanels = 4;
// Below this many flops per thread, waking another thread costs more than it saves.
constexpr double kMinFlopsPerThread = double(1 << 20);
// C of at most this many floats counts as a small product (see kc_block).
constexpr int64_t kSmallProductFloats = 64 * 256;
constexpr int64_t kSmallProductMaxDepth = 512;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// The two shapes of packing, for panels W wide (mr for A, nr for B) and kc deep:
//   gather: dst[p * W + i] = src[i * ld + p] (the panel's W rows are rows of the source),
//   copy:   dst[p * W + i] = src[p * ld + i] (they are columns of the source),
// for i < width, zero for width <= i < W. W is a template parameter for the widths of the
// configs, so the inner loops unroll.
template <int W>
void gather_panel(int64_t width, int64_t kc, const float* src, int64_t ld, float* dst) {
  // Column by column: the stores are sequential and the W source rows stream in parallel.
  for (int64_t p = 0; p < kc; ++p) {
    float* d = dst + p * W;
    for (int i = 0; i < W; ++i) d[i] = i < width ? src[i * ld + p] : 0.0f;
  }
}

// Copies a whole block of panels, a few source rows at a time: within a step the reads are
// sequential along those rows and the writes fill consecutive lines of one panel. Panel by
// panel, every read is a line of its own row (a stride the prefetcher does not follow), and row
// by row every write goes to another panel, kc * W floats apart, a power of two that maps them
// all to one L1 set (32x8192x256 NN spent 40% of its time in either).
template <int W>
void copy_block(int64_t width, int64_t kc, const float* src, int64_t ld, float* dst) {
  constexpr int64_t kRows = 8;
  const int64_t full = width / W, rest = width % W;
  for (int64_t p0 = 0; p0 < kc; p0 += kRows) {
    const int64_t p1 = std::min(kc, p0 + kRows);
    for (int64_t q = 0; q < full; ++q) {
      float* d = dst + q * W * kc;
      // memcpy of a constant size: vector moves, whatever the compiler assumes about aliasing.
      for (int64_t p = p0; p < p1; ++p)
        std::memcpy(d + p * W, src + p * ld + q * W, sizeof(float) * W);
    }
    if (rest != 0) {
      float* d = dst + full * W * kc;
      for (int64_t p = p0; p < p1; ++p) {
        for (int i = 0; i < W; ++i) d[p * W + i] = i < rest ? src[p * ld + full * W + i] : 0.0f;
      }
    }
  }
}

using PanelPacker = void (*)(int64_t width, int64_t kc, const float* src, int64_t ld, float* dst);

// The widths are those of the configs in kernel_config.cc (the tests run every one of them).
PanelPacker portable_gather(int64_t w) {
  switch (w) {
    case 4:
      return gather_panel<4>;
    case 6:
      return gather_panel<6>;
    case 8:
      return gather_panel<8>;
    case 16:
      return gather_panel<16>;
    default:
      return nullptr;
  }
}

// Packs a whole block of panels (width may exceed w).
PanelPacker portable_copy_block(int64_t w) {
  switch (w) {
    case 4:
      return copy_block<4>;
    case 6:
      return copy_block<6>;
    case 8:
      return copy_block<8>;
    case 16:
      return copy_block<16>;
    default:
      return nullptr;
  }
}

// How one operand is packed: `width` rows or columns of op(X) starting at (index, depth) are
// packer(width, kc, base + index * index_stride + depth * depth_stride, ld), one panel of at
// most w at a time unless whole_block.
struct Operand {
  PanelPacker packer;
  bool whole_block;
  int64_t w;
  const float* base;
  int64_t ld;
  int64_t index_stride;
  int64_t depth_stride;

  // Rows [i0, i0 + mc) of op(A) (or columns of op(B)) at depth [p0, p0 + kc), as w-wide panels
  // one after another, each w * kc floats, zero past the last row.
  void pack(int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) const {
    const float* src = base + i0 * index_stride + p0 * depth_stride;
    if (whole_block) {
      packer(mc, kc, src, ld, dst);
      return;
    }
    for (int64_t i = 0; i < mc; i += w) {
      packer(std::min(w, mc - i), kc, src + i * index_stride, ld, dst + i * kc);
    }
  }
};

// op(A): its rows are rows of A (gather) unless trans_a; op(B): its columns are columns of B
// (copy) unless trans_b.
Operand operand_a(const KernelConfig& cfg, const float* a, int64_t lda, bool trans_a) {
  if (trans_a) return {portable_copy_block(cfg.mr), true, cfg.mr, a, lda, 1, lda};
  return {cfg.pack_a ? cfg.pack_a : portable_gather(cfg.mr), false, cfg.mr, a, lda, lda, 1};
}

Operand operand_b(const KernelConfig& cfg, const float* b, int64_t ldb, bool trans_b) {
  if (!trans_b) return {portable_copy_block(cfg.nr), true, cfg.nr, b, ldb, 1, ldb};
  return {cfg.pack_b_transposed ? cfg.pack_b_transposed : portable_gather(cfg.nr),
          false,
          cfg.nr,
          b,
          ldb,
          ldb,
          1};
}

// Stores alpha * tile + beta * c for the rows x cols corner of a tile computed into scratch.
void merge_edge_tile(const float* tile, int64_t nr, int64_t rows, int64_t cols, float* c,
                     int64_t ldc, float alpha, float beta) {
  for (int64_t ii = 0; ii < rows; ++ii) {
    float* crow = c + ii * ldc;
    const float* trow = tile + ii * nr;
    if (beta == 0.0f) {
      for (int64_t jj = 0; jj < cols; ++jj) crow[jj] = alpha * trow[jj];
    } else {
      for (int64_t jj = 0; jj < cols; ++jj) crow[jj] = alpha * trow[jj] + beta * crow[jj];
    }
  }
}

// Walks the micro-tiles of an mc x nc block of C. tile(i, j, c, ldc, alpha, beta) computes the
// full mr x nr tile at row i, column j of the block into c; edge tiles are computed into a
// stack tile and merged. rows_outer picks the order: the operand read along the inner loop
// stays in L1 (B's panel when the columns are outer, as in BLIS).
template <class Tile>
void macro_kernel(int64_t mr, int64_t nr, int64_t mc, int64_t nc, bool rows_outer, float* c,
                  int64_t ldc, float alpha, float beta, Tile tile) {
  alignas(64) float scratch[kMaxMicroTile];
  auto one = [&](int64_t i, int64_t j) {
    const int64_t rows = std::min(mr, mc - i), cols = std::min(nr, nc - j);
    float* c_tile = c + i * ldc + j;
    if (rows == mr && cols == nr) {
      tile(i, j, c_tile, ldc, alpha, beta);
    } else {
      tile(i, j, scratch, nr, 1.0f, 0.0f);
      merge_edge_tile(scratch, nr, rows, cols, c_tile, ldc, alpha, beta);
    }
  };
  if (rows_outer) {
    for (int64_t i = 0; i < mc; i += mr) {
      for (int64_t j = 0; j < nc; j += nr) one(i, j);
    }
  } else {
    for (int64_t j = 0; j < nc; j += nr) {
      for (int64_t i = 0; i < mc; i += mr) one(i, j);
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

// a_in_place: whether the micro-kernel reads A where it lies (through the indirect micro-kernel)
// instead of from packed panels. Packing costs a pass over A, which only pays when each packed
// panel is reused by many panels of B: for 8192x32x256 (two panels of B) it was 40% of the time. B
// in place (through the row micro-kernel) lost on 32x8192x256: rows a power of two apart share one
// L1 set, so the panel did not stay in L1 for the next tile.
struct Problem {
  const KernelConfig& cfg;
  Operand a, b;
  bool a_in_place;
  int64_t k, kc;  // depth, and depth per packed block
  float alpha, beta;
  float* c;
  int64_t ldc;
};

// Depth per packed block. Small products (C of a few panels, e.g. a linear layer's batch of 64)
// take deeper blocks: every block costs a pass over C, which they cannot amortize; 512 keeps an
// A sliver (6 x 512 floats) in L1 (measured: 64x128x1600 NT 0.55 -> 0.24 ms on 2 threads,
// unchanged on 1). Never depends on the thread count: the blocking fixes the order of the sums.
int64_t kc_block(const KernelConfig& cfg, int64_t m, int64_t n, int64_t k) {
  const int64_t kc = m * n <= kSmallProductFloats ? kSmallProductMaxDepth : cfg.kc;
  return std::min(kc, k);
}

// C block [i0, i1) x [j0, j1) on the calling thread, BLIS's loops around the macro-kernel:
// columns by nc (a packed kc x nc block of B, in L3), depth by kc, rows by mc (a packed
// mc x kc block of A, in L2).
void gemm_block(const Problem& pr, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const KernelConfig& cfg = pr.cfg;
  const int64_t mr = cfg.mr, nr = cfg.nr;
  const int64_t rows = i1 - i0, cols = j1 - j0;
  // Equal-sized row blocks, none much smaller than the others.
  const int64_t m_blocks = ceil_div(rows, cfg.mc);
  const int64_t mc = std::min(round_up(ceil_div(rows, m_blocks), mr), round_up(rows, mr));
  const int64_t nc_cap = std::min(cfg.nc, round_up(cols, nr));

  ScratchArena::Scope scope;
  ScratchArena& arena = ScratchArena::local();
  float* bp = arena.allocate_floats(nc_cap * pr.kc);
  float* ap = pr.a_in_place ? nullptr : arena.allocate_floats(mc * pr.kc);
  int64_t* offsets =
      pr.a_in_place ? static_cast<int64_t*>(arena.allocate(pr.kc * sizeof(int64_t))) : nullptr;

  for (int64_t jc = j0; jc < j1; jc += cfg.nc) {
    const int64_t nc = std::min(cfg.nc, j1 - jc);
    for (int64_t pc = 0; pc < pr.k; pc += pr.kc) {
      const int64_t kc = std::min(pr.kc, pr.k - pc);
      const float beta = pc == 0 ? pr.beta : 1.0f;
      float* c = pr.c + jc;
      pr.b.pack(jc, nc, pc, kc, bp);
      if (!pr.a_in_place) {
        for (int64_t ic = i0; ic < i1; ic += mc) {
          const int64_t mcur = std::min(mc, i1 - ic);
          pr.a.pack(ic, mcur, pc, kc, ap);
          macro_kernel(mr, nr, mcur, nc, false, c + ic * pr.ldc, pr.ldc, pr.alpha, beta,
                       [&](int64_t i, int64_t j, float* ct, int64_t ldct, float al, float be) {
                         cfg.gemm_ukernel(kc, ap + i * kc, bp + j * kc, ct, ldct, al, be);
                       });
        }
        continue;
      }
      // a(i, p) = a_rows[i][offsets[p]]. The rows of an edge tile past the block repeat its
      // last row; their results are dropped. Rows outer: the A sliver stays in L1 while it
      // meets each panel of B.
      for (int64_t p = 0; p < kc; ++p) offsets[p] = (pc + p) * pr.a.depth_stride;
      macro_kernel(mr, nr, rows, nc, true, c + i0 * pr.ldc, pr.ldc, pr.alpha, beta,
                   [&](int64_t i, int64_t j, float* ct, int64_t ldct, float al, float be) {
                     const float* a_rows[kMaxMr];
                     for (int64_t r = 0; r < mr; ++r) {
                       a_rows[r] = pr.a.base + (i0 + std::min(i + r, rows - 1)) * pr.a.index_stride;
                     }
                     cfg.igemm_ukernel(kc, a_rows, offsets, bp + j * kc, ct, ldct, al, be);
                   });
    }
  }
}

struct ThreadGrid {
  int64_t rows, cols;
};

// Splits C into rows x cols blocks, one per thread. Each thread packs the A rows and B columns
// of its block, so a split of the columns packs A once per column block and vice versa: the
// grid that packs the fewest floats wins, among those with at least a tile per block; on a tie
// the rows are split (B, shared by the threads' blocks, is then the operand packed twice).
ThreadGrid choose_grid(int threads, int64_t m, int64_t n, int64_t m_tiles, int64_t n_panels) {
  ThreadGrid best{1, 1};
  double best_cost = 0.0;
  for (int t = threads; t >= 2 && best.rows * best.cols == 1; --t) {
    for (int64_t rows = t; rows >= 1; --rows) {
      if (t % rows != 0) continue;
      const int64_t cols = t / rows;
      if (rows > m_tiles || cols > n_panels) continue;
      const double cost = double(m) * double(cols) + double(n) * double(rows);
      if (best.rows * best.cols == 1 || cost < best_cost) {
        best = {rows, cols};
        best_cost = cost;
      }
    }
  }
  return best;
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

  const int64_t m_tiles = ceil_div(m, mr), n_panels = ceil_div(n, nr);
  const bool a_in_place = n_panels <= kAInPlaceMaxPanels && cfg.igemm_ukernel != nullptr;
  const Problem pr{cfg,
                   operand_a(cfg, a, lda, trans_a),
                   operand_b(cfg, b, ldb, trans_b),
                   a_in_place,
                   k,
                   kc_block(cfg, m, n, k),
                   alpha,
                   beta,
                   c,
                   ldc};

  const ThreadGrid grid = choose_grid(threads, m, n, m_tiles, n_panels);
  if (grid.rows * grid.cols <= 1) {
    gemm_block(pr, 0, m, 0, n);
    return;
  }
  // Each thread computes its own block of C from its own packed panels: no thread waits for
  // another until the end. Blocks start on tile boundaries, so every tile is computed exactly as
  // on one thread and the result does not depend on the thread count.
  pool.parallel_for(
      grid.rows * grid.cols,
      [&](int64_t t, int) {
        const int64_t r = t / grid.cols, q = t % grid.cols;
        const int64_t i0 = m_tiles * r / grid.rows * mr;
        const int64_t i1 = std::min(m, m_tiles * (r + 1) / grid.rows * mr);
        const int64_t j0 = n_panels * q / grid.cols * nr;
        const int64_t j1 = std::min(n, n_panels * (q + 1) / grid.cols * nr);
        gemm_block(pr, i0, i1, j0, j1);
      },
      grid.rows * grid.cols);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm_with_config(active_kernel_config(), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta,
                   c, ldc);
}

}  // namespace convnet
