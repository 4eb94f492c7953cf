/**
 * Matrix product with torch.matmul's semantics, computed by the active backend's gemm.
 */
import { recordOp } from '../autograd/engine.js';
import { kernels } from '../backend/index.js';
import { Tensor, formatShape, shapeSize } from '../tensor.js';
import { broadcastShapes, contiguousStrides, requireTensor } from './shape.js';

/** Matrix-unit offsets (batch index * m * k) of each output batch into an operand that broadcasts. */
function batchOffsets(
  outBatch: readonly number[],
  batch: readonly number[],
  matSize: number,
): Int32Array {
  const count = shapeSize(outBatch);
  const offs = new Int32Array(count);
  const rank = outBatch.length;
  const full = contiguousStrides(batch);
  const strides = outBatch.map((_, d) => {
    const bd = d - (rank - batch.length);
    return bd < 0 || batch[bd] === 1 ? 0 : full[bd] * matSize;
  });
  const counter = new Array<number>(rank).fill(0);
  let cur = 0;
  for (let i = 0; i < count; i++) {
    offs[i] = cur;
    for (let d = rank - 1; d >= 0; d--) {
      cur += strides[d];
      if (++counter[d] < outBatch[d]) break;
      cur -= strides[d] * outBatch[d];
      counter[d] = 0;
    }
  }
  return offs;
}

/**
 * The matrix product of a and b, as torch.matmul:
 * - 1-D · 1-D: the dot product (a 0-d tensor);
 * - 2-D · 2-D: the matrix product [m,k]·[k,n] = [m,n];
 * - a 1-D operand is promoted to a matrix ([k] -> [1,k] on the left, [k,1] on the right) and the
 *   added dimension removed from the result;
 * - N-D: a batch of matrix products over the leading dimensions, which broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireTensor('matmul', 'a', a);
  requireTensor('matmul', 'b', b);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new RangeError(
      `matmul: both operands need at least 1 dimension, got shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}; use mul for scalars`,
    );
  }
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new TypeError(`matmul: operands must be float32, got ${a.dtype} and ${b.dtype}`);
  }
  const aShape = a.ndim === 1 ? [1, a.shape[0]] : [...a.shape];
  const bShape = b.ndim === 1 ? [b.shape[0], 1] : [...b.shape];
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const n = bShape[bShape.length - 1];
  if (bShape[bShape.length - 2] !== k) {
    throw new RangeError(
      `matmul: inner dimensions differ: a ${formatShape(a.shape)} has ${k} columns but b ${formatShape(b.shape)} has ${bShape[bShape.length - 2]} rows`,
    );
  }
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  let outBatch: number[];
  try {
    outBatch = broadcastShapes('matmul', aBatch, bBatch);
  } catch {
    throw new RangeError(
      `matmul: cannot broadcast the batch dimensions of shapes ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  const outShape = [...outBatch];
  if (a.ndim > 1) outShape.push(m);
  if (b.ndim > 1) outShape.push(n);

  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  const count = shapeSize(outBatch);
  const C = new Float32Array(count * m * n);
  const K = kernels();
  const mm = m * k;
  const kn = k * n;
  const mn = m * n;
  // An empty product is all zeros (and all-zero gradients); not every backend's gemm takes 0 sizes.
  const empty = count * m * n * k === 0;
  // A single right-hand matrix: fold a's batch into the rows, one gemm for the whole batch.
  const folded = shapeSize(bBatch) === 1;
  let aOffs: Int32Array | null = null;
  let bOffs: Int32Array | null = null;
  if (empty) {
    // C is already zeros.
  } else if (folded) {
    K.gemm({ transA: false, transB: false, m: count * m, n, k, alpha: 1, beta: 0 }, A, B, C);
  } else {
    aOffs = batchOffsets(outBatch, aBatch, mm);
    bOffs = batchOffsets(outBatch, bBatch, kn);
    const p = { transA: false, transB: false, m, n, k, alpha: 1, beta: 0 };
    for (let i = 0; i < count; i++) {
      K.gemm(
        p,
        A.subarray(aOffs[i], aOffs[i] + mm),
        B.subarray(bOffs[i], bOffs[i] + kn),
        C.subarray(i * mn, i * mn + mn),
      );
    }
  }

  const out = new Tensor(C, outShape);
  return recordOp(out, 'matmul', [a, b], (g) => {
    const KB = kernels();
    let dA: Float32Array | null = null;
    let dB: Float32Array | null = null;
    if (empty) {
      return [
        a.requiresGrad ? new Float32Array(A.length) : null,
        b.requiresGrad ? new Float32Array(B.length) : null,
      ];
    }
    if (folded) {
      // dA = dC · Bᵀ, dB = Aᵀ · dC, with the batch folded into the rows.
      if (a.requiresGrad) {
        dA = new Float32Array(A.length);
        KB.gemm(
          { transA: false, transB: true, m: count * m, n: k, k: n, alpha: 1, beta: 0 },
          g,
          B,
          dA,
        );
      }
      if (b.requiresGrad) {
        dB = new Float32Array(B.length);
        KB.gemm(
          { transA: true, transB: false, m: k, n, k: count * m, alpha: 1, beta: 0 },
          A,
          g,
          dB,
        );
      }
      return [dA, dB];
    }
    // Batches that share an operand (broadcast) add their contributions: beta = 1.
    const pa = { transA: false, transB: true, m, n: k, k: n, alpha: 1, beta: 1 };
    const pb = { transA: true, transB: false, m: k, n, k: m, alpha: 1, beta: 1 };
    if (a.requiresGrad) dA = new Float32Array(A.length);
    if (b.requiresGrad) dB = new Float32Array(B.length);
    for (let i = 0; i < count; i++) {
      const gi = g.subarray(i * mn, i * mn + mn);
      const ao = aOffs![i];
      const bo = bOffs![i];
      if (dA !== null) KB.gemm(pa, gi, B.subarray(bo, bo + kn), dA.subarray(ao, ao + mm));
      if (dB !== null) KB.gemm(pb, A.subarray(ao, ao + mm), gi, dB.subarray(bo, bo + kn));
    }
    return [dA, dB];
  });
}
