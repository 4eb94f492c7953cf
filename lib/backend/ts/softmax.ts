/**
 * Row-wise softmax and log-softmax. The row max is subtracted before exponentiating, so logits
 * of any finite size give finite results; sums are kept in double precision. y may be x.
 */
import type { RowsGeometry } from '../kernels.js';
import { requireLength } from './check.js';

function rowMax(x: Float32Array, start: number, end: number): number {
  let m = -Infinity;
  for (let i = start; i < end; i++) {
    const v = x[i];
    if (v > m || v !== v) m = v;
  }
  return m;
}

export function softmax(g: RowsGeometry, x: Float32Array, y: Float32Array): void {
  const { rows, cols } = g;
  requireLength('softmax', 'x', x, rows * cols);
  requireLength('softmax', 'y', y, rows * cols);
  for (let r = 0; r < rows; r++) {
    const start = r * cols;
    const end = start + cols;
    const m = rowMax(x, start, end);
    let s = 0;
    for (let i = start; i < end; i++) {
      const e = Math.exp(x[i] - m);
      y[i] = e;
      s += e;
    }
    // Divide by the double-precision sum (y[i] holds e rounded to float32; the error is < 1 ulp).
    const inv = 1 / s;
    for (let i = start; i < end; i++) y[i] *= inv;
  }
}

export function softmaxBackward(
  g: RowsGeometry,
  y: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
): void {
  const { rows, cols } = g;
  requireLength('softmaxBackward', 'y', y, rows * cols);
  requireLength('softmaxBackward', 'dy', dy, rows * cols);
  requireLength('softmaxBackward', 'dx', dx, rows * cols);
  for (let r = 0; r < rows; r++) {
    const start = r * cols;
    const end = start + cols;
    let dot = 0;
    for (let i = start; i < end; i++) dot += dy[i] * y[i];
    for (let i = start; i < end; i++) dx[i] = y[i] * (dy[i] - dot);
  }
}

export function logSoftmax(g: RowsGeometry, x: Float32Array, y: Float32Array): void {
  const { rows, cols } = g;
  requireLength('logSoftmax', 'x', x, rows * cols);
  requireLength('logSoftmax', 'y', y, rows * cols);
  for (let r = 0; r < rows; r++) {
    const start = r * cols;
    const end = start + cols;
    const m = rowMax(x, start, end);
    let s = 0;
    for (let i = start; i < end; i++) s += Math.exp(x[i] - m);
    const shift = m + Math.log(s);
    for (let i = start; i < end; i++) y[i] = x[i] - shift;
  }
}

export function logSoftmaxBackward(
  g: RowsGeometry,
  y: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
): void {
  const { rows, cols } = g;
  requireLength('logSoftmaxBackward', 'y', y, rows * cols);
  requireLength('logSoftmaxBackward', 'dy', dy, rows * cols);
  requireLength('logSoftmaxBackward', 'dx', dx, rows * cols);
  for (let r = 0; r < rows; r++) {
    const start = r * cols;
    const end = start + cols;
    let s = 0;
    for (let i = start; i < end; i++) s += dy[i];
    for (let i = start; i < end; i++) dx[i] = dy[i] - Math.exp(y[i]) * s;
  }
}
