/**
 * Naive reference kernels: straightforward loops in float64, written from the definitions
 * (PyTorch semantics) and independently of lib/backend/ts. They return fresh Float64Arrays.
 * Also the awkward shapes that both the TS-vs-reference and the native-vs-TS suites run.
 */
import type {
  AdamStep,
  BiasGeometry,
  ChannelGeometry,
  Conv2dGeometry,
  GemmParams,
  Pool2dGeometry,
  RowsGeometry,
} from '../../lib/backend/kernels.js';
import {
  conv2dGeometry,
  pool2dGeometry,
  type Conv2dOptions,
  type Pool2dOptions,
  type Size2,
} from '../../lib/backend/geometry.js';
import type { Rng } from '../helpers.js';

type Arr = ArrayLike<number>;

// ---------------------------------------------------------------------------------------------
// GEMM

/** alpha * op(A) op(B) + beta * C, with C's old contents ignored when beta is 0. */
export function refGemm(p: GemmParams, a: Arr, b: Arr, c: Arr): Float64Array {
  const { m, n, k, alpha, beta, transA, transB } = p;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) {
        const av = transA ? a[l * m + i] : a[i * k + l];
        const bv = transB ? b[j * k + l] : b[l * n + j];
        s += av * bv;
      }
      out[i * n + j] = alpha * s + (beta === 0 ? 0 : beta * c[i * n + j]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Convolution: y[n, o, oh, ow] = b[o] + sum_{c, kh, kw} x[n, g*Cg + c, ih, iw] * w[o, c, kh, kw]
// with ih = oh*sh - ph + kh*dh, iw = ow*sw - pw + kw*dw, g = floor(o / Og), zero outside x.

export function refConv2d(g: Conv2dGeometry, x: Arr, w: Arr, bias: Arr | null): Float64Array {
  const { batch: N, inChannels: C, inHeight: H, inWidth: W, outChannels: O } = g;
  const { kernelH: KH, kernelW: KW, outHeight: OH, outWidth: OW, groups: G } = g;
  const Cg = C / G;
  const Og = O / G;
  const y = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / Og);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let s = bias === null ? 0 : bias[o];
          for (let c = 0; c < Cg; c++) {
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * g.strideH - g.padH + kh * g.dilationH;
                const iw = ow * g.strideW - g.padW + kw * g.dilationW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const xv = x[((n * C + grp * Cg + c) * H + ih) * W + iw];
                const wv = w[((o * Cg + c) * KH + kh) * KW + kw];
                s += xv * wv;
              }
            }
          }
          y[((n * O + o) * OH + oh) * OW + ow] = s;
        }
      }
    }
  }
  return y;
}

/** dx = d<y, dy>/dx: every product x*w of the forward pass sends dy*w back to its x. */
export function refConv2dBackwardInput(g: Conv2dGeometry, dy: Arr, w: Arr): Float64Array {
  const { batch: N, inChannels: C, inHeight: H, inWidth: W, outChannels: O } = g;
  const { kernelH: KH, kernelW: KW, outHeight: OH, outWidth: OW, groups: G } = g;
  const Cg = C / G;
  const Og = O / G;
  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / Og);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const d = dy[((n * O + o) * OH + oh) * OW + ow];
          for (let c = 0; c < Cg; c++) {
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * g.strideH - g.padH + kh * g.dilationH;
                const iw = ow * g.strideW - g.padW + kw * g.dilationW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                dx[((n * C + grp * Cg + c) * H + ih) * W + iw] +=
                  d * w[((o * Cg + c) * KH + kh) * KW + kw];
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

export function refConv2dBackwardWeight(
  g: Conv2dGeometry,
  x: Arr,
  dy: Arr,
): { dw: Float64Array; dbias: Float64Array } {
  const { batch: N, inChannels: C, inHeight: H, inWidth: W, outChannels: O } = g;
  const { kernelH: KH, kernelW: KW, outHeight: OH, outWidth: OW, groups: G } = g;
  const Cg = C / G;
  const Og = O / G;
  const dw = new Float64Array(O * Cg * KH * KW);
  const dbias = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    const grp = Math.floor(o / Og);
    for (let c = 0; c < Cg; c++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          let s = 0;
          for (let n = 0; n < N; n++) {
            for (let oh = 0; oh < OH; oh++) {
              for (let ow = 0; ow < OW; ow++) {
                const ih = oh * g.strideH - g.padH + kh * g.dilationH;
                const iw = ow * g.strideW - g.padW + kw * g.dilationW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s +=
                  x[((n * C + grp * Cg + c) * H + ih) * W + iw] *
                  dy[((n * O + o) * OH + oh) * OW + ow];
              }
            }
          }
          dw[((o * Cg + c) * KH + kh) * KW + kw] = s;
        }
      }
    }
    let sb = 0;
    for (let n = 0; n < N; n++) {
      for (let q = 0; q < OH * OW; q++) sb += dy[(n * O + o) * OH * OW + q];
    }
    dbias[o] = sb;
  }
  return { dw, dbias };
}

// ---------------------------------------------------------------------------------------------
// Pooling. Windows start at oh*sh - ph; positions outside the input are padding.

export function refMaxPool2d(g: Pool2dGeometry, x: Arr): { y: Float64Array; argmax: Int32Array } {
  const { batch: N, channels: C, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const y = new Float64Array(N * C * OH * OW);
  const argmax = new Int32Array(N * C * OH * OW);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let best = -Infinity;
        let bestIdx = -1;
        for (let kh = 0; kh < g.kernelH; kh++) {
          for (let kw = 0; kw < g.kernelW; kw++) {
            const ih = oh * g.strideH - g.padH + kh;
            const iw = ow * g.strideW - g.padW + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const v = x[plane * H * W + ih * W + iw];
            if (bestIdx < 0 || v > best) {
              best = v;
              bestIdx = ih * W + iw;
            }
          }
        }
        const o = (plane * OH + oh) * OW + ow;
        y[o] = best;
        argmax[o] = bestIdx;
      }
    }
  }
  return { y, argmax };
}

export function refMaxPool2dBackward(
  g: Pool2dGeometry,
  dy: Arr,
  argmax: ArrayLike<number>,
): Float64Array {
  const { batch: N, channels: C, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const dx = new Float64Array(N * C * H * W);
  for (let plane = 0; plane < N * C; plane++) {
    for (let q = 0; q < OH * OW; q++) {
      dx[plane * H * W + argmax[plane * OH * OW + q]] += dy[plane * OH * OW + q];
    }
  }
  return dx;
}

/** Without ceil mode no window reaches past the padding, so the full window is KH*KW. */
function avgDivisor(g: Pool2dGeometry, oh: number, ow: number): number {
  if (g.countIncludePad) return g.kernelH * g.kernelW;
  let count = 0;
  for (let kh = 0; kh < g.kernelH; kh++) {
    for (let kw = 0; kw < g.kernelW; kw++) {
      const ih = oh * g.strideH - g.padH + kh;
      const iw = ow * g.strideW - g.padW + kw;
      if (ih >= 0 && ih < g.inHeight && iw >= 0 && iw < g.inWidth) count++;
    }
  }
  return count;
}

export function refAvgPool2d(g: Pool2dGeometry, x: Arr): Float64Array {
  const { batch: N, channels: C, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const y = new Float64Array(N * C * OH * OW);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let s = 0;
        for (let kh = 0; kh < g.kernelH; kh++) {
          for (let kw = 0; kw < g.kernelW; kw++) {
            const ih = oh * g.strideH - g.padH + kh;
            const iw = ow * g.strideW - g.padW + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            s += x[plane * H * W + ih * W + iw];
          }
        }
        y[(plane * OH + oh) * OW + ow] = s / avgDivisor(g, oh, ow);
      }
    }
  }
  return y;
}

export function refAvgPool2dBackward(g: Pool2dGeometry, dy: Arr): Float64Array {
  const { batch: N, channels: C, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const dx = new Float64Array(N * C * H * W);
  for (let plane = 0; plane < N * C; plane++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const d = dy[(plane * OH + oh) * OW + ow] / avgDivisor(g, oh, ow);
        for (let kh = 0; kh < g.kernelH; kh++) {
          for (let kw = 0; kw < g.kernelW; kw++) {
            const ih = oh * g.strideH - g.padH + kh;
            const iw = ow * g.strideW - g.padW + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            dx[plane * H * W + ih * W + iw] += d;
          }
        }
      }
    }
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------
// Elementwise, bias, softmax

function map(x: Arr, f: (v: number, i: number) => number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i], i);
  return out;
}

export const refRelu = (x: Arr): Float64Array => map(x, (v) => Math.max(v, 0));
export const refReluBackward = (x: Arr, dy: Arr): Float64Array =>
  map(x, (v, i) => (v > 0 ? dy[i] : 0));
export const refLeakyRelu = (x: Arr, slope: number): Float64Array =>
  map(x, (v) => (v > 0 ? v : slope * v));
export const refLeakyReluBackward = (x: Arr, dy: Arr, slope: number): Float64Array =>
  map(x, (v, i) => (v > 0 ? dy[i] : slope * dy[i]));
export const refSigmoid = (x: Arr): Float64Array => map(x, (v) => 1 / (1 + Math.exp(-v)));
export const refSigmoidBackward = (y: Arr, dy: Arr): Float64Array =>
  map(y, (s, i) => dy[i] * s * (1 - s));
export const refTanh = (x: Arr): Float64Array => map(x, (v) => Math.tanh(v));
export const refTanhBackward = (y: Arr, dy: Arr): Float64Array =>
  map(y, (t, i) => dy[i] * (1 - t * t));

export function refBiasAdd(g: BiasGeometry, x: Arr, bias: Arr): Float64Array {
  return map(x, (v, i) => v + bias[Math.floor(i / g.inner) % g.channels]);
}

export function refBiasAddBackward(g: BiasGeometry, dy: Arr): Float64Array {
  const db = new Float64Array(g.channels);
  for (let i = 0; i < g.outer * g.channels * g.inner; i++)
    db[Math.floor(i / g.inner) % g.channels] += dy[i];
  return db;
}

export function refSoftmax(g: RowsGeometry, x: Arr): Float64Array {
  const y = new Float64Array(g.rows * g.cols);
  for (let r = 0; r < g.rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < g.cols; j++) m = Math.max(m, x[r * g.cols + j]);
    let s = 0;
    for (let j = 0; j < g.cols; j++) s += Math.exp(x[r * g.cols + j] - m);
    for (let j = 0; j < g.cols; j++) y[r * g.cols + j] = Math.exp(x[r * g.cols + j] - m) / s;
  }
  return y;
}

export function refLogSoftmax(g: RowsGeometry, x: Arr): Float64Array {
  const y = new Float64Array(g.rows * g.cols);
  for (let r = 0; r < g.rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < g.cols; j++) m = Math.max(m, x[r * g.cols + j]);
    let s = 0;
    for (let j = 0; j < g.cols; j++) s += Math.exp(x[r * g.cols + j] - m);
    for (let j = 0; j < g.cols; j++) y[r * g.cols + j] = x[r * g.cols + j] - m - Math.log(s);
  }
  return y;
}

/** Jacobian-vector product of softmax: dx_i = sum_j dy_j * y_j * (delta_ij - y_i). */
export function refSoftmaxBackward(g: RowsGeometry, y: Arr, dy: Arr): Float64Array {
  const dx = new Float64Array(g.rows * g.cols);
  for (let r = 0; r < g.rows; r++) {
    for (let i = 0; i < g.cols; i++) {
      let s = 0;
      for (let j = 0; j < g.cols; j++) {
        const yi = y[r * g.cols + i];
        const yj = y[r * g.cols + j];
        s += dy[r * g.cols + j] * (i === j ? yi * (1 - yi) : -yi * yj);
      }
      dx[r * g.cols + i] = s;
    }
  }
  return dx;
}

/** log-softmax JVP: dx_i = sum_j dy_j * (delta_ij - softmax_i), softmax_i = exp(y_i). */
export function refLogSoftmaxBackward(g: RowsGeometry, y: Arr, dy: Arr): Float64Array {
  const dx = new Float64Array(g.rows * g.cols);
  for (let r = 0; r < g.rows; r++) {
    for (let i = 0; i < g.cols; i++) {
      let s = 0;
      for (let j = 0; j < g.cols; j++) {
        s += dy[r * g.cols + j] * ((i === j ? 1 : 0) - Math.exp(y[r * g.cols + i]));
      }
      dx[r * g.cols + i] = s;
    }
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------
// Batch normalization. Channel c of a tensor viewed as [outer, channels, inner] holds the values
// x[(o * channels + c) * inner + i]; its statistics are over all o and i (M = outer * inner).

/** The values of channel c, in order. */
function channelValues(g: ChannelGeometry, x: Arr, c: number): number[] {
  const v: number[] = [];
  for (let o = 0; o < g.outer; o++) {
    for (let i = 0; i < g.inner; i++) v.push(x[(o * g.channels + c) * g.inner + i]);
  }
  return v;
}

function channelIndex(g: ChannelGeometry, c: number, j: number): number {
  return (Math.floor(j / g.inner) * g.channels + c) * g.inner + (j % g.inner);
}

export interface RefBatchNormTraining {
  y: Float64Array;
  mean: Float64Array;
  invStd: Float64Array;
  runningMean: Float64Array;
  runningVar: Float64Array;
}

/** Batch statistics normalize; the running ones move towards the mean and unbiased variance. */
export function refBatchNormTraining(
  g: ChannelGeometry,
  x: Arr,
  gamma: Arr | null,
  beta: Arr | null,
  runningMean: Arr,
  runningVar: Arr,
  eps: number,
  momentum: number,
): RefBatchNormTraining {
  const out: RefBatchNormTraining = {
    y: new Float64Array(g.outer * g.channels * g.inner),
    mean: new Float64Array(g.channels),
    invStd: new Float64Array(g.channels),
    runningMean: new Float64Array(g.channels),
    runningVar: new Float64Array(g.channels),
  };
  for (let c = 0; c < g.channels; c++) {
    const v = channelValues(g, x, c);
    const M = v.length;
    const mu = v.reduce((a, b) => a + b, 0) / M;
    const sq = v.reduce((a, b) => a + (b - mu) * (b - mu), 0);
    const variance = sq / M;
    out.mean[c] = mu;
    out.invStd[c] = 1 / Math.sqrt(variance + eps);
    out.runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mu;
    out.runningVar[c] = (1 - momentum) * runningVar[c] + momentum * (sq / (M - 1));
    for (let j = 0; j < M; j++) {
      const xhat = (v[j] - mu) / Math.sqrt(variance + eps);
      out.y[channelIndex(g, c, j)] =
        xhat * (gamma === null ? 1 : gamma[c]) + (beta === null ? 0 : beta[c]);
    }
  }
  return out;
}

export function refBatchNormInference(
  g: ChannelGeometry,
  x: Arr,
  gamma: Arr | null,
  beta: Arr | null,
  runningMean: Arr,
  runningVar: Arr,
  eps: number,
): Float64Array {
  return map(x, (v, idx) => {
    const c = Math.floor(idx / g.inner) % g.channels;
    const xhat = (v - runningMean[c]) / Math.sqrt(runningVar[c] + eps);
    return xhat * (gamma === null ? 1 : gamma[c]) + (beta === null ? 0 : beta[c]);
  });
}

/**
 * The vector-Jacobian product of batch norm, summed term by term from the chain rule rather than
 * the simplified closed form the kernels use. With y_j = gamma * (x_j - mu) * s + beta,
 * mu = mean(x), s = (var(x) + eps)^(-1/2) in training (each depends on every x_i of the channel)
 * or fixed statistics otherwise:
 *   dy_j/dx_i = gamma * ((delta_ij - dmu/dx_i) * s + (x_j - mu) * ds/dx_i),
 *   dmu/dx_i = 1/M, ds/dx_i = -s^3 * (x_i - mu) / M.
 */
export function refBatchNormBackward(
  g: ChannelGeometry,
  x: Arr,
  dy: Arr,
  mean: Arr,
  invStd: Arr,
  gamma: Arr | null,
  training: boolean,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const dx = new Float64Array(g.outer * g.channels * g.inner);
  const dgamma = new Float64Array(g.channels);
  const dbeta = new Float64Array(g.channels);
  for (let c = 0; c < g.channels; c++) {
    const v = channelValues(g, x, c);
    const d = channelValues(g, dy, c);
    const M = v.length;
    const mu = mean[c];
    const s = invStd[c];
    const gm = gamma === null ? 1 : gamma[c];
    for (let j = 0; j < M; j++) {
      dgamma[c] += d[j] * (v[j] - mu) * s;
      dbeta[c] += d[j];
    }
    for (let i = 0; i < M; i++) {
      let acc = 0;
      for (let j = 0; j < M; j++) {
        const dmu = training ? 1 / M : 0;
        const ds = training ? (-s * s * s * (v[i] - mu)) / M : 0;
        const jac = gm * (((i === j ? 1 : 0) - dmu) * s + (v[j] - mu) * ds);
        acc += d[j] * jac;
      }
      dx[channelIndex(g, c, i)] = acc;
    }
  }
  return { dx, dgamma, dbeta };
}

export const refGlobalAvgPool = (g: RowsGeometry, x: Arr): Float64Array => {
  const y = new Float64Array(g.rows);
  for (let r = 0; r < g.rows; r++) {
    for (let j = 0; j < g.cols; j++) y[r] += x[r * g.cols + j] / g.cols;
  }
  return y;
};

export const refGlobalAvgPoolBackward = (g: RowsGeometry, dy: Arr): Float64Array => {
  const dx = new Float64Array(g.rows * g.cols);
  for (let i = 0; i < dx.length; i++) dx[i] = dy[Math.floor(i / g.cols)] / g.cols;
  return dx;
};

export const refAdd = (a: Arr, b: Arr): Float64Array => map(a, (v, i) => v + b[i]);
export const refAxpy = (x: Arr, y: Arr, alpha: number): Float64Array =>
  map(y, (v, i) => v + alpha * x[i]);

/** torch.optim.Adam / AdamW hyperparameters, and the step number t (from 1). */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** AdamW (decay the weights) rather than Adam (L2 on the gradient). */
  decoupled: boolean;
  amsgrad: boolean;
  maximize: boolean;
  t: number;
}

/**
 * One step of torch.optim.Adam / AdamW's documented algorithm, element by element in float64:
 * returns the new w, m, v (and vMax).
 */
export function refAdam(
  h: AdamHyper,
  w: Arr,
  g: Arr,
  m: Arr,
  v: Arr,
  vMax: Arr | null,
): { w: Float64Array; m: Float64Array; v: Float64Array; vMax: Float64Array | null } {
  const n = w.length;
  const out = {
    w: new Float64Array(n),
    m: new Float64Array(n),
    v: new Float64Array(n),
    vMax: vMax === null ? null : new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    let grad = h.maximize ? -g[i] : g[i];
    let theta = w[i];
    if (h.decoupled) theta *= 1 - h.lr * h.weightDecay;
    else grad += h.weightDecay * w[i];
    const mi = h.beta1 * m[i] + (1 - h.beta1) * grad;
    const vi = h.beta2 * v[i] + (1 - h.beta2) * grad * grad;
    const mHat = mi / (1 - h.beta1 ** h.t);
    let vHat = vi / (1 - h.beta2 ** h.t);
    if (vMax !== null && out.vMax !== null) {
      out.vMax[i] = Math.max(vMax[i], vi);
      vHat = out.vMax[i] / (1 - h.beta2 ** h.t);
    }
    out.w[i] = theta - (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
    out.m[i] = mi;
    out.v[i] = vi;
  }
  return out;
}

/** The kernel's AdamStep for hyperparameters h (what the optimizer computes per tensor). */
export function adamStepOf(h: AdamHyper): AdamStep {
  return {
    beta1: h.beta1,
    beta2: h.beta2,
    stepSize: h.lr / (1 - h.beta1 ** h.t),
    bias2Sqrt: Math.sqrt(1 - h.beta2 ** h.t),
    eps: h.eps,
    l2: h.decoupled ? 0 : h.weightDecay,
    decay: h.decoupled ? 1 - h.lr * h.weightDecay : 1,
    sign: h.maximize ? -1 : 1,
  };
}

export const adamCases: AdamHyper[] = [
  {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
    decoupled: false,
    amsgrad: false,
    maximize: false,
    t: 1,
  },
  {
    lr: 3e-3,
    beta1: 0.8,
    beta2: 0.99,
    eps: 1e-6,
    weightDecay: 0.1,
    decoupled: false,
    amsgrad: true,
    maximize: false,
    t: 7,
  },
  {
    lr: 1e-2,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0.05,
    decoupled: true,
    amsgrad: false,
    maximize: true,
    t: 100,
  },
  {
    lr: 2e-3,
    beta1: 0.5,
    beta2: 0.9,
    eps: 1e-4,
    weightDecay: 0.01,
    decoupled: true,
    amsgrad: true,
    maximize: false,
    t: 3,
  },
];

/** Channel layouts for the batch-norm suites: NCHW-like, [N, C] (inner 1), a single value per row. */
export const channelShapes: ChannelGeometry[] = [
  { outer: 2, channels: 3, inner: 5 },
  { outer: 7, channels: 4, inner: 1 },
  { outer: 1, channels: 2, inner: 9 },
  { outer: 3, channels: 1, inner: 1 },
  { outer: 4, channels: 5, inner: 13 },
];

// ---------------------------------------------------------------------------------------------
// The shapes every kernel suite runs: the awkward ones named, plus seeded random ones.

export interface GemmCase {
  name: string;
  p: GemmParams;
}

export function gemmCases(): GemmCase[] {
  const cases: GemmCase[] = [];
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [1, 17, 9],
    [13, 1, 7],
    [5, 6, 1],
    [7, 5, 3],
    [33, 31, 29],
    [64, 64, 64],
    // Cross the TS blocks (MC 64, KC 256, NC 256) and the native register tiles.
    [66, 259, 40],
    [67, 21, 520],
  ];
  const scales: [number, number][] = [
    [1, 0],
    [-0.5, 1],
    [2, 0.25],
  ];
  let s = 0;
  for (const [m, n, k] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const [alpha, beta] = scales[s++ % scales.length];
        cases.push({
          name: `${m}x${n}x${k} ${transA ? 'A^T' : 'A'} ${transB ? 'B^T' : 'B'} alpha=${alpha} beta=${beta}`,
          p: { transA, transB, m, n, k, alpha, beta },
        });
      }
    }
  }
  return cases;
}

export interface ConvCase {
  name: string;
  g: Conv2dGeometry;
}

function conv(
  name: string,
  input: [number, number, number, number],
  outChannels: number,
  kernel: Size2,
  opts: Conv2dOptions = {},
): ConvCase {
  const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
  const groups = opts.groups ?? 1;
  const g = conv2dGeometry('test', input, [outChannels, input[1] / groups, kh, kw], opts);
  return { name, g };
}

export function convCases(rng: Rng, randomCount: number): ConvCase[] {
  const cases: ConvCase[] = [
    conv('1x1 stride 1 (direct gemm)', [2, 3, 5, 7], 4, 1),
    conv('1x1 stride 2', [2, 3, 6, 5], 4, 1, { stride: 2 }),
    conv('1x1 padded', [1, 3, 4, 4], 2, 1, { padding: 1 }),
    conv('odd sizes, batch 1', [1, 3, 7, 5], 5, 3, { padding: 1 }),
    conv('stride > kernel', [2, 2, 9, 10], 3, 2, { stride: 3 }),
    conv('padding = kernel - 1', [2, 2, 5, 6], 3, 3, { padding: 2 }),
    conv('dilation 2', [2, 3, 9, 8], 4, 3, { dilation: 2, padding: 2 }),
    conv('depthwise', [2, 4, 6, 7], 4, 3, { groups: 4, padding: 1 }),
    conv('depthwise multiplier 2', [1, 3, 6, 6], 6, 3, { groups: 3, stride: 2, padding: 1 }),
    conv('groups 2', [2, 4, 7, 6], 6, 3, { groups: 2 }),
    conv('groups 2, 1x1', [2, 4, 5, 5], 6, 1, { groups: 2 }),
    conv('non-square kernel, stride, padding, dilation', [2, 3, 9, 11], 4, [2, 3], {
      stride: [1, 2],
      padding: [1, 0],
      dilation: [2, 1],
    }),
    conv('kernel covers the input', [2, 2, 3, 4], 3, [3, 4]),
    conv('one output channel', [3, 5, 6, 6], 1, 3, { padding: 1 }),
    conv('blocks: K > 256, P > 256', [1, 32, 20, 17], 5, 3, { padding: 1 }),
    conv('many channels, 1x1, batch 3', [3, 70, 4, 4], 66, 1),
  ];
  for (let i = 0; i < randomCount; i++) {
    for (;;) {
      const groups = rng.pick([1, 1, 1, 2, 3]);
      const cin = groups * rng.int(1, 4);
      const cout = groups * rng.int(1, 4);
      const kh = rng.int(1, 4);
      const kw = rng.int(1, 4);
      const stride: [number, number] = [rng.int(1, 3), rng.int(1, 3)];
      const dilation: [number, number] = [rng.int(1, 2), rng.int(1, 2)];
      const padding: [number, number] = [rng.int(0, kh), rng.int(0, kw)];
      const input: [number, number, number, number] = [
        rng.int(1, 3),
        cin,
        rng.int(1, 11),
        rng.int(1, 11),
      ];
      try {
        const c = conv('', input, cout, [kh, kw], { stride, padding, dilation, groups });
        c.name = `random #${i}: x[${input.join(',')}] w[${cout},${cin / groups},${kh},${kw}] stride ${stride} pad ${padding} dil ${dilation} groups ${groups}`;
        cases.push(c);
        break;
      } catch {
        // the kernel did not fit; draw again
      }
    }
  }
  return cases;
}

export interface PoolCase {
  name: string;
  g: Pool2dGeometry;
}

function pool(
  name: string,
  input: [number, number, number, number],
  kernel: Size2,
  opts: Pool2dOptions = {},
): PoolCase {
  return { name, g: pool2dGeometry('test', input, kernel, opts) };
}

export function poolCases(rng: Rng, randomCount: number): PoolCase[] {
  const cases: PoolCase[] = [
    pool('2x2 stride 2', [2, 3, 8, 8], 2),
    pool('odd input, 2x2 stride 2', [1, 2, 7, 9], 2),
    pool('3x3 stride 2 pad 1 (overlap + padding)', [2, 2, 7, 8], 3, { stride: 2, padding: 1 }),
    pool('3x3 stride 1 pad 1 (heavy overlap)', [1, 3, 5, 6], 3, { stride: 1, padding: 1 }),
    pool('3x3 stride 2 pad 1, countIncludePad false', [2, 2, 7, 8], 3, {
      stride: 2,
      padding: 1,
      countIncludePad: false,
    }),
    pool('non-square kernel and stride, padding', [2, 2, 9, 7], [3, 2], {
      stride: [2, 1],
      padding: [1, 1],
    }),
    pool('non-square, countIncludePad false', [1, 2, 6, 9], [2, 4], {
      stride: [1, 3],
      padding: [1, 2],
      countIncludePad: false,
    }),
    pool('stride > kernel', [2, 2, 10, 11], 2, { stride: 3 }),
    pool('1x1 kernel', [1, 2, 3, 4], 1),
    pool('global (kernel = input)', [2, 3, 5, 6], [5, 6]),
  ];
  for (let i = 0; i < randomCount; i++) {
    for (;;) {
      const kh = rng.int(1, 4);
      const kw = rng.int(1, 4);
      const stride: [number, number] = [rng.int(1, 4), rng.int(1, 4)];
      const padding: [number, number] = [
        rng.int(0, Math.floor(kh / 2)),
        rng.int(0, Math.floor(kw / 2)),
      ];
      const countIncludePad = rng.next() < 0.5;
      const input: [number, number, number, number] = [
        rng.int(1, 3),
        rng.int(1, 3),
        rng.int(1, 10),
        rng.int(1, 10),
      ];
      try {
        const c = pool('', input, [kh, kw], { stride, padding, countIncludePad });
        c.name = `random #${i}: x[${input.join(',')}] kernel ${kh}x${kw} stride ${stride} pad ${padding} countIncludePad ${countIncludePad}`;
        cases.push(c);
        break;
      } catch {
        // the window did not fit; draw again
      }
    }
  }
  return cases;
}
