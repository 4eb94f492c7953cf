// Lowering of one image's channel group to a matrix, so convolution becomes GEMM.
#ifndef CONVNET_CORE_IM2COL_H_
#define CONVNET_CORE_IM2COL_H_

#include <cstdint>

#include "conv2d.h"

namespace convnet {

// x holds `channels` planes of in_height x in_width. For output pixels [p_begin, p_end) (in
// row-major order over out_height x out_width), writes col[K, p_end - p_begin] with
// K = channels * kernel_h * kernel_w, row (c * kernel_h + kh) * kernel_w + kw holding the input
// each output pixel sees through that kernel tap (0 in the padding).
void im2col(const Conv2dShape& s, int64_t channels, const float* x, int64_t p_begin, int64_t p_end,
            float* col);

// The adjoint of im2col: adds every entry of col to the input element it was read from.
// dx is accumulated into, not overwritten.
void col2im_add(const Conv2dShape& s, int64_t channels, const float* col, int64_t p_begin,
                int64_t p_end, float* dx);

}  // namespace convnet

#endif  // CONVNET_CORE_IM2COL_H_
