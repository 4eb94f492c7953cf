/**
 * The weight initialisations of torchvision's ResNet and DenseNet, so that models built here
 * start from the same distributions as theirs (and train with the same hyperparameters).
 */
import { Conv2d } from '../nn/conv.js';
import { constant, kaimingNormal, type FanMode } from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/normalization.js';

export interface ConvInitOptions {
  /**
   * Kaiming-normal fan mode of the convolutions: torchvision's ResNet uses 'fanOut' (with the
   * ReLU gain), its DenseNet 'fanIn' (kaiming_normal_'s default, whose gain for a = 0 is also √2).
   */
  mode: FanMode;
  /** Zero the linear layers' biases (DenseNet does; ResNet keeps nn.Linear's default). */
  zeroLinearBias?: boolean;
}

/** Kaiming-normal convolutions, batch norms at weight 1 and bias 0, as torchvision's constructors. */
export function initConvNetWeights(model: Module, opts: ConvInitOptions): void {
  for (const m of model.modules()) {
    if (m instanceof Conv2d) {
      kaimingNormal(m.weight, { mode: opts.mode, nonlinearity: 'relu' });
      if (m.bias !== null) constant(m.bias, 0);
    } else if (m instanceof BatchNorm2d || m instanceof BatchNorm1d) {
      if (m.weight !== null) constant(m.weight, 1);
      if (m.bias !== null) constant(m.bias, 0);
    } else if (m instanceof Linear && opts.zeroLinearBias === true && m.bias !== null) {
      constant(m.bias, 0);
    }
  }
}
