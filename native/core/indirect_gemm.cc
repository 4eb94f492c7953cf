#include "indirect_gemm.h"

#include <algorithm>

#if defined(__SSE2__)
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

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
  for (int64_t p = 0; p < kc_; ++p)
    std::copy(base + offsets_[p], base + offsets_[p] + nr, packed_ + p * nr);
}

void RowTile::multiply(const float* a_panel, float* c, int64_t ldc, float alpha, float beta) const {
  if (cfg_.rowgemm_ukernel != nullptr) {
    cfg_.rowgemm_ukernel(kc_, a_panel, base_, offsets_, c, ldc, alpha, beta);
  } else {
    cfg_.gemm_ukernel(kc_, a_panel, packed_, c, ldc, alpha, beta);
  }
}

void pack_transposed_panel(int64_t nr, int64_t rows, int64_t cols, const float* src,
                           int64_t src_stride, float* dst, float* col_sums) {
  if (col_sums != nullptr) std::fill(col_sums, col_sums + cols, 0.0f);
  int64_t j0 = 0;
#if defined(__SSE2__)
  // Four source rows at a time, transposed in 4x4 blocks (SSE2 is the x86-64 baseline).
  for (; j0 + 4 <= cols; j0 += 4) {
    const float* s0 = src + j0 * src_stride;
    const float* s1 = s0 + src_stride;
    const float* s2 = s1 + src_stride;
    const float* s3 = s2 + src_stride;
    __m128 sum0 = _mm_setzero_ps(), sum1 = _mm_setzero_ps();
    __m128 sum2 = _mm_setzero_ps(), sum3 = _mm_setzero_ps();
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {
      __m128 v0 = _mm_loadu_ps(s0 + r), v1 = _mm_loadu_ps(s1 + r);
      __m128 v2 = _mm_loadu_ps(s2 + r), v3 = _mm_loadu_ps(s3 + r);
      sum0 = _mm_add_ps(sum0, v0);
      sum1 = _mm_add_ps(sum1, v1);
      sum2 = _mm_add_ps(sum2, v2);
      sum3 = _mm_add_ps(sum3, v3);
      _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
      float* d = dst + r * nr + j0;
      _mm_storeu_ps(d, v0);
      _mm_storeu_ps(d + nr, v1);
      _mm_storeu_ps(d + 2 * nr, v2);
      _mm_storeu_ps(d + 3 * nr, v3);
    }
    float tail[4] = {0, 0, 0, 0};
    for (; r < rows; ++r) {
      float* d = dst + r * nr + j0;
      d[0] = s0[r];
      d[1] = s1[r];
      d[2] = s2[r];
      d[3] = s3[r];
      tail[0] += s0[r];
      tail[1] += s1[r];
      tail[2] += s2[r];
      tail[3] += s3[r];
    }
    if (col_sums != nullptr) {
      const __m128 sums[4] = {sum0, sum1, sum2, sum3};
      for (int j = 0; j < 4; ++j) {
        float lanes[4];
        _mm_storeu_ps(lanes, sums[j]);
        col_sums[j0 + j] = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + tail[j];
      }
    }
  }
#endif
  for (int64_t j = j0; j < cols; ++j) {
    const float* sj = src + j * src_stride;
    float sum = 0.0f;
    for (int64_t r = 0; r < rows; ++r) {
      dst[r * nr + j] = sj[r];
      sum += sj[r];
    }
    if (col_sums != nullptr) col_sums[j] = sum;
  }
  if (cols < nr) {
    for (int64_t r = 0; r < rows; ++r) std::fill(dst + r * nr + cols, dst + (r + 1) * nr, 0.0f);
  }
}

}  // namespace convnet
