// The fixed signatures every instruction set implements in native/kernels/<isa>/. Nothing else
// lives in those folders: packing, blocking and threading are shared in native/core/.
#ifndef CONVNET_CORE_MICRO_KERNEL_H_
#define CONVNET_CORE_MICRO_KERNEL_H_

#include <cstdint>

namespace convnet {

// One MR x NR tile of C from packed panels:
//   c[i * ldc + j] = alpha * sum_p a[p * MR + i] * b[p * NR + j] + beta * c[i * ldc + j]
// for 0 <= i < MR, 0 <= j < NR. When beta == 0, c is write-only (NaNs in c do not propagate).
// a and b are 64-byte aligned; c has no alignment guarantee.
using GemmMicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                                 float alpha, float beta);

// The same tile with A read in place through row pointers instead of from a packed panel
// (indirect GEMM, as XNNPACK's igemm): a(i, p) = a_rows[i][offsets[p]] for 0 <= i < MR. A
// convolution then needs no im2col: row i points at where output pixel i's receptive field
// starts, and offsets[p] is the distance of kernel tap p from there (or the other way round).
// b is 64-byte aligned; a_rows and offsets have no alignment guarantee.
using IgemmMicroKernel = void (*)(int64_t kc, const float* const* a_rows, const int64_t* offsets,
                                  const float* b, float* c, int64_t ldc, float alpha, float beta);

// The tile with B read in place instead: row p of B is the NR floats starting at
// b + b_offsets[p] (no alignment). For a stride-1 convolution, NR consecutive output pixels of
// one row read NR consecutive inputs through every tap p, so B needs no im2col, and C's rows are
// output channels: the tile is stored straight into the NCHW output.
using RowGemmMicroKernel = void (*)(int64_t kc, const float* a, const float* b,
                                    const int64_t* b_offsets, float* c, int64_t ldc, float alpha,
                                    float beta);

// Packs `rows` (at most W) rows of a row-major matrix, each kc floats at row stride ld, into a
// W-wide panel: dst[p * W + i] = src[i * ld + p], zero for rows <= i < W. W is the kernel's mr
// when it packs A, nr when it packs a transposed B. dst is 64-byte aligned.
using PackTransposedKernel = void (*)(int64_t rows, int64_t kc, const float* src, int64_t ld,
                                      float* dst);

// Runs `iterations` rounds of independent multiply-adds that keep the FP units busy and returns
// a value derived from them (so the loop is not optimized away). Each round is `flops_per_round`
// floating-point operations.
using FmaPeakKernel = float (*)(int64_t iterations);

struct FmaPeakProbe {
  FmaPeakKernel run;
  int64_t flops_per_round;
};

// Micro-kernels, named as in XNNPACK: <type>_gemm_<MR>x<NR>_<isa>.
void f32_gemm_4x4_scalar(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                         float alpha, float beta);
float fma_peak_scalar(int64_t iterations);
extern const int64_t kFmaPeakScalarFlopsPerRound;

#if defined(__x86_64__) || defined(_M_X64)
#define CONVNET_HAVE_X86_KERNELS 1
void f32_gemm_4x8_sse2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                       float alpha, float beta);
float fma_peak_sse2(int64_t iterations);
extern const int64_t kFmaPeakSse2FlopsPerRound;

void f32_gemm_6x16_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                        float alpha, float beta);
float fma_peak_avx2(int64_t iterations);
void f32_igemm_6x16_avx2(int64_t kc, const float* const* a_rows, const int64_t* offsets,
                         const float* b, float* c, int64_t ldc, float alpha, float beta);
void f32_rowgemm_6x16_avx2(int64_t kc, const float* a, const float* b, const int64_t* b_offsets,
                           float* c, int64_t ldc, float alpha, float beta);
extern const int64_t kFmaPeakAvx2FlopsPerRound;
void f32_gemm_pack_6_transposed_avx2(int64_t rows, int64_t kc, const float* src, int64_t ld,
                                     float* dst);
void f32_gemm_pack_16_transposed_avx2(int64_t rows, int64_t kc, const float* src, int64_t ld,
                                      float* dst);
#endif

#if defined(__aarch64__) || defined(_M_ARM64)
#define CONVNET_HAVE_NEON_KERNELS 1
void f32_gemm_8x8_neon(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                       float alpha, float beta);
float fma_peak_neon(int64_t iterations);
extern const int64_t kFmaPeakNeonFlopsPerRound;
#endif

}  // namespace convnet

#endif  // CONVNET_CORE_MICRO_KERNEL_H_
