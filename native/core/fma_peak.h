// Measures the floating-point peak of the active instruction set (for benchmarks: GEMM
// efficiency is reported against it).
#ifndef CONVNET_CORE_FMA_PEAK_H_
#define CONVNET_CORE_FMA_PEAK_H_

#include "kernel_config.h"

namespace convnet {

// GFLOP/s of independent multiply-adds on `threads` threads of the pool (capped at its size),
// measured over roughly `seconds` of wall time.
double fma_peak_gflops(const KernelConfig& config, int threads, double seconds);

}  // namespace convnet

#endif  // CONVNET_CORE_FMA_PEAK_H_
