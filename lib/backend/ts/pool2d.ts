/**
 * 2-D max and average pooling, NCHW, PyTorch semantics (no ceil mode). Each window is clipped
 * to the input once, so padding never wins a max and never enters a sum.
 */
import type { Pool2dGeometry, RowsGeometry } from '../kernels.js';
import { requireLength } from './check.js';

function checkPool(
  fn: string,
  g: Pool2dGeometry,
  input: { length: number },
  inName: string,
  output: { length: number },
  outName: string,
): void {
  const planes = g.batch * g.channels;
  requireLength(fn, inName, input, planes * g.inHeight * g.inWidth);
  requireLength(fn, outName, output, planes * g.outHeight * g.outWidth);
}

export function maxPool2d(
  g: Pool2dGeometry,
  x: Float32Array,
  y: Float32Array,
  argmax: Int32Array,
): void {
  checkPool('maxPool2d', g, x, 'x', y, 'y');
  requireLength('maxPool2d', 'argmax', argmax, g.batch * g.channels * g.outHeight * g.outWidth);
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const { kernelH: KH, kernelW: KW, strideH: sh, strideW: sw, padH: ph, padW: pw } = g;
  const planes = g.batch * g.channels;
  if (KH === 2 && KW === 2 && sh === 2 && sw === 2 && ph === 0 && pw === 0) {
    maxPool2x2(planes, H, W, OH, OW, x, y, argmax);
    return;
  }
  const HW = H * W;
  let out = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * HW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = Math.max(0, oh * sh - ph);
      const h1 = Math.min(H, oh * sh - ph + KH);
      for (let ow = 0; ow < OW; ow++, out++) {
        const w0 = Math.max(0, ow * sw - pw);
        const w1 = Math.min(W, ow * sw - pw + KW);
        let best = -Infinity;
        let bestIdx = h0 * W + w0;
        for (let h = h0; h < h1; h++) {
          const row = h * W;
          for (let w = w0; w < w1; w++) {
            const v = x[base + row + w];
            // Strict '>' keeps the first of equal maxima; a NaN wins and propagates, as in PyTorch.
            if (v > best || v !== v) {
              best = v;
              bestIdx = row + w;
            }
          }
        }
        y[out] = best;
        argmax[out] = bestIdx;
      }
    }
  }
}

/**
 * The 2x2, stride-2, unpadded max pool, with the same result and argmax as the generic loop
 * (the first of equal maxima, the last NaN). The generic loop's data-dependent branches mispredict
 * on about every other window; here each comparison becomes a 0/-1 mask that selects an index,
 * pairwise (top row, bottom row, then across), and the output is re-read at the chosen index.
 */
function maxPool2x2(
  planes: number,
  H: number,
  W: number,
  OH: number,
  OW: number,
  x: Float32Array,
  y: Float32Array,
  argmax: Int32Array,
): void {
  const HW = H * W;
  let out = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * HW;
    for (let oh = 0; oh < OH; oh++) {
      const row = 2 * oh * W;
      for (let ow = 0; ow < OW; ow++, out++) {
        const i0 = row + 2 * ow;
        const i1 = i0 + 1;
        const i2 = i0 + W;
        const i3 = i2 + 1;
        const v1 = x[base + i1];
        const v3 = x[base + i3];
        // -1 where the later element wins: it is greater, or it is NaN (as in the generic loop).
        const top = i0 ^ ((i0 ^ i1) & -(+(v1 > x[base + i0]) | +(v1 !== v1)));
        const bottom = i2 ^ ((i2 ^ i3) & -(+(v3 > x[base + i2]) | +(v3 !== v3)));
        const vb = x[base + bottom];
        const best = top ^ ((top ^ bottom) & -(+(vb > x[base + top]) | +(vb !== vb)));
        y[out] = x[base + best];
        argmax[out] = best;
      }
    }
  }
}

export function maxPool2dBackward(
  g: Pool2dGeometry,
  dy: Float32Array,
  argmax: Int32Array,
  dx: Float32Array,
): void {
  checkPool('maxPool2dBackward', g, dx, 'dx', dy, 'dy');
  const planes = g.batch * g.channels;
  const HW = g.inHeight * g.inWidth;
  const P = g.outHeight * g.outWidth;
  requireLength('maxPool2dBackward', 'argmax', argmax, planes * P);
  dx.fill(0, 0, planes * HW);
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * HW;
    const o = pl * P;
    for (let i = 0; i < P; i++) {
      const idx = argmax[o + i];
      if (idx < 0 || idx >= HW) {
        throw new RangeError(
          `maxPool2dBackward: argmax ${idx} is outside the ${g.inHeight}x${g.inWidth} input plane`,
        );
      }
      dx[base + idx] += dy[o + i];
    }
  }
}

export function avgPool2d(g: Pool2dGeometry, x: Float32Array, y: Float32Array): void {
  checkPool('avgPool2d', g, x, 'x', y, 'y');
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const { kernelH: KH, kernelW: KW, strideH: sh, strideW: sw, padH: ph, padW: pw } = g;
  const planes = g.batch * g.channels;
  const HW = H * W;
  let out = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * HW;
    for (let oh = 0; oh < OH; oh++) {
      const hs = oh * sh - ph;
      const he = Math.min(hs + KH, H + ph);
      const h0 = Math.max(0, hs);
      const h1 = Math.min(H, he);
      for (let ow = 0; ow < OW; ow++, out++) {
        const ws = ow * sw - pw;
        const we = Math.min(ws + KW, W + pw);
        const w0 = Math.max(0, ws);
        const w1 = Math.min(W, we);
        const divisor = g.countIncludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
        let s = 0;
        for (let h = h0; h < h1; h++) {
          const row = base + h * W;
          for (let w = w0; w < w1; w++) s += x[row + w];
        }
        y[out] = s / divisor;
      }
    }
  }
}

export function avgPool2dBackward(g: Pool2dGeometry, dy: Float32Array, dx: Float32Array): void {
  checkPool('avgPool2dBackward', g, dx, 'dx', dy, 'dy');
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const { kernelH: KH, kernelW: KW, strideH: sh, strideW: sw, padH: ph, padW: pw } = g;
  const planes = g.batch * g.channels;
  const HW = H * W;
  dx.fill(0, 0, planes * HW);
  let out = 0;
  for (let pl = 0; pl < planes; pl++) {
    const base = pl * HW;
    for (let oh = 0; oh < OH; oh++) {
      const hs = oh * sh - ph;
      const he = Math.min(hs + KH, H + ph);
      const h0 = Math.max(0, hs);
      const h1 = Math.min(H, he);
      for (let ow = 0; ow < OW; ow++, out++) {
        const ws = ow * sw - pw;
        const we = Math.min(ws + KW, W + pw);
        const w0 = Math.max(0, ws);
        const w1 = Math.min(W, we);
        const divisor = g.countIncludePad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
        const v = dy[out] / divisor;
        for (let h = h0; h < h1; h++) {
          const row = base + h * W;
          for (let w = w0; w < w1; w++) dx[row + w] += v;
        }
      }
    }
  }
}

function checkPlanes(fn: string, g: RowsGeometry): void {
  if (!(g.cols >= 1)) {
    throw new RangeError(`${fn}: g.cols must be an integer >= 1, got ${g.cols}`);
  }
}

/** y[r] = mean of row r: global average pooling with rows = N*C planes of cols = H*W. */
export function globalAvgPool(g: RowsGeometry, x: Float32Array, y: Float32Array): void {
  const { rows, cols } = g;
  checkPlanes('globalAvgPool', g);
  requireLength('globalAvgPool', 'x', x, rows * cols);
  requireLength('globalAvgPool', 'y', y, rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const start = r * cols;
    for (let i = start; i < start + cols; i++) s += x[i];
    y[r] = s / cols;
  }
}

export function globalAvgPoolBackward(g: RowsGeometry, dy: Float32Array, dx: Float32Array): void {
  const { rows, cols } = g;
  checkPlanes('globalAvgPoolBackward', g);
  requireLength('globalAvgPoolBackward', 'dy', dy, rows);
  requireLength('globalAvgPoolBackward', 'dx', dx, rows * cols);
  for (let r = 0; r < rows; r++) dx.fill(dy[r] / cols, r * cols, (r + 1) * cols);
}
