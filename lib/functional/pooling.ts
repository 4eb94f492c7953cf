/** 2-D pooling over NCHW tensors: max, average, adaptive average and global average. */
import { isGradEnabled, recordOp } from '../autograd/engine.js';
import { gradBuffer, releaseGradBuffer } from '../autograd/grad-buffers.js';
import { pool2dGeometry, type Size2 } from '../backend/geometry.js';
import { uninitializedFloat32, uninitializedInt32 } from '../backend/buffers.js';
import { kernels } from '../backend/index.js';
import type { Pool2dGeometry } from '../backend/kernels.js';
import { formatShape, Tensor } from '../tensor.js';
import { requireFloat } from './tensor-checks.js';

export interface MaxPool2dOptions {
  /** Defaults to the kernel size (non-overlapping windows), as in PyTorch. */
  stride?: Size2;
  /** Implicit -Infinity padding on each side, at most half the kernel. */
  padding?: Size2;
}

export interface AvgPool2dOptions {
  stride?: Size2;
  padding?: Size2;
  /** Divide by the whole window, padding included (PyTorch's default, true), or by the valid part. */
  countIncludePad?: boolean;
}

function requireNchw(fn: string, x: unknown): Float32Array {
  const d = requireFloat(fn, 'input', x);
  const t = x as Tensor;
  if (t.ndim !== 4)
    throw new RangeError(`${fn}: input must be 4-D NCHW, got shape ${formatShape(t.shape)}`);
  return d;
}

function requireOptions(fn: string, opts: unknown): void {
  if (typeof opts !== 'object' || opts === null) {
    throw new TypeError(
      `${fn}: options must be an object, got ${opts === null ? 'null' : typeof opts}`,
    );
  }
}

/** The max pooling of x with the winners' positions, and its geometry (for both max-pool ops). */
function maxPoolForward(
  fn: string,
  x: Tensor,
  kernelSize: Size2,
  opts: MaxPool2dOptions,
): {
  xd: Float32Array;
  g: Pool2dGeometry;
  pooled: Float32Array;
  argmax: Int32Array;
  shape: number[];
} {
  const xd = requireNchw(fn, x);
  requireOptions(fn, opts);
  const g = pool2dGeometry(fn, x.shape, kernelSize, { stride: opts.stride, padding: opts.padding });
  const n = g.batch * g.channels * g.outHeight * g.outWidth;
  const pooled = uninitializedFloat32(n);
  const argmax = uninitializedInt32(n);
  kernels().maxPool2d(g, xd, pooled, argmax);
  return { xd, g, pooled, argmax, shape: [g.batch, g.channels, g.outHeight, g.outWidth] };
}

/** Max over each kernelSize window; the winners' positions are kept for the backward pass. */
export function maxPool2d(x: Tensor, kernelSize: Size2, opts: MaxPool2dOptions = {}): Tensor {
  const { xd, g, pooled, argmax, shape } = maxPoolForward('maxPool2d', x, kernelSize, opts);
  return recordOp(new Tensor(pooled, shape), 'maxPool2d', [x], (gy) => {
    const dx = gradBuffer(xd.length);
    kernels().maxPool2dBackward(g, gy, argmax, dx);
    return [dx];
  });
}

/**
 * maxPool2d(relu(x)) as one op. ReLU commutes with max, so this pools x and applies ReLU to the
 * pooled result (a quarter of x's size for 2x2 windows): the full-size ReLU output, its pass over
 * memory and its backward pass never happen. The backward pass scatters dy to the winners whose
 * value was positive. For finite inputs, outputs and gradients equal the two ops in sequence
 * (where a window holds no positive value both give 0 and no gradient). nn.Sequential uses it for
 * a ReLU layer followed by a MaxPool2d layer.
 */
export function reluMaxPool2d(x: Tensor, kernelSize: Size2, opts: MaxPool2dOptions = {}): Tensor {
  const { xd, g, pooled, argmax, shape } = maxPoolForward('reluMaxPool2d', x, kernelSize, opts);
  const n = pooled.length;
  const k = kernels();
  if (!isGradEnabled() || !x.requiresGrad) {
    k.relu(pooled, pooled);
    return new Tensor(pooled, shape);
  }
  const yd = uninitializedFloat32(n);
  k.relu(pooled, yd);
  return recordOp(new Tensor(yd, shape), 'reluMaxPool2d', [x], (gy) => {
    const kb = kernels();
    const masked = gradBuffer(n);
    kb.reluBackward(pooled, gy, masked);
    const dx = gradBuffer(xd.length);
    kb.maxPool2dBackward(g, masked, argmax, dx);
    releaseGradBuffer(masked.buffer); // local to this rule: nothing else refers to it
    return [dx];
  });
}

/** Mean over each kernelSize window. */
export function avgPool2d(x: Tensor, kernelSize: Size2, opts: AvgPool2dOptions = {}): Tensor {
  const fn = 'avgPool2d';
  const xd = requireNchw(fn, x);
  requireOptions(fn, opts);
  if (opts.countIncludePad !== undefined && typeof opts.countIncludePad !== 'boolean') {
    throw new TypeError(
      `${fn}: countIncludePad must be a boolean, got ${JSON.stringify(opts.countIncludePad)}`,
    );
  }
  const g = pool2dGeometry(fn, x.shape, kernelSize, opts);
  const yd = uninitializedFloat32(g.batch * g.channels * g.outHeight * g.outWidth);
  kernels().avgPool2d(g, xd, yd);
  const y = new Tensor(yd, [g.batch, g.channels, g.outHeight, g.outWidth]);
  return recordOp(y, 'avgPool2d', [x], (gy) => {
    const dx = gradBuffer(xd.length);
    kernels().avgPool2dBackward(g, gy, dx);
    return [dx];
  });
}

/** An output size for adaptive pooling: one number, or [height, width] where null keeps the input's size. */
export type AdaptiveSize = number | readonly [number | null, number | null];

function adaptiveSize(fn: string, size: AdaptiveSize, inH: number, inW: number): [number, number] {
  const raw =
    typeof size === 'number'
      ? [size, size]
      : Array.isArray(size) && size.length === 2
        ? size
        : null;
  if (raw === null) {
    throw new RangeError(
      `${fn}: outputSize must be a positive integer or a pair of them, got ${JSON.stringify(size)}`,
    );
  }
  const out: [number, number] = [raw[0] ?? inH, raw[1] ?? inW];
  if (!out.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new RangeError(
      `${fn}: outputSize must be a positive integer or a pair of them, got ${JSON.stringify(size)}`,
    );
  }
  return out;
}

/**
 * Average pooling to a fixed output size. Window i along an axis of length L covers
 * [floor(i*L/out), ceil((i+1)*L/out)), PyTorch's formula; windows may differ in size and overlap.
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  const fn = 'adaptiveAvgPool2d';
  const xd = requireNchw(fn, x);
  const [N, C, H, W] = x.shape;
  const [OH, OW] = adaptiveSize(fn, outputSize, H, W);
  if (OH === 1 && OW === 1 && H * W > 0) return planeMeans(x, true, 'adaptiveAvgPool2d');
  if (H % OH === 0 && W % OW === 0) {
    // Equal windows: the avgPool2d kernels do exactly this, faster.
    return avgPool2d(x, [H / OH, W / OW]);
  }
  const hStart = new Int32Array(OH);
  const hEnd = new Int32Array(OH);
  const wStart = new Int32Array(OW);
  const wEnd = new Int32Array(OW);
  for (let i = 0; i < OH; i++) {
    hStart[i] = Math.floor((i * H) / OH);
    hEnd[i] = Math.ceil(((i + 1) * H) / OH);
  }
  for (let j = 0; j < OW; j++) {
    wStart[j] = Math.floor((j * W) / OW);
    wEnd[j] = Math.ceil(((j + 1) * W) / OW);
  }
  const planes = N * C;
  const yd = new Float32Array(planes * OH * OW);
  for (let p = 0; p < planes; p++) {
    const xo = p * H * W;
    const yo = p * OH * OW;
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        let s = 0;
        for (let h = hStart[i]; h < hEnd[i]; h++) {
          for (let w = wStart[j]; w < wEnd[j]; w++) s += xd[xo + h * W + w];
        }
        yd[yo + i * OW + j] = s / ((hEnd[i] - hStart[i]) * (wEnd[j] - wStart[j]));
      }
    }
  }
  const y = new Tensor(yd, [N, C, OH, OW]);
  return recordOp(y, 'adaptiveAvgPool2d', [x], (gy) => {
    const dx = new Float32Array(xd.length);
    for (let p = 0; p < planes; p++) {
      const xo = p * H * W;
      const yo = p * OH * OW;
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          const v = gy[yo + i * OW + j] / ((hEnd[i] - hStart[i]) * (wEnd[j] - wStart[j]));
          for (let h = hStart[i]; h < hEnd[i]; h++) {
            for (let w = wStart[j]; w < wEnd[j]; w++) dx[xo + h * W + w] += v;
          }
        }
      }
    }
    return [dx];
  });
}

/**
 * The mean of each channel plane: [N, C, H, W] -> [N, C] (Keras' GlobalAveragePooling2D), or
 * [N, C, 1, 1] with keepDims.
 */
export function globalAvgPool2d(x: Tensor, opts: { keepDims?: boolean } = {}): Tensor {
  const fn = 'globalAvgPool2d';
  requireNchw(fn, x);
  requireOptions(fn, opts);
  return planeMeans(x, opts.keepDims === true, 'globalAvgPool2d');
}

/** The mean of each of x's N*C planes, as [N, C] or [N, C, 1, 1]; x is checked by the caller. */
function planeMeans(x: Tensor, keepDims: boolean, name: string): Tensor {
  const xd = x.data as Float32Array;
  const [N, C, H, W] = x.shape;
  const g = { rows: N * C, cols: H * W };
  if (g.rows > 0 && g.cols === 0) {
    throw new RangeError(
      `${name}: input planes must not be empty (H*W >= 1), got shape ${formatShape(x.shape)}`,
    );
  }
  const yd = uninitializedFloat32(N * C);
  if (g.rows > 0) kernels().globalAvgPool(g, xd, yd);
  const y = new Tensor(yd, keepDims ? [N, C, 1, 1] : [N, C]);
  return recordOp(y, name, [x], (gy) => {
    const dx = gradBuffer(xd.length);
    if (g.rows > 0) kernels().globalAvgPoolBackward(g, gy, dx);
    return [dx];
  });
}
