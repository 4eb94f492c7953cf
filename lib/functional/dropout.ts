/** Inverted dropout: zero each element with probability p and scale the kept ones by 1/(1-p). */
import { recordOp } from '../autograd/engine.js';
import { gradBuffer } from '../autograd/grad-buffers.js';
import { defaultGenerator, Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import { requireFloat } from './tensor-checks.js';

/**
 * In training, each element is kept with probability 1-p (mask drawn from `generator`, default
 * the seeded default generator) and scaled by 1/(1-p), so evaluation needs no rescaling.
 * With p = 0 or training = false, returns `x` itself.
 */
export function dropout(x: Tensor, p: number, training: boolean, generator?: Generator): Tensor {
  const fn = 'dropout';
  const xd = requireFloat(fn, 'input', x);
  if (typeof p !== 'number' || !(p >= 0 && p < 1)) {
    throw new RangeError(`${fn}: p must be a probability in [0, 1), got ${String(p)}`);
  }
  if (typeof training !== 'boolean') {
    throw new TypeError(`${fn}: training must be a boolean, got ${typeof training}`);
  }
  if (generator !== undefined && !(generator instanceof Generator)) {
    throw new TypeError(`${fn}: generator must be a Generator, got ${typeof generator}`);
  }
  if (!training || p === 0) return x;
  const gen = generator ?? defaultGenerator;
  const scale = 1 / (1 - p);
  // The mask holds 0 or the scale, so forward and backward are one multiply each.
  const mask = new Float32Array(xd.length);
  const yd = new Float32Array(xd.length);
  for (let i = 0; i < xd.length; i++) {
    if (gen.uniform() >= p) mask[i] = scale;
    yd[i] = xd[i] * mask[i];
  }
  return recordOp(new Tensor(yd, x.shape), 'dropout', [x], (gy) => {
    const dx = gradBuffer(gy.length);
    for (let i = 0; i < gy.length; i++) dx[i] = gy[i] * mask[i];
    return [dx];
  });
}
