// The Adam / AdamW parameter update (torch.optim.Adam / AdamW), one parameter tensor per call.
#ifndef CONVNET_CORE_ADAM_H_
#define CONVNET_CORE_ADAM_H_

#include <cstdint>

namespace convnet {

// The scalars of one step, computed once per tensor by the optimizer (step t counted from 1).
struct AdamStep {
  float beta1, beta2;
  // 1 - beta1 and 1 - beta2, rounded from double: 1 - float(beta) would be off by up to 2e-8,
  // which a momentum of 0.9 turns into a 2e-7 relative error on every gradient.
  float one_minus_beta1, one_minus_beta2;
  float step_size;       // lr / (1 - beta1^t)
  float inv_bias2_sqrt;  // 1 / sqrt(1 - beta2^t)
  float eps;
  float l2;     // Adam's weight decay, added to the gradient (0 for AdamW)
  float decay;  // AdamW's factor 1 - lr * weight_decay on the weights (1 for Adam)
  float sign;   // -1 to maximize, else 1
};

// For every i, with d = sign * g + l2 * w:
//   w *= decay;  m = beta1 * m + (1 - beta1) * d;  v = beta2 * v + (1 - beta2) * d^2;
//   v_max = max(v_max, v) (amsgrad, when v_max is not null);
//   w -= step_size * m / (sqrt(v_max or v) / bias2_sqrt + eps).
void adam_update(const AdamStep& p, int64_t n, float* w, const float* g, float* m, float* v,
                 float* v_max);

}  // namespace convnet

#endif  // CONVNET_CORE_ADAM_H_
