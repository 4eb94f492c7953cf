/**
 * GEMM in plain TypeScript: C = alpha * op(A) * op(B) + beta * C, row-major.
 *
 * Blocked as in BLIS: C is walked in NC-column by KC-deep blocks; op(B)'s block is packed into
 * NR-column micro-panels and op(A)'s block (alpha folded in) into MR-row micro-panels, both as
 * float64 in one module-level buffer. A micro-kernel keeps an MR x NR tile of C in local
 * variables across the whole KC depth and adds it into C once, so products are summed in double
 * precision and rounded once per KC block.
 *
 * What makes this fast in V8 (measured on Node 20; each about 1.2-1.4x):
 * - The pack buffer is a module-level constant of fixed size. TurboFan then embeds its data
 *   address and length as constants: a load costs an index add, a compare against a constant and
 *   the load itself, instead of re-reading the array's map, length and base pointer on every
 *   loop iteration as it does for an array passed in as an argument.
 * - Indices are masked with IDX (a no-op on every real index, which stays below IDX) so that V8
 *   knows index sums cannot overflow and drops its overflow checks.
 * - The micro-kernel takes two k-steps per iteration and adds their products pairwise before
 *   touching the accumulators. TurboFan's register allocator spills some accumulators to the
 *   stack, and a spilled accumulator's loop-carried add-store-load chain is then paid once per
 *   two k-steps instead of once per step.
 */
import type { GemmParams } from '../kernels.js';
import { requireLength } from './check.js';

/** Register tile: MR rows of C by NR columns. */
const MR = 2;
const NR = 4;
/** Cache blocks: op(A) is packed MC x KC at a time, op(B) KC x NC. */
const MC = 128;
const KC = 512;
const NC = 256;
const A_SIZE = MC * KC;
const B_SIZE = KC * NC;
/** A mask above every index into PACK (see the file comment). */
const IDX = (1 << 21) - 1;
/**
 * Packed op(A) block in [0, A_SIZE), packed op(B) block in [A_SIZE, A_SIZE + B_SIZE). JavaScript
 * runs one kernel at a time, so one buffer serves every call.
 */
const PACK = new Float64Array(A_SIZE + B_SIZE);
/** An edge tile's accumulators on their way from microKernel to addEdgeTile. */
const EDGE = new Float64Array(MR * NR);

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

/** Splits `total` into the fewest blocks of at most `max`, of near-equal size. */
function blockSize(total: number, max: number, multiple: number): number {
  const blocks = Math.ceil(total / max);
  const size = Math.ceil(total / blocks);
  return Math.min(max, Math.ceil(size / multiple) * multiple);
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

  const kcMax = blockSize(k, KC, 1);
  const mcMax = blockSize(m, MC, MR);
  for (let jc = 0; jc < n; jc += NC) {
    const nb = Math.min(NC, n - jc);
    for (let pc = 0; pc < k; pc += kcMax) {
      const kb = Math.min(kcMax, k - pc);
      if (transB) packBTransposed(b, bOff, k, jc, nb, pc, kb);
      else packB(b, bOff, n, jc, nb, pc, kb);
      for (let ic = 0; ic < m; ic += mcMax) {
        const mb = Math.min(mcMax, m - ic);
        if (transA) packATransposed(a, aOff, m, ic, mb, pc, kb, alpha);
        else packA(a, aOff, k, ic, mb, pc, kb, alpha);
        macroKernel(mb, nb, kb, c, cOff + ic * n + jc, n);
      }
    }
  }
}

/**
 * PACK[i0 * kb + p * MR + r] = alpha * A[ic + i0 + r, pc + p] for each MR-row micro-panel
 * starting at row i0 (A stored m x k); rows past mb are zero.
 */
function packA(
  a: Float32Array,
  aOff: number,
  k: number,
  ic: number,
  mb: number,
  pc: number,
  kb: number,
  alpha: number,
): void {
  for (let i0 = 0; i0 < mb; i0 += MR) {
    const dst = i0 * kb;
    const src0 = aOff + (ic + i0) * k + pc;
    if (i0 + 1 < mb) {
      const src1 = src0 + k;
      for (let p = 0; p < kb; p++) {
        PACK[dst + 2 * p] = alpha * a[src0 + p];
        PACK[dst + 2 * p + 1] = alpha * a[src1 + p];
      }
    } else {
      for (let p = 0; p < kb; p++) {
        PACK[dst + 2 * p] = alpha * a[src0 + p];
        PACK[dst + 2 * p + 1] = 0;
      }
    }
  }
}

/** As packA, from A stored k x m (op(A) = A^T). */
function packATransposed(
  a: Float32Array,
  aOff: number,
  m: number,
  ic: number,
  mb: number,
  pc: number,
  kb: number,
  alpha: number,
): void {
  for (let i0 = 0; i0 < mb; i0 += MR) {
    const dst = i0 * kb;
    const src = aOff + pc * m + ic + i0;
    if (i0 + 1 < mb) {
      for (let p = 0; p < kb; p++) {
        const s = src + p * m;
        PACK[dst + 2 * p] = alpha * a[s];
        PACK[dst + 2 * p + 1] = alpha * a[s + 1];
      }
    } else {
      for (let p = 0; p < kb; p++) {
        PACK[dst + 2 * p] = alpha * a[src + p * m];
        PACK[dst + 2 * p + 1] = 0;
      }
    }
  }
}

/**
 * PACK[A_SIZE + j0 * kb + p * NR + q] = B[pc + p, jc + j0 + q] for each NR-column micro-panel
 * starting at column j0 (B stored k x n); columns past nb are zero.
 */
function packB(
  b: Float32Array,
  bOff: number,
  n: number,
  jc: number,
  nb: number,
  pc: number,
  kb: number,
): void {
  for (let j0 = 0; j0 < nb; j0 += NR) {
    let dst = A_SIZE + j0 * kb;
    let src = bOff + pc * n + jc + j0;
    const w = Math.min(NR, nb - j0);
    if (w === NR) {
      for (let p = 0; p < kb; p++, dst += NR, src += n) {
        PACK[dst] = b[src];
        PACK[dst + 1] = b[src + 1];
        PACK[dst + 2] = b[src + 2];
        PACK[dst + 3] = b[src + 3];
      }
    } else {
      for (let p = 0; p < kb; p++, dst += NR, src += n) {
        for (let q = 0; q < NR; q++) PACK[dst + q] = q < w ? b[src + q] : 0;
      }
    }
  }
}

/** As packB, from B stored n x k (op(B) = B^T). */
function packBTransposed(
  b: Float32Array,
  bOff: number,
  k: number,
  jc: number,
  nb: number,
  pc: number,
  kb: number,
): void {
  for (let j0 = 0; j0 < nb; j0 += NR) {
    const dst = A_SIZE + j0 * kb;
    const w = Math.min(NR, nb - j0);
    for (let q = 0; q < NR; q++) {
      if (q < w) {
        const src = bOff + (jc + j0 + q) * k + pc;
        for (let p = 0; p < kb; p++) PACK[dst + p * NR + q] = b[src + p];
      } else {
        for (let p = 0; p < kb; p++) PACK[dst + p * NR + q] = 0;
      }
    }
  }
}

/** C[mb x nb] (row stride ldc, from cBase) += packed A block * packed B block. */
function macroKernel(
  mb: number,
  nb: number,
  kb: number,
  c: Float32Array,
  cBase: number,
  ldc: number,
): void {
  for (let j0 = 0; j0 < nb; j0 += NR) {
    const nr = Math.min(NR, nb - j0);
    const ib = A_SIZE + j0 * kb;
    for (let i0 = 0; i0 < mb; i0 += MR) {
      microKernel(kb, i0 * kb, ib, c, cBase + i0 * ldc + j0, ldc, Math.min(MR, mb - i0), nr);
    }
  }
}

/**
 * C[mr x nr] (from ci, row stride ldc) += the MR-row A micro-panel at PACK[ia] times the NR-column
 * B micro-panel at PACK[ib], both kb deep.
 */
function microKernel(
  kb: number,
  ia: number,
  ib: number,
  c: Float32Array,
  ci: number,
  ldc: number,
  mr: number,
  nr: number,
): void {
  ia &= IDX;
  ib &= IDX;
  kb &= IDX;
  let c00 = 0;
  let c01 = 0;
  let c02 = 0;
  let c03 = 0;
  let c10 = 0;
  let c11 = 0;
  let c12 = 0;
  let c13 = 0;
  const pairsEnd = (ia + MR * (kb & ~1)) & IDX;
  for (; ia < pairsEnd; ia = ia + 2 * MR, ib = (ib + 2 * NR) & IDX) {
    const b00 = PACK[ib];
    const b01 = PACK[ib + 1];
    const b02 = PACK[ib + 2];
    const b03 = PACK[ib + 3];
    const b10 = PACK[ib + 4];
    const b11 = PACK[ib + 5];
    const b12 = PACK[ib + 6];
    const b13 = PACK[ib + 7];
    const a00 = PACK[ia];
    const a10 = PACK[ia + 2];
    c00 += a00 * b00 + a10 * b10;
    c01 += a00 * b01 + a10 * b11;
    c02 += a00 * b02 + a10 * b12;
    c03 += a00 * b03 + a10 * b13;
    const a01 = PACK[ia + 1];
    const a11 = PACK[ia + 3];
    c10 += a01 * b00 + a11 * b10;
    c11 += a01 * b01 + a11 * b11;
    c12 += a01 * b02 + a11 * b12;
    c13 += a01 * b03 + a11 * b13;
  }
  if ((kb & 1) !== 0) {
    const b0 = PACK[ib];
    const b1 = PACK[ib + 1];
    const b2 = PACK[ib + 2];
    const b3 = PACK[ib + 3];
    const a0 = PACK[ia];
    const a1 = PACK[ia + 1];
    c00 += a0 * b0;
    c01 += a0 * b1;
    c02 += a0 * b2;
    c03 += a0 * b3;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c12 += a1 * b2;
    c13 += a1 * b3;
  }
  if (mr === MR && nr === NR) {
    c[ci] += c00;
    c[ci + 1] += c01;
    c[ci + 2] += c02;
    c[ci + 3] += c03;
    const ci1 = ci + ldc;
    c[ci1] += c10;
    c[ci1 + 1] += c11;
    c[ci1 + 2] += c12;
    c[ci1 + 3] += c13;
    return;
  }
  EDGE[0] = c00;
  EDGE[1] = c01;
  EDGE[2] = c02;
  EDGE[3] = c03;
  EDGE[4] = c10;
  EDGE[5] = c11;
  EDGE[6] = c12;
  EDGE[7] = c13;
  addEdgeTile(c, ci, ldc, mr, nr);
}

/**
 * The accumulators of an edge tile (in EDGE, row-major MR x NR) added to its mr x nr part of C;
 * the padded rows and columns of the packed panels hold zeros and are dropped here. A function
 * of its own: edge tiles are rare, and when this code sat inside microKernel, V8 often optimized
 * microKernel before any edge tile had run and then fell into a loop of deoptimizations ("no type
 * feedback") that left the whole GEMM about four times slower for the rest of the process.
 */
function addEdgeTile(c: Float32Array, ci: number, ldc: number, mr: number, nr: number): void {
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nr; j++) c[ci + r * ldc + j] += EDGE[r * NR + j];
  }
}
