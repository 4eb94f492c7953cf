#include "indirect_gemm.h"

#include <algorithm>

namespace convnet {

int64_t IndirectTile::scratch_floats(const KernelConfig& cfg, int64_t kc) {
  return cfg.igemm_ukernel != nullptr ? 0 : cfg.mr * std::max<int64_t>(kc, 1);
}

IndirectTile::IndirectTile(const KernelConfig& cfg, int64_t kc, const int64_t* offsets,
                           float* scratch)
    : cfg_(cfg), kc_(kc), offsets_(offsets), packed_(scratch), rows_{} {}

void IndirectTile::set_rows(const float* const* rows) {
  const int64_t mr = cfg_.mr;
  for (int64_t i = 0; i < mr; ++i) rows_[i] = rows[i];
  if (cfg_.igemm_ukernel != nullptr) return;
  for (int64_t p = 0; p < kc_; ++p) {
    const int64_t o = offsets_[p];
    float* dst = packed_ + p * mr;
    for (int64_t i = 0; i < mr; ++i) dst[i] = rows_[i][o];
  }
}

void IndirectTile::multiply(const float* b_panel, float* c, int64_t ldc, float alpha,
                            float beta) const {
  if (cfg_.igemm_ukernel != nullptr) {
    cfg_.igemm_ukernel(kc_, rows_, offsets_, b_panel, c, ldc, alpha, beta);
  } else {
    cfg_.gemm_ukernel(kc_, packed_, b_panel, c, ldc, alpha, beta);
  }
}

int64_t RowTile::scratch_floats(const KernelConfig& cfg, int64_t kc) {
  return cfg.rowgemm_ukernel != nullptr ? 0 : cfg.nr * std::max<int64_t>(kc, 1);
}

RowTile::RowTile(const KernelConfig& cfg, int64_t kc, const int64_t* offsets, float* scratch)
    : cfg_(cfg), kc_(kc), offsets_(offsets), packed_(scratch) {}

void RowTile::set_base(const float* base) {
  base_ = base;
  if (cfg_.rowgemm_ukernel != nullptr) return;
  const int64_t nr = cfg_.nr;
  for (int64_t p = 0; p < kc_; ++p) std::copy(base + offsets_[p], base + offsets_[p] + nr, packed_ + p * nr);
}

void RowTile::multiply(const float* a_panel, float* c, int64_t ldc, float alpha,
                       float beta) const {
  if (cfg_.rowgemm_ukernel != nullptr) {
    cfg_.rowgemm_ukernel(kc_, a_panel, base_, offsets_, c, ldc, alpha, beta);
  } else {
    cfg_.gemm_ukernel(kc_, a_panel, packed_, c, ldc, alpha, beta);
  }
}

void pack_transposed_panel(int64_t nr, int64_t rows, int64_t cols, const float* src,
                           int64_t src_stride, float* dst) {
  // Blocks of 64 rows: the `cols` source streams stay in L1 while a block is written.
  constexpr int64_t kBlock = 64;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = std::min(rows, r0 + kBlock);
    for (int64_t j = 0; j < cols; ++j) {
      const float* s = src + j * src_stride;
      for (int64_t r = r0; r < r1; ++r) dst[r * nr + j] = s[r];
    }
    if (cols < nr) {
      for (int64_t r = r0; r < r1; ++r) std::fill(dst + r * nr + cols, dst + (r + 1) * nr, 0.0f);
    }
  }
}

}  // namespace convnet
