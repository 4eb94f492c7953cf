/** Batch normalization (torch.nn.functional.batch_norm), with its full backward pass. */
import { recordOp } from '../autograd/engine.js';
import { formatShape, Tensor } from '../tensor.js';
import { needsGrad, requireFloat, requireVector } from './tensor-checks.js';

export interface BatchNormOptions {
  /** Normalize with the batch's statistics (and update the running ones) instead of the running ones. */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (PyTorch's default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/**
 * Normalizes each channel of x ([N, C], [N, C, L] or [N, C, H, W]) and applies the affine
 * weight (gamma) and bias (beta) when given.
 *
 * Training: batch mean and biased variance normalize; when runningMean / runningVar are given
 * they are updated in place as running = (1 - momentum) * running + momentum * batchStat, with
 * the unbiased variance, exactly as PyTorch. Evaluation: the running statistics normalize.
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  opts: BatchNormOptions = {},
): Tensor {
  const fn = 'batchNorm';
  const xd = requireFloat(fn, 'input', x);
  if (x.ndim < 2 || x.ndim > 4) {
    throw new RangeError(
      `${fn}: input must be [N, C], [N, C, L] or [N, C, H, W], got shape ${formatShape(x.shape)}`,
    );
  }
  if (typeof opts !== 'object' || opts === null) {
    throw new TypeError(
      `${fn}: options must be an object, got ${opts === null ? 'null' : typeof opts}`,
    );
  }
  const training = opts.training ?? false;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  if (typeof training !== 'boolean')
    throw new TypeError(`${fn}: training must be a boolean, got ${typeof training}`);
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
    throw new RangeError(`${fn}: momentum must be a number in [0, 1], got ${String(momentum)}`);
  }
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) {
    throw new RangeError(`${fn}: eps must be a positive number, got ${String(eps)}`);
  }
  const [N, C] = x.shape;
  const what = `one value per channel of input ${formatShape(x.shape)}`;
  const rm =
    runningMean === null || runningMean === undefined
      ? null
      : requireVector(fn, 'runningMean', runningMean, C, what);
  const rv =
    runningVar === null || runningVar === undefined
      ? null
      : requireVector(fn, 'runningVar', runningVar, C, what);
  if ((rm === null) !== (rv === null)) {
    throw new TypeError(
      `${fn}: runningMean and runningVar must be given together (both tensors or both null)`,
    );
  }
  const gamma =
    weight === null || weight === undefined ? null : requireVector(fn, 'weight', weight, C, what);
  const beta =
    bias === null || bias === undefined ? null : requireVector(fn, 'bias', bias, C, what);
  if (!training && rm === null) {
    throw new RangeError(
      `${fn}: evaluation mode (training=false) needs runningMean and runningVar`,
    );
  }

  const inner = x.shape.slice(2).reduce((p, d) => p * d, 1);
  const M = N * inner;
  if (training && M <= 1) {
    throw new RangeError(
      `${fn}: expected more than 1 value per channel when training, got input shape ${formatShape(x.shape)}`,
    );
  }
  const mean = new Float64Array(C);
  const invStd = new Float64Array(C);
  if (training) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * inner;
        for (let i = 0; i < inner; i++) s += xd[o + i];
      }
      const mu = s / M;
      // Two passes: the one-pass E[x²] - E[x]² loses everything to cancellation when |mean| >> std.
      let ss = 0;
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * inner;
        for (let i = 0; i < inner; i++) {
          const d = xd[o + i] - mu;
          ss += d * d;
        }
      }
      const variance = ss / M;
      mean[c] = mu;
      invStd[c] = 1 / Math.sqrt(variance + eps);
      if (rm !== null && rv !== null) {
        rm[c] = (1 - momentum) * rm[c] + momentum * mu;
        rv[c] = (1 - momentum) * rv[c] + momentum * (ss / (M - 1));
      }
    }
  } else {
    for (let c = 0; c < C; c++) {
      mean[c] = (rm as Float32Array)[c];
      invStd[c] = 1 / Math.sqrt((rv as Float32Array)[c] + eps);
    }
  }

  const xhat = new Float32Array(xd.length);
  const yd = new Float32Array(xd.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * inner;
      const mu = mean[c];
      const is = invStd[c];
      const gm = gamma === null ? 1 : gamma[c];
      const bt = beta === null ? 0 : beta[c];
      for (let i = o; i < o + inner; i++) {
        const h = (xd[i] - mu) * is;
        xhat[i] = h;
        yd[i] = h * gm + bt;
      }
    }
  }

  const inputs: Tensor[] = [x];
  if (gamma !== null) inputs.push(weight as Tensor);
  if (beta !== null) inputs.push(bias as Tensor);
  return recordOp(new Tensor(yd, x.shape), 'batchNorm', inputs, (gy) => {
    const sumDy = new Float64Array(C);
    const sumDyXhat = new Float64Array(C);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const o = (n * C + c) * inner;
        let s = 0;
        let sx = 0;
        for (let i = o; i < o + inner; i++) {
          s += gy[i];
          sx += gy[i] * xhat[i];
        }
        sumDy[c] += s;
        sumDyXhat[c] += sx;
      }
    }
    let dx: Float32Array | null = null;
    if (needsGrad(x)) {
      dx = new Float32Array(xd.length);
      for (let n = 0; n < N; n++) {
        for (let c = 0; c < C; c++) {
          const o = (n * C + c) * inner;
          const scale = (gamma === null ? 1 : gamma[c]) * invStd[c];
          if (training) {
            // The batch statistics depend on x too: d/dx of (x - mean) * invStd over the batch.
            const a = sumDy[c] / M;
            const b = sumDyXhat[c] / M;
            for (let i = o; i < o + inner; i++) dx[i] = scale * (gy[i] - a - xhat[i] * b);
          } else {
            for (let i = o; i < o + inner; i++) dx[i] = scale * gy[i];
          }
        }
      }
    }
    const grads: (Float32Array | null)[] = [dx];
    if (gamma !== null) grads.push(needsGrad(weight) ? Float32Array.from(sumDyXhat) : null);
    if (beta !== null) grads.push(needsGrad(bias) ? Float32Array.from(sumDy) : null);
    return grads;
  });
}
