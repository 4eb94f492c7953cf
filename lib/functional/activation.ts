/** Activation functions and (log-)softmax along any axis. */
import { recordOp } from '../autograd/engine.js';
import { gradBuffer } from '../autograd/grad-buffers.js';
import { uninitializedFloat32 } from '../backend/buffers.js';
import { kernels } from '../backend/index.js';
import type { RowsGeometry } from '../backend/kernels.js';
import { Tensor } from '../tensor.js';
import { normalizeAxis } from './shape.js';
import { requireFloat } from './tensor-checks.js';

export function relu(x: Tensor): Tensor {
  const xd = requireFloat('relu', 'input', x);
  const yd = uninitializedFloat32(xd.length);
  kernels().relu(xd, yd);
  return recordOp(new Tensor(yd, x.shape), 'relu', [x], (gy) => {
    const dx = gradBuffer(xd.length);
    kernels().reluBackward(xd, gy, dx);
    return [dx];
  });
}

/** max(x, 0) + slope * min(x, 0); PyTorch's default slope is 0.01. */
export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  const xd = requireFloat('leakyRelu', 'input', x);
  if (typeof slope !== 'number' || !Number.isFinite(slope)) {
    throw new RangeError(`leakyRelu: slope must be a finite number, got ${String(slope)}`);
  }
  const yd = uninitializedFloat32(xd.length);
  kernels().leakyRelu(xd, yd, slope);
  return recordOp(new Tensor(yd, x.shape), 'leakyRelu', [x], (gy) => {
    const dx = gradBuffer(xd.length);
    kernels().leakyReluBackward(xd, gy, dx, slope);
    return [dx];
  });
}

export function sigmoid(x: Tensor): Tensor {
  const xd = requireFloat('sigmoid', 'input', x);
  const yd = uninitializedFloat32(xd.length);
  kernels().sigmoid(xd, yd);
  return recordOp(new Tensor(yd, x.shape), 'sigmoid', [x], (gy) => {
    const dx = gradBuffer(xd.length);
    kernels().sigmoidBackward(yd, gy, dx);
    return [dx];
  });
}

export function tanh(x: Tensor): Tensor {
  const xd = requireFloat('tanh', 'input', x);
  const yd = uninitializedFloat32(xd.length);
  kernels().tanh(xd, yd);
  return recordOp(new Tensor(yd, x.shape), 'tanh', [x], (gy) => {
    const dx = gradBuffer(xd.length);
    kernels().tanhBackward(yd, gy, dx);
    return [dx];
  });
}

/**
 * Copies a [outer, a, b] array to [outer, b, a]. Softmax along a middle axis runs as: swap that
 * axis to the end, run the row kernel, swap back; the swap is its own inverse with a and b exchanged.
 */
function swapInner(src: Float32Array, outer: number, a: number, b: number): Float32Array {
  const dst = new Float32Array(src.length);
  const block = a * b;
  for (let o = 0; o < outer; o++) {
    const base = o * block;
    for (let i = 0; i < a; i++) {
      for (let j = 0; j < b; j++) dst[base + j * a + i] = src[base + i * b + j];
    }
  }
  return dst;
}

type RowKernel = (g: RowsGeometry, x: Float32Array, y: Float32Array) => void;
type RowBackwardKernel = (
  g: RowsGeometry,
  y: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
) => void;

function softmaxAlong(
  fn: 'softmax' | 'logSoftmax',
  x: Tensor,
  axis: number,
  forward: (k: ReturnType<typeof kernels>) => RowKernel,
  backward: (k: ReturnType<typeof kernels>) => RowBackwardKernel,
): Tensor {
  const xd = requireFloat(fn, 'input', x);
  const ax = normalizeAxis(fn, 'axis', axis, x.ndim);
  const n = x.shape[ax];
  const inner = x.shape.slice(ax + 1).reduce((p, d) => p * d, 1);
  const outer = x.shape.slice(0, ax).reduce((p, d) => p * d, 1);
  const g: RowsGeometry = { rows: outer * inner, cols: n };
  const k = kernels();
  let yd: Float32Array;
  if (inner === 1) {
    yd = uninitializedFloat32(xd.length);
    if (xd.length > 0) forward(k).call(k, g, xd, yd);
  } else {
    const rowsY = new Float32Array(xd.length);
    forward(k).call(k, g, swapInner(xd, outer, n, inner), rowsY);
    yd = swapInner(rowsY, outer, inner, n);
  }
  return recordOp(new Tensor(yd, x.shape), fn, [x], (gy) => {
    const kb = kernels();
    if (inner === 1) {
      const dx = gradBuffer(xd.length);
      if (xd.length > 0) backward(kb).call(kb, g, yd, gy, dx);
      return [dx];
    }
    const rowsDx = new Float32Array(xd.length);
    backward(kb).call(
      kb,
      g,
      swapInner(yd, outer, n, inner),
      swapInner(gy, outer, n, inner),
      rowsDx,
    );
    return [swapInner(rowsDx, outer, inner, n)];
  });
}

/** exp(x) / sum(exp(x)) along `axis` (default the last), computed stably. */
export function softmax(x: Tensor, axis = -1): Tensor {
  return softmaxAlong(
    'softmax',
    x,
    axis,
    (k) => k.softmax,
    (k) => k.softmaxBackward,
  );
}

/** x - logsumexp(x) along `axis` (default the last), computed stably. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return softmaxAlong(
    'logSoftmax',
    x,
    axis,
    (k) => k.logSoftmax,
    (k) => k.logSoftmaxBackward,
  );
}
