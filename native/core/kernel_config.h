// The micro-kernel and blocking parameters in use, chosen once from the detected CPU features
// (as XNNPACK's gemm-config and BLIS's context do) and switchable at run time for testing.
#ifndef CONVNET_CORE_KERNEL_CONFIG_H_
#define CONVNET_CORE_KERNEL_CONFIG_H_

#include <cstdint>
#include <vector>

#include "isa.h"
#include "micro_kernel.h"

namespace convnet {

struct KernelConfig {
  Isa isa;
  GemmMicroKernel gemm_ukernel;
  int64_t mr;  // rows of the micro-tile
  int64_t nr;  // columns of the micro-tile
  int64_t mc;  // rows of A packed per block (a multiple of mr; the block lives in L2)
  int64_t kc;  // depth of a packed panel (an mr x kc sliver of A and kc x nr of B fit in L1)
  int64_t nc;  // columns of B packed per block (a multiple of nr; the block lives in L3)
  FmaPeakProbe fma_peak;
  // Indirect GEMM with the same mr x nr tile, or null: A rows are then gathered into a packed
  // panel and gemm_ukernel runs on it (see native/core/indirect_gemm.h).
  IgemmMicroKernel igemm_ukernel;
  // Row GEMM with the same tile, or null: B rows are then gathered into a packed panel.
  RowGemmMicroKernel rowgemm_ukernel;
  // Vector packing of A (mr-wide panels) and of a transposed B (nr-wide panels), or null for
  // the portable loops in gemm.cc.
  PackTransposedKernel pack_a;
  PackTransposedKernel pack_b_transposed;
};

// Largest mr * nr over all configs: the size of the stack tile used for edge tiles.
constexpr int64_t kMaxMicroTile = 8 * 16;
// Largest mr over all configs: the number of row pointers of an indirect tile.
constexpr int64_t kMaxMr = 8;

// The config for `isa`, or nullptr if it was not compiled in or the CPU lacks it.
const KernelConfig* kernel_config_for(Isa isa);

// Levels the CPU supports, best first (e.g. avx2, sse2, scalar).
std::vector<Isa> available_isas();

// The config in use. Defaults to the best available level.
const KernelConfig& active_kernel_config();

// Switches the level used by later calls; returns false (and changes nothing) if unavailable.
// Not meant to be called while another thread runs a kernel.
bool set_active_isa(Isa isa);

}  // namespace convnet

#endif  // CONVNET_CORE_KERNEL_CONFIG_H_
