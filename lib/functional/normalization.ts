/** Batch normalization (torch.nn.functional.batch_norm), with its full backward pass. */
import { recordOp } from '../autograd/engine.js';
import { gradBuffer } from '../autograd/grad-buffers.js';
import { uninitializedFloat32 } from '../backend/buffers.js';
import { kernels } from '../backend/index.js';
import type { ChannelGeometry } from '../backend/kernels.js';
import { formatShape, Tensor } from '../tensor.js';
import { relu } from './activation.js';
import { add } from './elementwise.js';
import { needsGrad, requireFloat, requireVector } from './tensor-checks.js';

export interface BatchNormOptions {
  /** Normalize with the batch's statistics (and update the running ones) instead of the running ones. */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (PyTorch's default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

interface ParsedBatchNorm {
  xd: Float32Array;
  training: boolean;
  momentum: number;
  eps: number;
  C: number;
  rm: Float32Array | null;
  rv: Float32Array | null;
  gamma: Float32Array | null;
  beta: Float32Array | null;
  g: ChannelGeometry;
}

function parseBatchNorm(
  fn: string,
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  opts: BatchNormOptions,
): ParsedBatchNorm {
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
  return {
    xd,
    training,
    momentum,
    eps,
    C,
    rm,
    rv,
    gamma,
    beta,
    g: { outer: N, channels: C, inner },
  };
}

/** The inputs a batch norm's gradient rule returns gradients for, in that order. */
function batchNormInputs(
  x: Tensor,
  p: ParsedBatchNorm,
  weight: Tensor | null,
  bias: Tensor | null,
): Tensor[] {
  const inputs: Tensor[] = [x];
  if (p.gamma !== null) inputs.push(weight as Tensor);
  if (p.beta !== null) inputs.push(bias as Tensor);
  return inputs;
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
  const p = parseBatchNorm('batchNorm', x, runningMean, runningVar, weight, bias, opts);
  const { xd, training, eps, momentum, C, rm, rv, gamma, beta, g } = p;
  const k = kernels();
  const yd = uninitializedFloat32(xd.length);
  // The statistics x is normalized with, kept for the backward pass: the batch's when training;
  // otherwise a snapshot of the running ones (a later training step may move them).
  let mean: Float32Array;
  let invStd: Float32Array;
  if (training) {
    mean = new Float32Array(C);
    invStd = new Float32Array(C);
    k.batchNormTraining(g, xd, gamma, beta, yd, mean, invStd, rm, rv, eps, momentum);
  } else {
    const runMean = rm as Float32Array;
    const runVar = rv as Float32Array;
    k.batchNormInference(g, xd, gamma, beta, runMean, runVar, yd, eps);
    mean = runMean.slice(0, C);
    invStd = new Float32Array(C);
    for (let c = 0; c < C; c++) invStd[c] = 1 / Math.sqrt(runVar[c] + eps);
  }

  return recordOp(
    new Tensor(yd, x.shape),
    'batchNorm',
    batchNormInputs(x, p, weight, bias),
    (gy) => {
      const dx = needsGrad(x) ? gradBuffer(xd.length) : null;
      const dgamma = gamma !== null && needsGrad(weight) ? new Float32Array(C) : null;
      const dbeta = beta !== null && needsGrad(bias) ? new Float32Array(C) : null;
      kernels().batchNormBackward(g, xd, gy, mean, invStd, gamma, dx, dgamma, dbeta, training);
      const grads: (Float32Array | null)[] = [dx];
      if (gamma !== null) grads.push(dgamma);
      if (beta !== null) grads.push(dbeta);
      return grads;
    },
  );
}

export interface BatchNormReluOptions extends BatchNormOptions {
  /** Added to the normalized values before the ReLU (a residual block's shortcut); x's shape. */
  residual?: Tensor | null;
}

/**
 * relu(batchNorm(x, ...) + residual) (residual optional): the end of a residual block, or batch
 * norm then ReLU, as one op. Values and gradients equal running the ops one by one (the same
 * float32 rounding at each step); in training the kernel makes one pass over the output instead
 * of three and never stores the normalized or summed values, and the backward pass folds the
 * ReLU's mask into batch norm's.
 */
export function batchNormRelu(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  opts: BatchNormReluOptions = {},
): Tensor {
  const fn = 'batchNormRelu';
  const p = parseBatchNorm(fn, x, runningMean, runningVar, weight, bias, opts);
  const residual = opts.residual ?? null;
  if (residual !== null) {
    requireFloat(fn, 'residual', residual);
    if (!sameShape(residual.shape, x.shape)) {
      throw new RangeError(
        `${fn}: residual must have the input's shape ${formatShape(x.shape)}, got ${formatShape(residual.shape)}`,
      );
    }
  }
  if (!p.training) {
    // Evaluation has no fused kernel; the ops one by one give the same result.
    const { training, momentum, eps } = p;
    const y = batchNorm(x, runningMean, runningVar, weight, bias, { training, momentum, eps });
    return relu(residual === null ? y : add(y, residual));
  }
  const { xd, eps, momentum, C, rm, rv, gamma, beta, g } = p;
  const rd = residual === null ? null : (residual.data as Float32Array);
  const yd = uninitializedFloat32(xd.length);
  const mean = new Float32Array(C);
  const invStd = new Float32Array(C);
  kernels().batchNormTraining(g, xd, gamma, beta, yd, mean, invStd, rm, rv, eps, momentum, {
    residual: rd,
    relu: true,
  });
  const inputs = batchNormInputs(x, p, weight, bias);
  if (residual !== null) inputs.push(residual);
  return recordOp(new Tensor(yd, x.shape), fn, inputs, (gy) => {
    const dx = needsGrad(x) ? gradBuffer(xd.length) : null;
    const dgamma = gamma !== null && needsGrad(weight) ? new Float32Array(C) : null;
    const dbeta = beta !== null && needsGrad(bias) ? new Float32Array(C) : null;
    const dres = residual !== null && needsGrad(residual) ? gradBuffer(xd.length) : null;
    kernels().batchNormBackward(g, xd, gy, mean, invStd, gamma, dx, dgamma, dbeta, true, {
      reluOut: yd,
      dresidual: dres,
    });
    const grads: (Float32Array | null)[] = [dx];
    if (gamma !== null) grads.push(dgamma);
    if (beta !== null) grads.push(dbeta);
    if (residual !== null) grads.push(dres);
    return grads;
  });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
