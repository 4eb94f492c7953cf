// What the CPU (and the OS, for register state) supports, detected once.
#ifndef CONVNET_CORE_CPU_FEATURES_H_
#define CONVNET_CORE_CPU_FEATURES_H_

namespace convnet {

struct CpuFeatures {
  bool sse2 = false;
  bool avx2 = false;  // AVX2 and FMA3, with the OS saving YMM state
  bool neon = false;
};

// Detected on first call (cpuid + xgetbv on x86-64; NEON is mandatory on arm64).
const CpuFeatures& cpu_features();

}  // namespace convnet

#endif  // CONVNET_CORE_CPU_FEATURES_H_
