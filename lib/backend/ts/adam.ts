/** The Adam / AdamW parameter update (torch.optim.Adam / AdamW), in double precision per element. */
import type { AdamStep } from '../kernels.js';
import { requireSameLength } from './check.js';

const FIELDS = ['beta1', 'beta2', 'stepSize', 'bias2Sqrt', 'eps', 'l2', 'decay', 'sign'] as const;

export function adamUpdate(
  p: AdamStep,
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  vMax: Float32Array | null,
): void {
  const fn = 'adamUpdate';
  if (typeof p !== 'object' || p === null) {
    throw new TypeError(
      `${fn}: p must be an AdamStep object, got ${p === null ? 'null' : typeof p}`,
    );
  }
  for (const f of FIELDS) {
    if (typeof p[f] !== 'number' || !Number.isFinite(p[f])) {
      throw new RangeError(`${fn}: p.${f} must be a finite number, got ${String(p[f])}`);
    }
  }
  if (!(p.bias2Sqrt > 0))
    throw new RangeError(`${fn}: p.bias2Sqrt must be > 0, got ${p.bias2Sqrt}`);
  requireSameLength(fn, 'g', g, 'w', w);
  requireSameLength(fn, 'm', m, 'w', w);
  requireSameLength(fn, 'v', v, 'w', w);
  if (vMax !== null) requireSameLength(fn, 'vMax', vMax, 'w', w);
  const { beta1, beta2, stepSize, bias2Sqrt, eps, l2, decay, sign } = p;
  for (let i = 0; i < w.length; i++) {
    const d = sign * g[i] + l2 * w[i];
    m[i] = beta1 * m[i] + (1 - beta1) * d;
    v[i] = beta2 * v[i] + (1 - beta2) * d * d;
    let second = v[i];
    if (vMax !== null) {
      if (vMax[i] > second) second = vMax[i];
      else vMax[i] = second;
    }
    w[i] = w[i] * decay - (stepSize * m[i]) / (Math.sqrt(second) / bias2Sqrt + eps);
  }
}
