/** Argument checks shared by the neural-network ops, so every error names the function and argument. */
import { formatShape, type Tensor } from '../tensor.js';
import { requireTensor } from './shape.js';

/** A float32 Tensor's data; int32 tensors are refused with a message naming the argument. */
export function requireFloat(fn: string, name: string, t: unknown): Float32Array {
  const x = requireTensor(fn, name, t);
  if (!(x.data instanceof Float32Array)) {
    throw new TypeError(
      `${fn}: ${name} must be a float32 tensor, got int32 of shape ${formatShape(x.shape)}`,
    );
  }
  return x.data;
}

/** A 1-D float tensor of exactly `n` elements (a per-channel weight, bias or statistic). */
export function requireVector(
  fn: string,
  name: string,
  t: unknown,
  n: number,
  what: string,
): Float32Array {
  const data = requireFloat(fn, name, t);
  const x = t as Tensor;
  if (x.ndim !== 1 || x.size !== n) {
    throw new RangeError(
      `${fn}: ${name} must have shape [${n}] (${what}), got shape ${formatShape(x.shape)}`,
    );
  }
  return data;
}

export function requireSameShape(
  fn: string,
  aName: string,
  a: Tensor,
  bName: string,
  b: Tensor,
): void {
  if (a.ndim !== b.ndim || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RangeError(
      `${fn}: ${bName} must have the same shape as ${aName} ${formatShape(a.shape)}, got ${formatShape(b.shape)}`,
    );
  }
}

export type Reduction = 'mean' | 'sum' | 'none';

export function requireReduction(fn: string, r: unknown): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') {
    throw new RangeError(
      `${fn}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(r)}`,
    );
  }
  return r;
}

/** Whether the op's gradient with respect to `t` must be computed. */
export function needsGrad(t: Tensor | null | undefined): boolean {
  return t !== null && t !== undefined && t.requiresGrad;
}
