/** The fully connected layer's op: y = x · wᵀ + b, as torch.nn.functional.linear. */
import { recordOp } from '../autograd/engine.js';
import { gradBuffer } from '../autograd/grad-buffers.js';
import { uninitializedFloat32 } from '../backend/buffers.js';
import { kernels } from '../backend/index.js';
import { formatShape, Tensor } from '../tensor.js';
import { needsGrad, requireFloat, requireVector } from './tensor-checks.js';

/**
 * y = x · wᵀ + b with x [..., in], w [out, in] (PyTorch's layout) and b [out]; y is [..., out].
 * A 1-D x ([in]) gives a 1-D y ([out]).
 */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null): Tensor {
  const fn = 'linear';
  const xd = requireFloat(fn, 'input', x);
  const wd = requireFloat(fn, 'weight', w);
  if (w.ndim !== 2) {
    throw new RangeError(
      `${fn}: weight must be 2-D [outFeatures, inFeatures], got shape ${formatShape(w.shape)}`,
    );
  }
  const [outF, inF] = w.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new RangeError(
      `${fn}: input must have shape [..., ${inF}] to match weight ${formatShape(w.shape)}, got shape ${formatShape(x.shape)}`,
    );
  }
  const bd =
    b === null || b === undefined
      ? null
      : requireVector(fn, 'bias', b, outF, 'one value per output feature');
  const rowCount = x.ndim === 1 ? 1 : x.shape.slice(0, -1).reduce((a, d) => a * d, 1);
  const k = kernels();
  const yd = uninitializedFloat32(rowCount * outF);
  if (rowCount > 0 && outF > 0) {
    k.gemm(
      { transA: false, transB: true, m: rowCount, n: outF, k: inF, alpha: 1, beta: 0 },
      xd,
      wd,
      yd,
    );
    if (bd !== null) k.biasAdd({ outer: rowCount, channels: outF, inner: 1 }, yd, bd, yd);
  }
  const y = new Tensor(yd, [...x.shape.slice(0, -1), outF]);
  const inputs = bd === null ? [x, w] : [x, w, b as Tensor];
  return recordOp(y, 'linear', inputs, (gy) => {
    const kb = kernels();
    let dx: Float32Array | null = null;
    let dw: Float32Array | null = null;
    let db: Float32Array | null = null;
    // gradBuffer's contents are unspecified: only when the product runs is every element written.
    const product = rowCount > 0 && inF > 0 && outF > 0;
    if (needsGrad(x)) {
      dx = product ? gradBuffer(xd.length) : new Float32Array(xd.length);
      if (product) {
        kb.gemm(
          { transA: false, transB: false, m: rowCount, n: inF, k: outF, alpha: 1, beta: 0 },
          gy,
          wd,
          dx,
        );
      }
    }
    if (needsGrad(w)) {
      dw = product ? gradBuffer(wd.length) : new Float32Array(wd.length);
      if (product) {
        kb.gemm(
          { transA: true, transB: false, m: outF, n: inF, k: rowCount, alpha: 1, beta: 0 },
          gy,
          xd,
          dw,
        );
      }
    }
    if (bd !== null && needsGrad(b)) {
      db = new Float32Array(outF);
      if (rowCount > 0) kb.biasAddBackward({ outer: rowCount, channels: outF, inner: 1 }, gy, db);
    }
    return [dx, dw, db];
  });
}
