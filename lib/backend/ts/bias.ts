/** Bias broadcast along the channel axis of a tensor viewed as [outer, channels, inner]. */
import type { BiasGeometry } from '../kernels.js';
import { requireLength } from './check.js';
import { scratchF64 } from './scratch.js';

export function biasAdd(
  g: BiasGeometry,
  x: Float32Array,
  bias: Float32Array,
  y: Float32Array,
): void {
  const { outer, channels, inner } = g;
  const size = outer * channels * inner;
  requireLength('biasAdd', 'x', x, size);
  requireLength('biasAdd', 'bias', bias, channels);
  requireLength('biasAdd', 'y', y, size);
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const b = bias[c];
      const end = i + inner;
      for (; i < end; i++) y[i] = x[i] + b;
    }
  }
}

export function biasAddBackward(g: BiasGeometry, dy: Float32Array, dbias: Float32Array): void {
  const { outer, channels, inner } = g;
  requireLength('biasAddBackward', 'dy', dy, outer * channels * inner);
  requireLength('biasAddBackward', 'dbias', dbias, channels);
  if (inner === 1) {
    // [outer, channels]: walk rows, accumulating into a double-precision row of sums.
    const sums = scratchF64('bias.sums', channels);
    sums.fill(0, 0, channels);
    for (let o = 0; o < outer; o++) {
      const row = o * channels;
      for (let c = 0; c < channels; c++) sums[c] += dy[row + c];
    }
    for (let c = 0; c < channels; c++) dbias[c] = sums[c];
    return;
  }
  for (let c = 0; c < channels; c++) {
    let s = 0;
    for (let o = 0; o < outer; o++) {
      const start = (o * channels + c) * inner;
      const end = start + inner;
      for (let i = start; i < end; i++) s += dy[i];
    }
    dbias[c] = s;
  }
}
