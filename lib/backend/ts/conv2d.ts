/**
 * 2-D convolution (NCHW activations, OIHW weights, PyTorch semantics) reduced to the TS GEMM,
 * one image and one group at a time. With Cg = C/groups, Og = O/groups, K = Cg*KH*KW and
 * P = OH*OW:
 *   forward          y_g[Og, P]  = w_g[Og, K] * col[K, P]          (+ bias, seeded into y)
 *   backward input   col[K, P]   = w_g^T[K, Og] * dy_g[Og, P]       then col2im into dx
 *   backward weight  dw_g[Og, K] = sum over images of dy_g[Og, P] * col^T[P, K]
 * A 1x1 kernel with stride 1 and no padding needs no im2col: the input plane already is col.
 */
import type { Conv2dGeometry } from '../kernels.js';
import { requireLength } from './check.js';
import { gemmAt } from './gemm.js';
import { col2imAdd, im2col } from './im2col.js';
import { scratchF32 } from './scratch.js';

interface Dims {
  N: number;
  C: number;
  O: number;
  G: number;
  Cg: number;
  Og: number;
  K: number;
  P: number;
  HW: number;
  /** The input plane is the column matrix (1x1 kernel, stride 1, no padding). */
  direct: boolean;
}

function dims(fn: string, g: Conv2dGeometry): Dims {
  const N = g.batch;
  const C = g.inChannels;
  const O = g.outChannels;
  const G = g.groups;
  if (!(G >= 1 && C % G === 0 && O % G === 0)) {
    throw new RangeError(
      `${fn}: groups (${G}) must divide input channels (${C}) and output channels (${O})`,
    );
  }
  const Cg = C / G;
  const Og = O / G;
  const direct =
    g.kernelH === 1 &&
    g.kernelW === 1 &&
    g.strideH === 1 &&
    g.strideW === 1 &&
    g.padH === 0 &&
    g.padW === 0;
  return {
    N,
    C,
    O,
    G,
    Cg,
    Og,
    K: Cg * g.kernelH * g.kernelW,
    P: g.outHeight * g.outWidth,
    HW: g.inHeight * g.inWidth,
    direct,
  };
}

export function conv2d(
  g: Conv2dGeometry,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  y: Float32Array,
): void {
  const { N, C, O, G, Cg, Og, K, P, HW, direct } = dims('conv2d', g);
  requireLength('conv2d', 'x', x, N * C * HW);
  requireLength('conv2d', 'w', w, O * K);
  if (bias !== null) requireLength('conv2d', 'bias', bias, O);
  requireLength('conv2d', 'y', y, N * O * P);
  const col = direct ? x : scratchF32('conv.col', K * P);
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < G; gi++) {
      const xOff = (n * C + gi * Cg) * HW;
      const yOff = (n * O + gi * Og) * P;
      let beta = 0;
      if (bias !== null) {
        for (let o = 0; o < Og; o++) {
          const row = yOff + o * P;
          y.fill(bias[gi * Og + o], row, row + P);
        }
        beta = 1;
      }
      if (direct) {
        gemmAt(false, false, Og, P, K, 1, w, gi * Og * K, x, xOff, beta, y, yOff);
      } else {
        im2col(g, x, xOff, Cg, col);
        gemmAt(false, false, Og, P, K, 1, w, gi * Og * K, col, 0, beta, y, yOff);
      }
    }
  }
}

export function conv2dBackwardInput(
  g: Conv2dGeometry,
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
): void {
  const { N, C, O, G, Cg, Og, K, P, HW, direct } = dims('conv2dBackwardInput', g);
  requireLength('conv2dBackwardInput', 'dy', dy, N * O * P);
  requireLength('conv2dBackwardInput', 'w', w, O * K);
  requireLength('conv2dBackwardInput', 'dx', dx, N * C * HW);
  if (direct) {
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < G; gi++) {
        const dxOff = (n * C + gi * Cg) * HW;
        const dyOff = (n * O + gi * Og) * P;
        gemmAt(true, false, Cg, P, Og, 1, w, gi * Og * K, dy, dyOff, 0, dx, dxOff);
      }
    }
    return;
  }
  dx.fill(0, 0, N * C * HW);
  const col = scratchF32('conv.col', K * P);
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < G; gi++) {
      const dxOff = (n * C + gi * Cg) * HW;
      const dyOff = (n * O + gi * Og) * P;
      gemmAt(true, false, K, P, Og, 1, w, gi * Og * K, dy, dyOff, 0, col, 0);
      col2imAdd(g, col, Cg, dx, dxOff);
    }
  }
}

export function conv2dBackwardWeight(
  g: Conv2dGeometry,
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
  dbias: Float32Array | null,
): void {
  const { N, C, O, G, Cg, Og, K, P, HW, direct } = dims('conv2dBackwardWeight', g);
  requireLength('conv2dBackwardWeight', 'x', x, N * C * HW);
  requireLength('conv2dBackwardWeight', 'dy', dy, N * O * P);
  requireLength('conv2dBackwardWeight', 'dw', dw, O * K);
  if (dbias !== null) requireLength('conv2dBackwardWeight', 'dbias', dbias, O);
  if (N === 0) dw.fill(0, 0, O * K);
  const col = direct ? x : scratchF32('conv.col', K * P);
  for (let n = 0; n < N; n++) {
    const beta = n === 0 ? 0 : 1;
    for (let gi = 0; gi < G; gi++) {
      const xOff = (n * C + gi * Cg) * HW;
      const dyOff = (n * O + gi * Og) * P;
      if (direct) {
        gemmAt(false, true, Og, K, P, 1, dy, dyOff, x, xOff, beta, dw, gi * Og * K);
      } else {
        im2col(g, x, xOff, Cg, col);
        gemmAt(false, true, Og, K, P, 1, dy, dyOff, col, 0, beta, dw, gi * Og * K);
      }
    }
  }
  if (dbias !== null) {
    for (let o = 0; o < O; o++) {
      // Four partial sums: one running sum is a chain of dependent adds, 3x slower.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let n = 0; n < N; n++) {
        const row = (n * O + o) * P;
        const end = row + P;
        let i = row;
        for (; i + 3 < end; i += 4) {
          s0 += dy[i];
          s1 += dy[i + 1];
          s2 += dy[i + 2];
          s3 += dy[i + 3];
        }
        for (; i < end; i++) s0 += dy[i];
      }
      dbias[o] = s0 + s1 + (s2 + s3);
    }
  }
}
