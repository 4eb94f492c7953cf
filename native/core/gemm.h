// Single-precision GEMM, layered as in BLIS: B is packed into kc x nr panels, A into mr x kc
// panels (or read in place when B has only a few panels), a macro-kernel walks the micro-tiles
// of one block, and the micro-kernel of the active KernelConfig computes each mr x nr tile.
// Threads each take one block of C (split by rows, columns or both) and pack their own panels.
#ifndef CONVNET_CORE_GEMM_H_
#define CONVNET_CORE_GEMM_H_

#include <cstdint>

#include "kernel_config.h"

namespace convnet {

// C = alpha * op(A) * op(B) + beta * C with row-major storage and leading dimensions:
// op(A) is m x k (A stored m x k with row stride lda, or k x m when trans_a), op(B) is k x n
// (B stored k x n with row stride ldb, or n x k when trans_b), C is m x n with row stride ldc.
// When beta == 0, C is write-only. Multithreaded over the pool unless called inside a
// parallel_for. The result does not depend on the thread count.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The same with an explicit config (tests run every instruction set through this).
void gemm_with_config(const KernelConfig& config, bool trans_a, bool trans_b, int64_t m, int64_t n,
                      int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                      int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace convnet

#endif  // CONVNET_CORE_GEMM_H_
