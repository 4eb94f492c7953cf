/**
 * GEMM in plain TypeScript: C = alpha * op(A) * op(B) + beta * C, row-major.
 *
 * Blocked as in BLIS, reduced to what pays off in JavaScript: C is walked in NC-column by
 * KC-deep blocks; op(A) is packed (alpha folded in, transposed when needed) into a Float64Array
 * of MC x KC rows, and op(B) is packed only when transposed (otherwise its rows are already
 * contiguous). The macro-kernel is an i-k-j loop over contiguous rows that updates two rows of C
 * with four k-steps per pass, so each B load feeds four multiply-adds and each C load/store
 * eight. Products are summed in double precision and rounded once per store.
 */
import type { GemmParams } from '../kernels.js';
import { requireLength } from './check.js';
import { scratchF32, scratchF64 } from './scratch.js';

const MC = 64;
const KC = 256;
const NC = 256;

function isCount(v: number): boolean {
  return Number.isInteger(v) && v >= 0;
}

export function gemm(p: GemmParams, a: Float32Array, b: Float32Array, c: Float32Array): void {
  const { m, n, k } = p;
  if (!isCount(m) || !isCount(n) || !isCount(k)) {
    throw new RangeError(`gemm: m, n, k must be non-negative integers, got ${m}, ${n}, ${k}`);
  }
  requireLength('gemm', 'a', a, m * k);
  requireLength('gemm', 'b', b, k * n);
  requireLength('gemm', 'c', c, m * n);
  gemmAt(p.transA, p.transB, m, n, k, p.alpha, a, 0, b, 0, p.beta, c, 0);
}

/**
 * gemm on matrices that start at an offset inside larger arrays (each still contiguous with its
 * natural row stride); the convolution kernels use it on per-image, per-group slices.
 */
export function gemmAt(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  beta: number,
  c: Float32Array,
  cOff: number,
): void {
  if (m === 0 || n === 0) return;
  const cEnd = cOff + m * n;
  if (beta === 0) {
    c.fill(0, cOff, cEnd);
  } else if (beta !== 1) {
    for (let i = cOff; i < cEnd; i++) c[i] *= beta;
  }
  if (k === 0 || alpha === 0) return;

  const ap = scratchF64('gemm.a', Math.min(MC, m) * Math.min(KC, k));
  const bp = transB ? scratchF32('gemm.b', Math.min(KC, k) * Math.min(NC, n)) : null;

  for (let jc = 0; jc < n; jc += NC) {
    const nb = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kb = Math.min(KC, k - pc);
      let bArr: Float32Array;
      let bBase: number;
      let ldb: number;
      if (bp !== null) {
        packBTransposed(b, bOff, k, jc, nb, pc, kb, bp);
        bArr = bp;
        bBase = 0;
        ldb = nb;
      } else {
        bArr = b;
        bBase = bOff + pc * n + jc;
        ldb = n;
      }
      for (let ic = 0; ic < m; ic += MC) {
        const mb = Math.min(MC, m - ic);
        if (transA) packATransposed(a, aOff, m, ic, mb, pc, kb, alpha, ap);
        else packA(a, aOff, k, ic, mb, pc, kb, alpha, ap);
        macroKernel(mb, nb, kb, ap, bArr, bBase, ldb, c, cOff + ic * n + jc, n);
      }
    }
  }
}

/** ap[i, p] = alpha * A[ic + i, pc + p], A stored m x k. */
function packA(
  a: Float32Array,
  aOff: number,
  k: number,
  ic: number,
  mb: number,
  pc: number,
  kb: number,
  alpha: number,
  ap: Float64Array,
): void {
  for (let i = 0; i < mb; i++) {
    const src = aOff + (ic + i) * k + pc;
    const dst = i * kb;
    for (let p = 0; p < kb; p++) ap[dst + p] = alpha * a[src + p];
  }
}

/** ap[i, p] = alpha * A[pc + p, ic + i], A stored k x m (op(A) = A^T). */
function packATransposed(
  a: Float32Array,
  aOff: number,
  m: number,
  ic: number,
  mb: number,
  pc: number,
  kb: number,
  alpha: number,
  ap: Float64Array,
): void {
  for (let p = 0; p < kb; p++) {
    const src = aOff + (pc + p) * m + ic;
    for (let i = 0; i < mb; i++) ap[i * kb + p] = alpha * a[src + i];
  }
}

/** bp[p, j] = B[jc + j, pc + p], B stored n x k (op(B) = B^T); bp rows are nb long. */
function packBTransposed(
  b: Float32Array,
  bOff: number,
  k: number,
  jc: number,
  nb: number,
  pc: number,
  kb: number,
  bp: Float32Array,
): void {
  // Tiles of 8 source rows keep both the reads and the strided writes within a few cache lines.
  for (let j0 = 0; j0 < nb; j0 += 8) {
    const j1 = Math.min(nb, j0 + 8);
    for (let j = j0; j < j1; j++) {
      const src = bOff + (jc + j) * k + pc;
      for (let p = 0; p < kb; p++) bp[p * nb + j] = b[src + p];
    }
  }
}

/** C[mb x nb] (row stride ldc) += ap[mb x kb] * B[kb x nb] (row stride ldb). */
function macroKernel(
  mb: number,
  nb: number,
  kb: number,
  ap: Float64Array,
  b: Float32Array,
  bBase: number,
  ldb: number,
  c: Float32Array,
  cBase: number,
  ldc: number,
): void {
  let i = 0;
  for (; i + 1 < mb; i += 2) {
    const c0 = cBase + i * ldc;
    const c1 = c0 + ldc;
    const r0 = i * kb;
    const r1 = r0 + kb;
    let p = 0;
    for (; p + 3 < kb; p += 4) {
      const a00 = ap[r0 + p];
      const a01 = ap[r0 + p + 1];
      const a02 = ap[r0 + p + 2];
      const a03 = ap[r0 + p + 3];
      const a10 = ap[r1 + p];
      const a11 = ap[r1 + p + 1];
      const a12 = ap[r1 + p + 2];
      const a13 = ap[r1 + p + 3];
      const b0 = bBase + p * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      for (let j = 0; j < nb; j++) {
        const x0 = b[b0 + j];
        const x1 = b[b1 + j];
        const x2 = b[b2 + j];
        const x3 = b[b3 + j];
        c[c0 + j] += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;
        c[c1 + j] += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;
      }
    }
    for (; p < kb; p++) {
      const a0 = ap[r0 + p];
      const a1 = ap[r1 + p];
      const b0 = bBase + p * ldb;
      for (let j = 0; j < nb; j++) {
        const x = b[b0 + j];
        c[c0 + j] += a0 * x;
        c[c1 + j] += a1 * x;
      }
    }
  }
  if (i < mb) {
    const c0 = cBase + i * ldc;
    const r0 = i * kb;
    let p = 0;
    for (; p + 3 < kb; p += 4) {
      const a0 = ap[r0 + p];
      const a1 = ap[r0 + p + 1];
      const a2 = ap[r0 + p + 2];
      const a3 = ap[r0 + p + 3];
      const b0 = bBase + p * ldb;
      const b1 = b0 + ldb;
      const b2 = b1 + ldb;
      const b3 = b2 + ldb;
      for (let j = 0; j < nb; j++) {
        c[c0 + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
      }
    }
    for (; p < kb; p++) {
      const a0 = ap[r0 + p];
      const b0 = bBase + p * ldb;
      for (let j = 0; j < nb; j++) c[c0 + j] += a0 * b[b0 + j];
    }
  }
}
