// The loop shape of the elementwise kernels.
#ifndef CONVNET_CORE_MAP_BLOCKS_H_
#define CONVNET_CORE_MAP_BLOCKS_H_

#include <cstdint>

namespace convnet {

// out[i] = f(i) for i in [b, e), evaluated a block of 8 at a time: every input of a block is read
// before any output of it is written, so out may alias the inputs (in place) and the compiler
// still vectorizes the block (it need not prove that the arrays do not overlap). f must not load
// conditionally (write `g = dy[i]; return x > 0 ? g : 0`, not `x > 0 ? dy[i] : 0`): a conditional
// load keeps the loop scalar and branchy, and random signs then cost a misprediction per element.
template <class F>
inline void map_blocks(int64_t b, int64_t e, float* out, F f) {
  constexpr int kBlock = 8;
  int64_t i = b;
  for (; i + kBlock <= e; i += kBlock) {
    float t[kBlock];
    for (int j = 0; j < kBlock; ++j) t[j] = f(i + j);
    for (int j = 0; j < kBlock; ++j) out[i + j] = t[j];
  }
  for (; i < e; ++i) out[i] = f(i);
}

}  // namespace convnet

#endif  // CONVNET_CORE_MAP_BLOCKS_H_
