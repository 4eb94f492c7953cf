/**
 * Folding batch normalization into the convolution before it, for inference. In evaluation mode
 * BatchNorm2d is a fixed per-channel affine map, y = (z - mean) * s + beta with
 * s = gamma / sqrt(var + eps), so BN(conv(x, w) + b) = conv(x, w * s) + (b - mean) * s + beta:
 * one convolution, no normalization pass, and nothing new for the kernels to do.
 */
import { Generator } from '../random.js';
import { Conv2d } from './conv.js';
import { BatchNorm2d } from './normalization.js';

/**
 * A new Conv2d (with a bias) that computes `bn(conv(x))` as `bn` does in evaluation mode, from the
 * running statistics and affine parameters they hold now. Neither module is changed; the fused
 * layer's parameters are fresh copies and require gradients as any new layer's do (training
 * through it trains the folded parameters, not batch norm). `bn` must track running statistics.
 */
export function fuseConvBn(conv: Conv2d, bn: BatchNorm2d): Conv2d {
  const fn = 'fuseConvBn';
  if (!(conv instanceof Conv2d)) {
    throw new TypeError(`${fn}: conv must be a Conv2d, got ${describe(conv)}`);
  }
  if (!(bn instanceof BatchNorm2d)) {
    throw new TypeError(`${fn}: bn must be a BatchNorm2d, got ${describe(bn)}`);
  }
  if (bn.numFeatures !== conv.outChannels) {
    throw new RangeError(
      `${fn}: bn must normalize the conv's ${conv.outChannels} output channels, got BatchNorm2d(${bn.numFeatures})`,
    );
  }
  if (bn.running_mean === null || bn.running_var === null) {
    throw new RangeError(
      `${fn}: bn must track running statistics (trackRunningStats: true); without them evaluation uses each batch's own statistics, which cannot be folded`,
    );
  }
  // A throwaway generator: the initial values are overwritten, and the global stream stays put.
  const fused = new Conv2d(conv.inChannels, conv.outChannels, conv.kernelSize, {
    stride: conv.stride,
    padding: conv.padding,
    dilation: conv.dilation,
    groups: conv.groups,
    bias: true,
    generator: new Generator(0),
  });
  const O = conv.outChannels;
  const w = conv.weight.data as Float32Array;
  const perChannel = w.length / O;
  const fw = fused.weight.data as Float32Array;
  const fb = fused.bias!.data as Float32Array;
  const mean = bn.running_mean.data as Float32Array;
  const variance = bn.running_var.data as Float32Array;
  const gamma = bn.weight === null ? null : (bn.weight.data as Float32Array);
  const beta = bn.bias === null ? null : (bn.bias.data as Float32Array);
  const b = conv.bias === null ? null : (conv.bias.data as Float32Array);
  for (let o = 0; o < O; o++) {
    const s = (gamma === null ? 1 : gamma[o]) / Math.sqrt(variance[o] + bn.eps);
    for (let i = o * perChannel; i < (o + 1) * perChannel; i++) fw[i] = w[i] * s;
    fb[o] = ((b === null ? 0 : b[o]) - mean[o]) * s + (beta === null ? 0 : beta[o]);
  }
  fused.train(conv.training);
  return fused;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
