/**
 * Batch normalization over a tensor viewed as [outer, channels, inner], PyTorch's batch_norm:
 * statistics per channel over its M = outer * inner values, in double precision, with the
 * two-pass variance (E[x^2] - E[x]^2 loses everything to cancellation when |mean| >> std).
 */
import type { BatchNormBackwardEpilogue, BatchNormEpilogue, ChannelGeometry } from '../kernels.js';
import { requireLength } from './check.js';

function checkEps(fn: string, eps: number): void {
  if (typeof eps !== 'number')
    throw new TypeError(`${fn}: eps must be a number, got ${typeof eps}`);
  if (!Number.isFinite(eps)) throw new RangeError(`${fn}: eps must be a finite number, got ${eps}`);
  if (eps < 0) throw new RangeError(`${fn}: eps must be >= 0, got ${eps}`);
}

function requireChannels(fn: string, name: string, v: Float32Array | null, channels: number): void {
  if (v !== null) requireLength(fn, name, v, channels);
}

export function batchNormTraining(
  g: ChannelGeometry,
  x: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  y: Float32Array,
  mean: Float32Array,
  invStd: Float32Array,
  runningMean: Float32Array | null,
  runningVar: Float32Array | null,
  eps: number,
  momentum: number,
  epilogue?: BatchNormEpilogue,
): void {
  const fn = 'batchNormTraining';
  const { outer, channels: C, inner } = g;
  const total = outer * C * inner;
  requireLength(fn, 'x', x, total);
  requireChannels(fn, 'gamma', gamma, C);
  requireChannels(fn, 'beta', beta, C);
  requireLength(fn, 'y', y, total);
  requireLength(fn, 'mean', mean, C);
  requireLength(fn, 'invStd', invStd, C);
  requireChannels(fn, 'runningMean', runningMean, C);
  requireChannels(fn, 'runningVar', runningVar, C);
  checkEps(fn, eps);
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
    throw new RangeError(`${fn}: momentum must be in [0, 1], got ${String(momentum)}`);
  }
  // Both or neither: a running mean without its variance cannot be updated consistently.
  if (runningMean === null && runningVar !== null) {
    throw new TypeError(
      `${fn}: runningMean must be a Float32Array when runningVar is given (both or neither), got null`,
    );
  }
  if (runningMean !== null && runningVar === null) {
    throw new TypeError(
      `${fn}: runningVar must be a Float32Array when runningMean is given (both or neither), got null`,
    );
  }
  const residual = epilogue?.residual ?? null;
  const relu = epilogue?.relu ?? false;
  if (residual !== null) requireLength(fn, 'residual', residual, total);
  if (typeof relu !== 'boolean') {
    throw new TypeError(`${fn}: epilogue.relu must be a boolean, got ${typeof relu}`);
  }
  const M = outer * inner;
  if (C > 0 && M < 1) {
    throw new RangeError(`${fn}: each channel needs at least 1 value (g.outer * g.inner), got 0`);
  }
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let o = 0; o < outer; o++) {
      const start = (o * C + c) * inner;
      for (let i = start; i < start + inner; i++) s += x[i];
    }
    const mu = s / M;
    let ss = 0;
    for (let o = 0; o < outer; o++) {
      const start = (o * C + c) * inner;
      for (let i = start; i < start + inner; i++) {
        const d = x[i] - mu;
        ss += d * d;
      }
    }
    const is = 1 / Math.sqrt(ss / M + eps);
    mean[c] = mu;
    invStd[c] = is;
    if (runningMean !== null && runningVar !== null) {
      runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mu;
      runningVar[c] = (1 - momentum) * runningVar[c] + momentum * (ss / (M - 1));
    }
    const scale = (gamma === null ? 1 : gamma[c]) * is;
    const shift = beta === null ? 0 : beta[c];
    for (let o = 0; o < outer; o++) {
      const start = (o * C + c) * inner;
      if (residual === null && !relu) {
        for (let i = start; i < start + inner; i++) y[i] = (x[i] - mu) * scale + shift;
        continue;
      }
      // Rounded to float32 after each step, as the separate add and relu kernels store them.
      for (let i = start; i < start + inner; i++) {
        let v = Math.fround((x[i] - mu) * scale + shift);
        if (residual !== null) v = Math.fround(v + residual[i]);
        // relu's rule (lib/backend/ts/elementwise.ts): NaN kept, everything not above 0 is 0.
        y[i] = relu && !(v > 0) && v === v ? 0 : v;
      }
    }
  }
}

export function batchNormInference(
  g: ChannelGeometry,
  x: Float32Array,
  gamma: Float32Array | null,
  beta: Float32Array | null,
  runningMean: Float32Array,
  runningVar: Float32Array,
  y: Float32Array,
  eps: number,
): void {
  const fn = 'batchNormInference';
  const { outer, channels: C, inner } = g;
  const total = outer * C * inner;
  requireLength(fn, 'x', x, total);
  requireChannels(fn, 'gamma', gamma, C);
  requireChannels(fn, 'beta', beta, C);
  requireLength(fn, 'runningMean', runningMean, C);
  requireLength(fn, 'runningVar', runningVar, C);
  requireLength(fn, 'y', y, total);
  checkEps(fn, eps);
  for (let c = 0; c < C; c++) {
    const mu = runningMean[c];
    const scale = (gamma === null ? 1 : gamma[c]) / Math.sqrt(runningVar[c] + eps);
    const shift = beta === null ? 0 : beta[c];
    for (let o = 0; o < outer; o++) {
      const start = (o * C + c) * inner;
      for (let i = start; i < start + inner; i++) y[i] = (x[i] - mu) * scale + shift;
    }
  }
}

export function batchNormBackward(
  g: ChannelGeometry,
  x: Float32Array,
  dy: Float32Array,
  mean: Float32Array,
  invStd: Float32Array,
  gamma: Float32Array | null,
  dx: Float32Array | null,
  dgamma: Float32Array | null,
  dbeta: Float32Array | null,
  training: boolean,
  epilogue?: BatchNormBackwardEpilogue,
): void {
  const fn = 'batchNormBackward';
  const { outer, channels: C, inner } = g;
  const total = outer * C * inner;
  requireLength(fn, 'x', x, total);
  requireLength(fn, 'dy', dy, total);
  requireLength(fn, 'mean', mean, C);
  requireLength(fn, 'invStd', invStd, C);
  requireChannels(fn, 'gamma', gamma, C);
  if (dx !== null) requireLength(fn, 'dx', dx, total);
  requireChannels(fn, 'dgamma', dgamma, C);
  requireChannels(fn, 'dbeta', dbeta, C);
  if (typeof training !== 'boolean') {
    throw new TypeError(`${fn}: training must be a boolean, got ${typeof training}`);
  }
  const reluOut = epilogue?.reluOut ?? null;
  const dresidual = epilogue?.dresidual ?? null;
  if (reluOut !== null) requireLength(fn, 'reluOut', reluOut, total);
  if (dresidual !== null) requireLength(fn, 'dresidual', dresidual, total);
  if (reluOut !== null || dresidual !== null) {
    // The gradient reaching bn(x) (and the residual): dy masked as reluBackward masks it.
    const masked = dresidual ?? new Float32Array(total);
    for (let i = 0; i < total; i++) {
      const gi = dy[i];
      if (reluOut === null) {
        masked[i] = gi;
        continue;
      }
      // reluBackward's rule (lib/backend/ts/elementwise.ts), branch-free with the same zeros.
      const v = reluOut[i];
      const r = gi * +(v > 0) + 0;
      masked[i] = r === r ? r : v > 0 ? gi : 0;
    }
    dy = masked;
  }
  const M = outer * inner;
  for (let c = 0; c < C; c++) {
    const mu = mean[c];
    const is = invStd[c];
    let sumDy = 0;
    let dot = 0; // sum of dy * (x - mean)
    for (let o = 0; o < outer; o++) {
      const start = (o * C + c) * inner;
      for (let i = start; i < start + inner; i++) {
        sumDy += dy[i];
        dot += dy[i] * (x[i] - mu);
      }
    }
    if (dgamma !== null) dgamma[c] = dot * is;
    if (dbeta !== null) dbeta[c] = sumDy;
    if (dx === null) continue;
    const k = (gamma === null ? 1 : gamma[c]) * is;
    // The batch statistics depend on x too: xhat * mean(dy * xhat) = (x - mean) * is^2 * dot / M.
    const kx = training ? (k * is * is * dot) / M : 0;
    const k0 = training ? (k * sumDy) / M : 0;
    for (let o = 0; o < outer; o++) {
      const start = (o * C + c) * inner;
      for (let i = start; i < start + inner; i++) dx[i] = k * dy[i] - kx * (x[i] - mu) - k0;
    }
  }
}
