/**
 * Reductions: sum, mean, max, min, argmax, argmin, variance, logsumexp.
 *
 * `axis` is omitted/null (all elements), one axis or a list of axes; negative axes count from the
 * end. As in NumPy, axis 0 runs down the rows of a matrix (one result per column) and axis 1
 * across the columns (one result per row). `keepDims` keeps reduced axes as size 1. Results are
 * float32 (argmax/argmin: int32); sums accumulate in float64.
 */
import { recordOp } from '../autograd/engine.js';
import { Tensor, formatShape, shapeSize } from '../tensor.js';
import {
  broadcastData,
  contiguousStrides,
  describeValue,
  normalizeAxis,
  requireTensor,
  sumToShape,
} from './shape.js';

/** Which axes to reduce: omitted/null for all, one axis, or several. */
export type Axis = number | readonly number[] | null | undefined;

interface Reduction {
  /** The result's shape with reduced axes kept as 1 (the layout of the result's data). */
  keptShape: number[];
  outShape: number[];
  outSize: number;
  /** Elements reduced into each output. */
  r: number;
  /** Output o reduces x[base[o] + roff[j]] for j in [0, r), in row-major order of the reduced axes. */
  base: Int32Array;
  roff: Int32Array;
}

function normalizeAxes(fn: string, axis: unknown, ndim: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof axis === 'number') return [normalizeAxis(fn, 'axis', axis, ndim)];
  if (!Array.isArray(axis)) {
    throw new TypeError(
      `${fn}: axis must be an integer, an array of integers or null, got ${describeValue(axis)}`,
    );
  }
  const axes = axis.map((a: unknown) => normalizeAxis(fn, 'axis', a, ndim));
  if (new Set(axes).size !== axes.length) {
    throw new RangeError(`${fn}: axis must not repeat an axis, got ${JSON.stringify(axis)}`);
  }
  return axes.sort((p, q) => p - q);
}

/** Every offset sum(idx[d] * strides[d]) over the index space `sizes`, in row-major order. */
function enumerateOffsets(sizes: readonly number[], strides: readonly number[]): Int32Array {
  const out = new Int32Array(shapeSize(sizes));
  if (out.length === 0) return out;
  const rank = sizes.length;
  const counter = new Array<number>(rank).fill(0);
  let cur = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = cur;
    for (let d = rank - 1; d >= 0; d--) {
      cur += strides[d];
      if (++counter[d] < sizes[d]) break;
      cur -= strides[d] * sizes[d];
      counter[d] = 0;
    }
  }
  return out;
}

/** `offsets`: whether base/roff are needed (sum and mean go through sumToShape instead). */
function planReduction(
  fn: string,
  x: Tensor,
  axis: unknown,
  keepDims: unknown,
  offsets = true,
): Reduction {
  if (typeof keepDims !== 'boolean') {
    throw new TypeError(`${fn}: keepDims must be a boolean, got ${describeValue(keepDims)}`);
  }
  const axes = normalizeAxes(fn, axis, x.ndim);
  const reduced = new Set(axes);
  const strides = contiguousStrides(x.shape);
  const keptSizes: number[] = [];
  const keptStrides: number[] = [];
  const redSizes: number[] = [];
  const redStrides: number[] = [];
  x.shape.forEach((d, i) => {
    if (reduced.has(i)) {
      redSizes.push(d);
      redStrides.push(strides[i]);
    } else {
      keptSizes.push(d);
      keptStrides.push(strides[i]);
    }
  });
  const keptShape = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  return {
    keptShape,
    outShape: keepDims ? keptShape : keptSizes,
    outSize: shapeSize(keptSizes),
    r: shapeSize(redSizes),
    base: offsets ? enumerateOffsets(keptSizes, keptStrides) : new Int32Array(0),
    roff: offsets ? enumerateOffsets(redSizes, redStrides) : new Int32Array(0),
  };
}

function requireNonEmpty(fn: string, x: Tensor, p: Reduction): void {
  if (p.r === 0 && p.outSize > 0) {
    throw new RangeError(
      `${fn}: cannot reduce over an empty axis of a tensor of shape ${formatShape(x.shape)}`,
    );
  }
}

/** Sum over `axis` (all elements by default). */
export function sum(x: Tensor, axis?: Axis, keepDims = false): Tensor {
  requireTensor('sum', 'x', x);
  const p = planReduction('sum', x, axis, keepDims, false);
  let data = sumToShape(x.data, x.shape, p.keptShape);
  if (data === x.data) data = data.slice();
  const out = new Tensor(data, p.outShape);
  return recordOp(out, 'sum', [x], (g) => [broadcastData(g, p.keptShape, x.shape) as Float32Array]);
}

/** Mean over `axis` (all elements by default); NaN over an empty axis, as in torch. */
export function mean(x: Tensor, axis?: Axis, keepDims = false): Tensor {
  requireTensor('mean', 'x', x);
  const p = planReduction('mean', x, axis, keepDims, false);
  const s = sumToShape(x.data, x.shape, p.keptShape);
  const data = new Float32Array(p.outSize);
  for (let i = 0; i < data.length; i++) data[i] = s[i] / p.r;
  const out = new Tensor(data, p.outShape);
  return recordOp(out, 'mean', [x], (g) => {
    const gx = broadcastData(g, p.keptShape, x.shape) as Float32Array;
    for (let i = 0; i < gx.length; i++) gx[i] /= p.r;
    return [gx];
  });
}

/** Per output, the flat index in x of the max (sign 1) or min (sign -1); first occurrence wins, NaN wins. */
function extremumIndices(x: Tensor, p: Reduction, sign: 1 | -1): Int32Array {
  const d = x.data;
  const { base, roff, r } = p;
  const idx = new Int32Array(p.outSize);
  for (let o = 0; o < idx.length; o++) {
    const b = base[o];
    let best = b + roff[0];
    let bv = sign * d[best];
    if (bv === bv) {
      for (let j = 1; j < r; j++) {
        const k = b + roff[j];
        const v = sign * d[k];
        if (v > bv || v !== v) {
          best = k;
          bv = v;
          if (v !== v) break;
        }
      }
    }
    idx[o] = best;
  }
  return idx;
}

function extremum(name: string, x: Tensor, axis: Axis, keepDims: boolean, sign: 1 | -1): Tensor {
  requireTensor(name, 'x', x);
  const p = planReduction(name, x, axis, keepDims);
  requireNonEmpty(name, x, p);
  const idx = extremumIndices(x, p, sign);
  const data = new Float32Array(idx.length);
  for (let o = 0; o < idx.length; o++) data[o] = x.data[idx[o]];
  const out = new Tensor(data, p.outShape);
  return recordOp(out, name, [x], (g) => {
    const gx = new Float32Array(x.size);
    for (let o = 0; o < idx.length; o++) gx[idx[o]] += g[o];
    return [gx];
  });
}

/**
 * Maximum over `axis` (all elements by default); NaN propagates. The gradient goes to one
 * position per output: the first occurrence of the maximum (in row-major order of the reduced
 * axes), not split between ties.
 */
export function max(x: Tensor, axis?: Axis, keepDims = false): Tensor {
  return extremum('max', x, axis, keepDims, 1);
}

/** Minimum over `axis`; the gradient goes to the first occurrence of the minimum (see max). */
export function min(x: Tensor, axis?: Axis, keepDims = false): Tensor {
  return extremum('min', x, axis, keepDims, -1);
}

function argExtremum(
  name: string,
  x: Tensor,
  axis: number | null | undefined,
  keepDims: boolean,
  sign: 1 | -1,
): Tensor {
  requireTensor(name, 'x', x);
  if (axis !== undefined && axis !== null && typeof axis !== 'number') {
    throw new TypeError(`${name}: axis must be an integer or omitted, got ${describeValue(axis)}`);
  }
  const p = planReduction(name, x, axis, keepDims);
  requireNonEmpty(name, x, p);
  const idx = extremumIndices(x, p, sign);
  if (axis !== undefined && axis !== null) {
    // From a flat index in x to the position along the axis.
    const ax = normalizeAxis(name, 'axis', axis, x.ndim);
    const stride = contiguousStrides(x.shape)[ax];
    for (let o = 0; o < idx.length; o++) idx[o] = Math.floor(idx[o] / stride) % x.shape[ax];
  }
  return new Tensor(idx, p.outShape);
}

/**
 * Index of the maximum along `axis` (int32), or the flat index over all elements when axis is
 * omitted. Ties: the first occurrence.
 */
export function argmax(x: Tensor, axis?: number | null, keepDims = false): Tensor {
  return argExtremum('argmax', x, axis, keepDims, 1);
}

/** Index of the minimum along `axis` (int32); see argmax. */
export function argmin(x: Tensor, axis?: number | null, keepDims = false): Tensor {
  return argExtremum('argmin', x, axis, keepDims, -1);
}

export interface VarianceOptions {
  /**
   * Subtracted from the number of elements in the divisor, as torch.var's `correction`: 1
   * (default) gives the unbiased sample variance, 0 the population variance.
   */
  correction?: number;
  /** Shorthand for correction 1 (true) or 0 (false); do not pass both. */
  unbiased?: boolean;
  keepDims?: boolean;
}

/**
 * Variance over `axis` (all elements by default): sum((x - mean)^2) / max(0, N - correction),
 * unbiased by default like torch.var. With N <= correction the result is Infinity or NaN, as in torch.
 */
export function variance(x: Tensor, axis?: Axis, opts: VarianceOptions = {}): Tensor {
  requireTensor('variance', 'x', x);
  if (typeof opts !== 'object' || opts === null) {
    throw new TypeError(`variance: opts must be an object, got ${describeValue(opts)}`);
  }
  if (opts.correction !== undefined && opts.unbiased !== undefined) {
    throw new TypeError('variance: pass either correction or unbiased, not both');
  }
  if (opts.unbiased !== undefined && typeof opts.unbiased !== 'boolean') {
    throw new TypeError(
      `variance: unbiased must be a boolean, got ${describeValue(opts.unbiased)}`,
    );
  }
  const correction = opts.correction ?? (opts.unbiased === false ? 0 : 1);
  if (typeof correction !== 'number' || !Number.isFinite(correction) || correction < 0) {
    throw new RangeError(
      `variance: correction must be a non-negative number, got ${describeValue(correction)}`,
    );
  }
  const p = planReduction('variance', x, axis, opts.keepDims ?? false);
  const d = x.data;
  const { base, roff, r } = p;
  const denom = Math.max(0, r - correction);
  const means = new Float64Array(p.outSize);
  const data = new Float32Array(p.outSize);
  for (let o = 0; o < p.outSize; o++) {
    const b = base[o];
    let s = 0;
    for (let j = 0; j < r; j++) s += d[b + roff[j]];
    const m = s / r;
    let q = 0;
    for (let j = 0; j < r; j++) {
      const dv = d[b + roff[j]] - m;
      q += dv * dv;
    }
    means[o] = m;
    data[o] = q / denom;
  }
  const out = new Tensor(data, p.outShape);
  return recordOp(out, 'variance', [x], (g) => {
    const gx = new Float32Array(x.size);
    for (let o = 0; o < p.outSize; o++) {
      const b = base[o];
      const m = means[o];
      const f = (2 * g[o]) / denom;
      for (let j = 0; j < r; j++) {
        const k = b + roff[j];
        gx[k] = f * (d[k] - m);
      }
    }
    return [gx];
  });
}

/**
 * log(sum(exp(x))) over `axis`, computed stably (the max is subtracted first). Over an axis that
 * is all -Infinity the result is -Infinity and the gradient 0.
 */
export function logsumexp(x: Tensor, axis?: Axis, keepDims = false): Tensor {
  requireTensor('logsumexp', 'x', x);
  const p = planReduction('logsumexp', x, axis, keepDims);
  const d = x.data;
  const { base, roff, r } = p;
  const data = new Float32Array(p.outSize);
  const lse = new Float64Array(p.outSize);
  for (let o = 0; o < p.outSize; o++) {
    const b = base[o];
    let m = -Infinity;
    for (let j = 0; j < r; j++) {
      const v = d[b + roff[j]];
      if (v > m || v !== v) m = v;
    }
    let v: number;
    if (m === -Infinity || m === Infinity || m !== m) {
      v = m;
    } else {
      let s = 0;
      for (let j = 0; j < r; j++) s += Math.exp(d[b + roff[j]] - m);
      v = m + Math.log(s);
    }
    lse[o] = v;
    data[o] = v;
  }
  const out = new Tensor(data, p.outShape);
  return recordOp(out, 'logsumexp', [x], (g) => {
    const gx = new Float32Array(x.size);
    for (let o = 0; o < p.outSize; o++) {
      const b = base[o];
      const l = lse[o];
      if (l === -Infinity) continue;
      for (let j = 0; j < r; j++) {
        const k = b + roff[j];
        gx[k] = g[o] * Math.exp(d[k] - l);
      }
    }
    return [gx];
  });
}
