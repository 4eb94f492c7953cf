#include "kernel_config.h"

#include <atomic>

#include "cpu_features.h"

namespace convnet {
namespace {

// Block sizes follow BLIS's choices for comparable register tiles: kc * nr floats of B stay in
// L1 next to an mr x kc sliver of A; mc * kc floats of A fit in L2; kc * nc of B fit in L3.
// For AVX2 on Zen 4 (32 KiB L1d, 1 MiB L2), kc 384 and 512 with mc 96 to 240 measured the same
// as 256 x 168 within noise on 1024^3, 512x512x4608 and 256x2048x2304, one thread.
const KernelConfig kScalarConfig = {Isa::kScalar,
                                    f32_gemm_4x4_scalar,
                                    4,
                                    4,
                                    64,
                                    256,
                                    2048,
                                    {fma_peak_scalar, kFmaPeakScalarFlopsPerRound},
                                    nullptr,
                                    nullptr,
                                    nullptr,
                                    nullptr};

#if defined(CONVNET_HAVE_X86_KERNELS)
const KernelConfig kSse2Config = {Isa::kSse2, f32_gemm_4x8_sse2,
                                  4,          8,
                                  128,        256,
                                  4096,       {fma_peak_sse2, kFmaPeakSse2FlopsPerRound},
                                  nullptr,    nullptr,
                                  nullptr,    nullptr};
const KernelConfig kAvx2Config = {Isa::kAvx2,
                                  f32_gemm_6x16_avx2,
                                  6,
                                  16,
                                  168,
                                  256,
                                  4080,
                                  {fma_peak_avx2, kFmaPeakAvx2FlopsPerRound},
                                  f32_igemm_6x16_avx2,
                                  f32_rowgemm_6x16_avx2,
                                  f32_gemm_pack_6_transposed_avx2,
                                  f32_gemm_pack_16_transposed_avx2};
#endif

#if defined(CONVNET_HAVE_NEON_KERNELS)
const KernelConfig kNeonConfig = {Isa::kNeon, f32_gemm_8x8_neon,
                                  8,          8,
                                  128,        256,
                                  4096,       {fma_peak_neon, kFmaPeakNeonFlopsPerRound},
                                  nullptr,    nullptr,
                                  nullptr,    nullptr};
#endif

const KernelConfig* best_config() {
  for (Isa isa : available_isas()) {
    if (const KernelConfig* c = kernel_config_for(isa)) return c;
  }
  return &kScalarConfig;
}

std::atomic<const KernelConfig*>& active() {
  static std::atomic<const KernelConfig*> config{best_config()};
  return config;
}

}  // namespace

const KernelConfig* kernel_config_for(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::kScalar:
      return &kScalarConfig;
#if defined(CONVNET_HAVE_X86_KERNELS)
    case Isa::kSse2:
      return f.sse2 ? &kSse2Config : nullptr;
    case Isa::kAvx2:
      return f.avx2 ? &kAvx2Config : nullptr;
#endif
#if defined(CONVNET_HAVE_NEON_KERNELS)
    case Isa::kNeon:
      return f.neon ? &kNeonConfig : nullptr;
#endif
    default:
      (void)f;
      return nullptr;
  }
}

std::vector<Isa> available_isas() {
  std::vector<Isa> isas;
  for (Isa isa : {Isa::kAvx2, Isa::kNeon, Isa::kSse2, Isa::kScalar}) {
    if (kernel_config_for(isa) != nullptr) isas.push_back(isa);
  }
  return isas;
}

const KernelConfig& active_kernel_config() { return *active().load(std::memory_order_acquire); }

bool set_active_isa(Isa isa) {
  const KernelConfig* c = kernel_config_for(isa);
  if (c == nullptr) return false;
  active().store(c, std::memory_order_release);
  return true;
}

}  // namespace convnet
