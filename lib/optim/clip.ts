/**
 * Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_: both work in place on
 * the params' `.grad` and skip params that have none.
 */
import { Tensor } from '../tensor.js';
import {
  checkBoolean,
  checkKnownKeys,
  checkNonNegative,
  describeValue,
  isPlainObject,
} from './optimizer.js';

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite (default false: return it and leave the grads alone). */
  errorIfNonfinite?: boolean;
}

function gradsOf(fn: string, params: Tensor | Iterable<Tensor>): Float32Array[] {
  let list: unknown[];
  if (params instanceof Tensor) list = [params];
  else if (
    typeof params === 'object' &&
    params !== null &&
    typeof params[Symbol.iterator] === 'function'
  )
    list = [...params];
  else
    throw new TypeError(
      `${fn}: params must be a Tensor or an iterable of Tensors, got ${describeValue(params)}`,
    );
  const grads: Float32Array[] = [];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor))
      throw new TypeError(`${fn}: params[${i}] must be a Tensor, got ${describeValue(p)}`);
    if (p.grad === null) return;
    if (!(p.grad.data instanceof Float32Array)) {
      throw new TypeError(`${fn}: the gradient of params[${i}] must be float32, got int32`);
    }
    grads.push(p.grad.data);
  });
  return grads;
}

/**
 * The norm of all gradients taken together as one vector (p-norm with p = normType, or the largest
 * magnitude for Infinity). When it exceeds maxNorm, every gradient is multiplied by
 * maxNorm / (norm + 1e-6), as torch does. Returns the norm before clipping.
 */
export function clipGradNorm(
  params: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType = 2,
  options: ClipGradNormOptions = {},
): number {
  const fn = 'clipGradNorm';
  checkNonNegative(fn, 'maxNorm', maxNorm);
  if (typeof normType !== 'number' || Number.isNaN(normType) || normType <= 0) {
    throw new RangeError(
      `${fn}: normType must be a positive number or Infinity, got ${describeValue(normType)}`,
    );
  }
  if (!isPlainObject(options))
    throw new TypeError(`${fn}: options must be an object, got ${describeValue(options)}`);
  checkKnownKeys(fn, options, ['errorIfNonfinite']);
  const strict =
    options.errorIfNonfinite === undefined
      ? false
      : checkBoolean(fn, 'errorIfNonfinite', options.errorIfNonfinite);
  const grads = gradsOf(fn, params);

  let total: number;
  if (normType === Infinity) {
    total = 0;
    for (const g of grads) {
      for (let i = 0; i < g.length; i++) {
        const a = Math.abs(g[i]);
        if (a > total) total = a;
        // Comparisons with NaN are false, so once total is NaN it stays NaN, like torch's max.
        else if (Number.isNaN(a)) total = NaN;
      }
    }
  } else {
    let acc = 0;
    if (normType === 2) {
      for (const g of grads) for (let i = 0; i < g.length; i++) acc += g[i] * g[i];
      total = Math.sqrt(acc);
    } else if (normType === 1) {
      for (const g of grads) for (let i = 0; i < g.length; i++) acc += Math.abs(g[i]);
      total = acc;
    } else {
      for (const g of grads)
        for (let i = 0; i < g.length; i++) acc += Math.pow(Math.abs(g[i]), normType);
      total = Math.pow(acc, 1 / normType);
    }
  }

  if (!Number.isFinite(total)) {
    if (strict) {
      throw new Error(
        `${fn}: the total norm of order ${normType} of the gradients is ${total}; pass errorIfNonfinite: false to ignore`,
      );
    }
    return total;
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= coef;
  }
  return total;
}

/** Clamps every gradient element into [-clipValue, clipValue]. */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  const fn = 'clipGradValue';
  checkNonNegative(fn, 'clipValue', clipValue);
  for (const g of gradsOf(fn, params)) {
    for (let i = 0; i < g.length; i++) {
      const v = g[i];
      if (v > clipValue) g[i] = clipValue;
      else if (v < -clipValue) g[i] = -clipValue;
    }
  }
}
