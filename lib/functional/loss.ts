/**
 * Loss functions with torch.nn.functional's semantics: crossEntropy, nllLoss, mseLoss, l1Loss and
 * binaryCrossEntropyWithLogits. Sums run in float64; mean and sum reductions return 0-d tensors.
 */
import { recordOp } from '../autograd/engine.js';
import { formatShape, Tensor } from '../tensor.js';
import { logSoftmax } from './activation.js';
import { broadcastData, requireTensor } from './shape.js';
import {
  needsGrad,
  requireFloat,
  requireReduction,
  requireSameShape,
  requireVector,
  type Reduction,
} from './tensor-checks.js';

/** PyTorch's default ignore_index: no real class has it, so by default nothing is ignored. */
export const DEFAULT_IGNORE_INDEX = -100;

export interface NllLossOptions {
  /** 'mean' (default) divides by the summed weights of the non-ignored targets. */
  reduction?: Reduction;
  /** A rescaling weight per class, shape [C]. */
  weight?: Tensor | null;
  /** Targets equal to this contribute neither loss nor gradient, nor weight to the mean (default -100). */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends NllLossOptions {
  /** In [0, 1]: the target becomes (1 - s) * one-hot + s / C, as PyTorch >= 1.10. */
  labelSmoothing?: number;
}

export interface BceWithLogitsOptions {
  reduction?: Reduction;
  /** A rescaling weight broadcastable to the input's shape. */
  weight?: Tensor | null;
  /** The weight of positive examples, broadcastable to the input's shape (usually [C], the last axis). */
  posWeight?: Tensor | null;
}

/** The input viewed as [outer, C, inner]: the class axis is 1, or 0 for an unbatched 1-D input. */
interface ClassLayout {
  outer: number;
  classes: number;
  inner: number;
  /** The input's shape without the class axis: the shape of index targets and of 'none' losses. */
  sampleShape: number[];
  inputShape: readonly number[];
}

function classLayout(fn: string, input: Tensor): ClassLayout {
  if (input.ndim === 0) {
    throw new RangeError(`${fn}: input must be [C], [N, C] or [N, C, d1, ...], got a 0-d tensor`);
  }
  if (input.ndim === 1) {
    return {
      outer: 1,
      classes: input.shape[0],
      inner: 1,
      sampleShape: [],
      inputShape: input.shape,
    };
  }
  return {
    outer: input.shape[0],
    classes: input.shape[1],
    inner: input.shape.slice(2).reduce((p, d) => p * d, 1),
    sampleShape: [input.shape[0], ...input.shape.slice(2)],
    inputShape: input.shape,
  };
}

function optionsObject(fn: string, opts: unknown): void {
  if (typeof opts !== 'object' || opts === null) {
    throw new TypeError(
      `${fn}: options must be an object, got ${opts === null ? 'null' : typeof opts}`,
    );
  }
}

function checkIgnoreIndex(fn: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${fn}: ignoreIndex must be an integer, got ${String(v)}`);
  }
  return v;
}

/** Validates class-index targets: int32, the input's shape without the class axis, values in [0, C) or ignored. */
function checkIndexTarget(
  fn: string,
  target: Tensor,
  L: ClassLayout,
  ignoreIndex: number,
): Int32Array {
  if (!(target.data instanceof Int32Array)) {
    throw new TypeError(
      `${fn}: target must be an int32 tensor of class indices with shape ${formatShape(L.sampleShape)} (or float32 probabilities shaped like the input), got float32 of shape ${formatShape(target.shape)}`,
    );
  }
  if (target.ndim !== L.sampleShape.length || target.shape.some((d, i) => d !== L.sampleShape[i])) {
    throw new RangeError(
      `${fn}: target of class indices must have shape ${formatShape(L.sampleShape)} to match the input, got ${formatShape(target.shape)} (input shape ${formatShape(L.inputShape)})`,
    );
  }
  const t = target.data;
  for (let i = 0; i < t.length; i++) {
    const v = t[i];
    if ((v < 0 || v >= L.classes) && v !== ignoreIndex) {
      throw new RangeError(
        `${fn}: target values must be class indices in [0, ${L.classes - 1}]${ignoreIndex < 0 || ignoreIndex >= L.classes ? ` or ignoreIndex (${ignoreIndex})` : ''}, got ${v} at flat position ${i}`,
      );
    }
  }
  return t;
}

function checkSmoothing(fn: string, s: unknown): number {
  if (typeof s !== 'number' || !(s >= 0 && s <= 1)) {
    throw new RangeError(`${fn}: labelSmoothing must be a number in [0, 1], got ${String(s)}`);
  }
  return s;
}

/** Wraps per-sample losses into the requested reduction, with `denominator` for 'mean'. */
function reduceLoss(losses: Float64Array, reduction: Reduction, denominator: number): Float32Array {
  if (reduction === 'none') return Float32Array.from(losses);
  let s = 0;
  for (let i = 0; i < losses.length; i++) s += losses[i];
  return new Float32Array([reduction === 'sum' ? s : s / denominator]);
}

/** The gradient of the output at sample i: the reduction's scale applied to the incoming gradient. */
function sampleGrad(
  gy: Float32Array,
  reduction: Reduction,
  denominator: number,
): (i: number) => number {
  if (reduction === 'none') return (i) => gy[i];
  const g = reduction === 'sum' ? gy[0] : gy[0] / denominator;
  return () => g;
}

/**
 * The (smoothed, weighted) negative log-likelihood of class-index targets, from log-probabilities.
 * Per sample: (1 - s) * -w[t] * logp[t] + (s / C) * -sum_c w[c] * logp[c]; the mean divides by the
 * summed weight of the non-ignored targets, as PyTorch's cross_entropy does for both terms.
 */
function indexTargetLoss(
  fn: string,
  logp: Tensor,
  target: Tensor,
  weight: Float32Array | null,
  reduction: Reduction,
  ignoreIndex: number,
  smoothing: number,
): Tensor {
  const L = classLayout(fn, logp);
  const t = checkIndexTarget(fn, target, L, ignoreIndex);
  const lp = logp.data as Float32Array;
  const { outer, classes: C, inner } = L;
  const losses = new Float64Array(outer * inner);
  let denominator = 0;
  for (let n = 0; n < outer; n++) {
    for (let j = 0; j < inner; j++) {
      const s = n * inner + j;
      const cls = t[s];
      if (cls === ignoreIndex) continue;
      const base = n * C * inner + j;
      const wt = weight === null ? 1 : weight[cls];
      denominator += wt;
      let loss = -(1 - smoothing) * wt * lp[base + cls * inner];
      if (smoothing > 0) {
        let smooth = 0;
        for (let c = 0; c < C; c++)
          smooth -= (weight === null ? 1 : weight[c]) * lp[base + c * inner];
        loss += (smoothing / C) * smooth;
      }
      losses[s] = loss;
    }
  }
  const out = new Tensor(
    reduceLoss(losses, reduction, denominator),
    reduction === 'none' ? L.sampleShape : [],
  );
  return recordOp(out, fn, [logp], (gy) => {
    const dlp = new Float32Array(lp.length);
    const gs = sampleGrad(gy, reduction, denominator);
    for (let n = 0; n < outer; n++) {
      for (let j = 0; j < inner; j++) {
        const s = n * inner + j;
        const cls = t[s];
        if (cls === ignoreIndex) continue;
        const g = gs(s);
        const base = n * C * inner + j;
        if (smoothing > 0) {
          const k = (g * smoothing) / C;
          for (let c = 0; c < C; c++)
            dlp[base + c * inner] = -k * (weight === null ? 1 : weight[c]);
        }
        dlp[base + cls * inner] -= g * (1 - smoothing) * (weight === null ? 1 : weight[cls]);
      }
    }
    return [dlp];
  });
}

/**
 * -sum_c w[c] * q[c] * logp[c] per sample, with q = (1 - s) * target + s / C; the mean divides by
 * the number of samples (weights do not normalize), as PyTorch does for probability targets.
 */
function probTargetLoss(
  fn: string,
  logp: Tensor,
  target: Tensor,
  weight: Float32Array | null,
  reduction: Reduction,
  smoothing: number,
): Tensor {
  const L = classLayout(fn, logp);
  const q = target.data as Float32Array;
  const lp = logp.data as Float32Array;
  const { outer, classes: C, inner } = L;
  const losses = new Float64Array(outer * inner);
  const denominator = outer * inner;
  const qs = (i: number): number => (1 - smoothing) * q[i] + smoothing / C;
  for (let n = 0; n < outer; n++) {
    for (let j = 0; j < inner; j++) {
      const base = n * C * inner + j;
      let loss = 0;
      for (let c = 0; c < C; c++) {
        const i = base + c * inner;
        loss -= (weight === null ? 1 : weight[c]) * qs(i) * lp[i];
      }
      losses[n * inner + j] = loss;
    }
  }
  const out = new Tensor(
    reduceLoss(losses, reduction, denominator),
    reduction === 'none' ? L.sampleShape : [],
  );
  return recordOp(out, fn, [logp, target], (gy) => {
    const gs = sampleGrad(gy, reduction, denominator);
    const dlp = needsGrad(logp) ? new Float32Array(lp.length) : null;
    const dq = needsGrad(target) ? new Float32Array(q.length) : null;
    for (let n = 0; n < outer; n++) {
      for (let j = 0; j < inner; j++) {
        const g = gs(n * inner + j);
        const base = n * C * inner + j;
        for (let c = 0; c < C; c++) {
          const i = base + c * inner;
          const wg = g * (weight === null ? 1 : weight[c]);
          if (dlp !== null) dlp[i] = -wg * qs(i);
          if (dq !== null) dq[i] = -wg * (1 - smoothing) * lp[i];
        }
      }
    }
    return [dlp, dq];
  });
}

function classWeight(
  fn: string,
  weight: Tensor | null | undefined,
  L: ClassLayout,
): Float32Array | null {
  if (weight === null || weight === undefined) return null;
  return requireVector(fn, 'weight', weight, L.classes, 'one weight per class');
}

/**
 * Cross-entropy between logits ([C], [N, C] or [N, C, d1, ...]; class axis 1) and a target of
 * int32 class indices (the input's shape without the class axis) or float32 class probabilities
 * (the input's shape). Computed from logSoftmax, so it is finite and exact for huge logits.
 */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  opts: CrossEntropyOptions = {},
): Tensor {
  const fn = 'crossEntropy';
  requireFloat(fn, 'input', logits);
  requireTensor(fn, 'target', target);
  optionsObject(fn, opts);
  const L = classLayout(fn, logits);
  const reduction = requireReduction(fn, opts.reduction ?? 'mean');
  const smoothing = checkSmoothing(fn, opts.labelSmoothing ?? 0);
  const weight = classWeight(fn, opts.weight, L);
  const ignoreIndex = checkIgnoreIndex(fn, opts.ignoreIndex ?? DEFAULT_IGNORE_INDEX);
  const isProb =
    target.data instanceof Float32Array &&
    target.ndim === logits.ndim &&
    target.shape.every((d, i) => d === logits.shape[i]);
  if (isProb && opts.ignoreIndex !== undefined && opts.ignoreIndex !== DEFAULT_IGNORE_INDEX) {
    throw new RangeError(
      `${fn}: ignoreIndex is only supported for class-index targets, not probability targets`,
    );
  }
  if (!isProb) checkIndexTarget(fn, target, L, ignoreIndex);
  const logp = logSoftmax(logits, logits.ndim === 1 ? 0 : 1);
  return isProb
    ? probTargetLoss(fn, logp, target, weight, reduction, smoothing)
    : indexTargetLoss(fn, logp, target, weight, reduction, ignoreIndex, smoothing);
}

/** Negative log-likelihood of int32 class-index targets, from log-probabilities (e.g. logSoftmax's output). */
export function nllLoss(logProbs: Tensor, target: Tensor, opts: NllLossOptions = {}): Tensor {
  const fn = 'nllLoss';
  requireFloat(fn, 'input', logProbs);
  requireTensor(fn, 'target', target);
  optionsObject(fn, opts);
  const L = classLayout(fn, logProbs);
  const reduction = requireReduction(fn, opts.reduction ?? 'mean');
  const weight = classWeight(fn, opts.weight, L);
  const ignoreIndex = checkIgnoreIndex(fn, opts.ignoreIndex ?? DEFAULT_IGNORE_INDEX);
  return indexTargetLoss(fn, logProbs, target, weight, reduction, ignoreIndex, 0);
}

/** Shared body of the elementwise regression losses; `f` gives the loss and its derivative in d = x - y. */
function pointwiseLoss(
  fn: string,
  input: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction },
  f: (d: number) => number,
  df: (d: number) => number,
): Tensor {
  const xd = requireFloat(fn, 'input', input);
  const yd = requireFloat(fn, 'target', target);
  requireSameShape(fn, 'input', input, 'target', target);
  optionsObject(fn, opts);
  const reduction = requireReduction(fn, opts.reduction ?? 'mean');
  const losses = new Float64Array(xd.length);
  for (let i = 0; i < xd.length; i++) losses[i] = f(xd[i] - yd[i]);
  const out = new Tensor(
    reduceLoss(losses, reduction, xd.length),
    reduction === 'none' ? input.shape : [],
  );
  return recordOp(out, fn, [input, target], (gy) => {
    const gs = sampleGrad(gy, reduction, xd.length);
    const dx = new Float32Array(xd.length);
    for (let i = 0; i < xd.length; i++) dx[i] = gs(i) * df(xd[i] - yd[i]);
    let dt: Float32Array | null = null;
    if (needsGrad(target)) {
      dt = new Float32Array(xd.length);
      for (let i = 0; i < xd.length; i++) dt[i] = -dx[i];
    }
    return [needsGrad(input) ? dx : null, dt];
  });
}

/** Mean (or sum) of squared differences; input and target must have the same shape. */
export function mseLoss(
  input: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction } = {},
): Tensor {
  return pointwiseLoss(
    'mseLoss',
    input,
    target,
    opts,
    (d) => d * d,
    (d) => 2 * d,
  );
}

/** Mean (or sum) of absolute differences; the gradient at a zero difference is 0, as torch's sign(). */
export function l1Loss(
  input: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction } = {},
): Tensor {
  return pointwiseLoss(
    'l1Loss',
    input,
    target,
    opts,
    (d) => Math.abs(d),
    (d) => Math.sign(d),
  );
}

/** `t`'s data expanded to the input's shape by NumPy broadcasting (weights are constants: no gradient). */
function broadcastWeight(
  fn: string,
  name: string,
  t: Tensor,
  shape: readonly number[],
): Float32Array {
  const src = requireFloat(fn, name, t);
  const ok =
    t.ndim <= shape.length &&
    t.shape.every((d, i) => d === 1 || d === shape[shape.length - t.ndim + i]);
  if (!ok) {
    throw new RangeError(
      `${fn}: ${name} of shape ${formatShape(t.shape)} cannot broadcast to the input's shape ${formatShape(shape)}`,
    );
  }
  return broadcastData(src, t.shape, shape) as Float32Array;
}

/**
 * Binary cross-entropy on logits, computed stably as
 * (1 - y) * x + (1 + (pw - 1) * y) * (log(1 + exp(-|x|)) + max(-x, 0)),
 * which is max(x, 0) - x*y + log(1 + exp(-|x|)) without posWeight. Gradients flow to input and
 * target; weight and posWeight are constants.
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  opts: BceWithLogitsOptions = {},
): Tensor {
  const fn = 'binaryCrossEntropyWithLogits';
  const xd = requireFloat(fn, 'input', input);
  const yd = requireFloat(fn, 'target', target);
  requireSameShape(fn, 'input', input, 'target', target);
  optionsObject(fn, opts);
  const reduction = requireReduction(fn, opts.reduction ?? 'mean');
  const w =
    opts.weight === null || opts.weight === undefined
      ? null
      : broadcastWeight(fn, 'weight', opts.weight, input.shape);
  const pw =
    opts.posWeight === null || opts.posWeight === undefined
      ? null
      : broadcastWeight(fn, 'posWeight', opts.posWeight, input.shape);
  const n = xd.length;
  const losses = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = xd[i];
    const y = yd[i];
    const softplusNeg = Math.log1p(Math.exp(-Math.abs(x))) + Math.max(-x, 0);
    const l =
      pw === null ? (1 - y) * x + softplusNeg : (1 - y) * x + (1 + (pw[i] - 1) * y) * softplusNeg;
    losses[i] = w === null ? l : w[i] * l;
  }
  const out = new Tensor(reduceLoss(losses, reduction, n), reduction === 'none' ? input.shape : []);
  return recordOp(out, fn, [input, target], (gy) => {
    const gs = sampleGrad(gy, reduction, n);
    const dx = needsGrad(input) ? new Float32Array(n) : null;
    const dt = needsGrad(target) ? new Float32Array(n) : null;
    for (let i = 0; i < n; i++) {
      const x = xd[i];
      const y = yd[i];
      const p = pw === null ? 1 : pw[i];
      const g = gs(i) * (w === null ? 1 : w[i]);
      // sigmoid(x) without overflow for large |x|.
      const e = Math.exp(-Math.abs(x));
      const sig = x >= 0 ? 1 / (1 + e) : e / (1 + e);
      if (dx !== null) dx[i] = g * ((1 + (p - 1) * y) * sig - p * y);
      if (dt !== null) dt[i] = g * (-x + (p - 1) * (Math.log1p(e) + Math.max(-x, 0)));
    }
    return [dx, dt];
  });
}
