// Indirect GEMM tiles (A read through row pointers plus per-step offsets, see IgemmMicroKernel)
// on top of a KernelConfig, whether or not its instruction set has an indirect micro-kernel, and
// the packing of B panels they multiply.
#ifndef CONVNET_CORE_INDIRECT_GEMM_H_
#define CONVNET_CORE_INDIRECT_GEMM_H_

#include <cstdint>

#include "kernel_config.h"

namespace convnet {

// One mr-row tile of an indirect A operand of depth kc: a(i, p) = rows[i][offsets[p]].
class IndirectTile {
 public:
  // Floats of 64-byte-aligned scratch the constructor needs (0 with an indirect micro-kernel).
  static int64_t scratch_floats(const KernelConfig& cfg, int64_t kc);

  // offsets (kc entries) and scratch must outlive the tile.
  IndirectTile(const KernelConfig& cfg, int64_t kc, const int64_t* offsets, float* scratch);

  // Points the tile's mr rows at `rows` (copied). Without an indirect micro-kernel the rows are
  // gathered into a packed panel here, once for all the panels multiply() is called with.
  void set_rows(const float* const* rows);

  // c (mr x nr, row stride ldc) = alpha * A * B + beta * c, B one packed kc x nr panel.
  void multiply(const float* b_panel, float* c, int64_t ldc, float alpha, float beta) const;

 private:
  const KernelConfig& cfg_;
  int64_t kc_;
  const int64_t* offsets_;
  float* packed_;
  const float* rows_[kMaxMr];
};

// One nr-column tile of a B operand read in place, of depth kc: row p is the nr floats at
// base + offsets[p] (see RowGemmMicroKernel).
class RowTile {
 public:
  // Floats of 64-byte-aligned scratch the constructor needs (0 with a row micro-kernel).
  static int64_t scratch_floats(const KernelConfig& cfg, int64_t kc);

  // offsets (kc entries) and scratch must outlive the tile.
  RowTile(const KernelConfig& cfg, int64_t kc, const int64_t* offsets, float* scratch);

  // Points the tile at `base`. Without a row micro-kernel the rows are gathered into a packed
  // panel here, once for all the A panels multiply() is called with.
  void set_base(const float* base);

  // c (mr x nr, row stride ldc) = alpha * A * B + beta * c, A one packed mr x kc panel.
  void multiply(const float* a_panel, float* c, int64_t ldc, float alpha, float beta) const;

 private:
  const KernelConfig& cfg_;
  int64_t kc_;
  const int64_t* offsets_;
  float* packed_;
  const float* base_ = nullptr;
};

// dst[r * nr + j] = src[j * src_stride + r] for r < rows and j < cols, 0 for cols <= j < nr:
// `cols` rows of src (each `rows` long) become one packed panel of B = src^T (or, with mr for
// nr, one packed mr-row panel of A = src). When col_sums is not null, col_sums[j] receives the
// sum of source row j (a convolution's bias gradient, read on the way).
void pack_transposed_panel(int64_t nr, int64_t rows, int64_t cols, const float* src,
                           int64_t src_stride, float* dst, float* col_sums = nullptr);

}  // namespace convnet

#endif  // CONVNET_CORE_INDIRECT_GEMM_H_
