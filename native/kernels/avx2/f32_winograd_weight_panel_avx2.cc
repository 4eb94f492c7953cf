// The Winograd F(4x4, 3x3) weight transform of a whole packed GEMM panel for AVX2 + FMA3 (see
// winograd_wide_kernels.h). The lanes are consecutive entries of the panel rather than its mr
// rows, so every result is one full 8-float store: the per-kernel transform with mr of 8
// lanes in use needs masked stores, which are slow on some cores. Compiled with -mavx2 -mfma
// only.
#include "../../core/winograd_wide_kernels.h"

#if defined(CONVNET_HAVE_X86_KERNELS)

#include <immintrin.h>

#include "avx2_inline.h"

#include <cstdint>

namespace convnet {
namespace {

constexpr int64_t kPrefetchDepths = 4;  // measured best of 2 to 8 on ResNet-18's layer4

}  // namespace

void f32_winograd_weight_panel_avx2(const float* w, int64_t row_stride, int64_t col_stride,
                                    bool flip, int mr, int rows, int64_t depth, float* u,
                                    int64_t u_stride) {
  static const float kZeros[9] = {};
  const int64_t count = depth * mr;
  const uintptr_t ahead = uintptr_t(kPrefetchDepths * col_stride) * sizeof(float);
  int row = 0;
  int64_t q = 0;  // the item of the next lane
  for (int64_t f0 = 0; f0 < count; f0 += 8) {
    const float* k[8];
    for (int l = 0; l < 8; ++l) {
      k[l] = f0 + l < count && row < rows ? w + row * row_stride + q * col_stride : kZeros;
      if (++row == mr) {
        row = 0;
        ++q;
      }
    }
    // When the depth is the slow axis of w (the input gradient's swapped channels) each
    // item's kernel lies pages away from the last, out of the hardware prefetchers' reach:
    // fetch the kernels a few depths ahead (prefetches do not fault, even past w's end).
    for (int l = 0; l < 8; l += 2) {
      _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(k[l]) + ahead),
                   _MM_HINT_T0);
    }
    __m256 t[18];  // t[i * 3 + j] = (G g)[i][j]
    avx2::winograd_weight_columns(k, flip, t);
    float* dst = u + f0;
    if (count - f0 >= 8) {
      for (int i = 0; i < 6; ++i) {
        __m256 o[6];
        avx2::winograd_weight_1d(t[i * 3], t[i * 3 + 1], t[i * 3 + 2], o);
        for (int j = 0; j < 6; ++j) _mm256_storeu_ps(dst + (i * 6 + j) * u_stride, o[j]);
      }
      continue;
    }
    // The panel's last few entries: u has no room past them.
    const int left = int(count - f0);
    for (int i = 0; i < 6; ++i) {
      __m256 o[6];
      avx2::winograd_weight_1d(t[i * 3], t[i * 3 + 1], t[i * 3 + 2], o);
      for (int j = 0; j < 6; ++j) {
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, o[j]);
        for (int l = 0; l < left; ++l) dst[(i * 6 + j) * u_stride + l] = lanes[l];
      }
    }
  }
}

}  // namespace convnet

#endif  // CONVNET_HAVE_X86_KERNELS
