/** 2-D convolution (cross-correlation, as torch.nn.functional.conv2d), forward and backward. */
import { recordOp } from '../autograd/engine.js';
import { gradBuffer } from '../autograd/grad-buffers.js';
import { conv2dGeometry, pair, type Size2 } from '../backend/geometry.js';
import { uninitializedFloat32 } from '../backend/buffers.js';
import { kernels } from '../backend/index.js';
import type { Conv2dGeometry } from '../backend/kernels.js';
import { formatShape, Tensor } from '../tensor.js';
import { needsGrad, requireFloat, requireVector } from './tensor-checks.js';

export interface Conv2dFnOptions {
  stride?: Size2;
  /** Zero padding on each side, or 'valid' (none) or 'same' (output size = input size; stride 1 only). */
  padding?: Size2 | 'same' | 'valid';
  dilation?: Size2;
  groups?: number;
}

/**
 * How much of the output of a symmetrically padded convolution to drop at the top/left so that
 * 'same' padding with an odd total (even kernels) puts the extra row/column at the bottom/right,
 * as PyTorch does.
 */
interface SamePadding {
  padH: number;
  padW: number;
  cropH: number;
  cropW: number;
}

function samePadding(
  fn: string,
  kernelH: number,
  kernelW: number,
  opts: Conv2dFnOptions,
): SamePadding {
  const [sH, sW] = pair(fn, 'stride', opts.stride ?? 1, 1);
  if (sH !== 1 || sW !== 1) {
    throw new RangeError(
      `${fn}: padding 'same' needs stride 1, got stride ${JSON.stringify(opts.stride)}`,
    );
  }
  const [dH, dW] = pair(fn, 'dilation', opts.dilation ?? 1, 1);
  const totalH = dH * (kernelH - 1);
  const totalW = dW * (kernelW - 1);
  return {
    padH: Math.ceil(totalH / 2),
    padW: Math.ceil(totalW / 2),
    cropH: totalH % 2,
    cropW: totalW % 2,
  };
}

/** Copies the [cropH:, cropW:] corner of each plane of `src` (planes of h x w) into a new array. */
function cropPlanes(
  src: Float32Array,
  planes: number,
  h: number,
  w: number,
  cropH: number,
  cropW: number,
): Float32Array {
  const oh = h - cropH;
  const ow = w - cropW;
  const out = new Float32Array(planes * oh * ow);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < oh; i++) {
      const s = p * h * w + (i + cropH) * w + cropW;
      out.set(src.subarray(s, s + ow), p * oh * ow + i * ow);
    }
  }
  return out;
}

/** The inverse of cropPlanes: the cropped rows/columns receive zero gradient. */
function uncropPlanes(
  src: Float32Array,
  planes: number,
  h: number,
  w: number,
  cropH: number,
  cropW: number,
): Float32Array {
  const oh = h - cropH;
  const ow = w - cropW;
  const out = new Float32Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < oh; i++) {
      const d = p * h * w + (i + cropH) * w + cropW;
      out.set(src.subarray(p * oh * ow + i * ow, p * oh * ow + (i + 1) * ow), d);
    }
  }
  return out;
}

/**
 * y = conv2d(x, w) + b with x [N, C, H, W], w [O, C/groups, KH, KW] and b [O] (optional),
 * PyTorch semantics: cross-correlation, zero padding, output size
 * floor((in + 2*pad - dilation*(k-1) - 1) / stride) + 1.
 */
export function conv2d(
  x: Tensor,
  w: Tensor,
  b: Tensor | null = null,
  opts: Conv2dFnOptions = {},
): Tensor {
  const fn = 'conv2d';
  const xd = requireFloat(fn, 'input', x);
  const wd = requireFloat(fn, 'weight', w);
  if (x.ndim !== 4)
    throw new RangeError(`${fn}: input must be 4-D NCHW, got shape ${formatShape(x.shape)}`);
  if (w.ndim !== 4)
    throw new RangeError(`${fn}: weight must be 4-D OIHW, got shape ${formatShape(w.shape)}`);
  if (typeof opts !== 'object' || opts === null) {
    throw new TypeError(
      `${fn}: options must be an object, got ${opts === null ? 'null' : typeof opts}`,
    );
  }
  const bd =
    b === null || b === undefined
      ? null
      : requireVector(fn, 'bias', b, w.shape[0], 'one value per output channel');

  let crop = { cropH: 0, cropW: 0 };
  let padding: Size2;
  if (opts.padding === 'same') {
    const s = samePadding(fn, w.shape[2], w.shape[3], opts);
    padding = [s.padH, s.padW];
    crop = s;
  } else if (opts.padding === 'valid') {
    padding = 0;
  } else if (typeof opts.padding === 'string') {
    throw new RangeError(
      `${fn}: padding must be a number, a pair, 'same' or 'valid', got '${opts.padding}'`,
    );
  } else {
    padding = opts.padding ?? 0;
  }
  const g: Conv2dGeometry = conv2dGeometry(fn, x.shape, w.shape, {
    stride: opts.stride,
    padding,
    dilation: opts.dilation,
    groups: opts.groups,
  });

  const k = kernels();
  const full = uninitializedFloat32(g.batch * g.outChannels * g.outHeight * g.outWidth);
  k.conv2d(g, xd, wd, bd, full);
  const planes = g.batch * g.outChannels;
  const cropped = crop.cropH > 0 || crop.cropW > 0;
  const yd = cropped
    ? cropPlanes(full, planes, g.outHeight, g.outWidth, crop.cropH, crop.cropW)
    : full;
  const y = new Tensor(yd, [
    g.batch,
    g.outChannels,
    g.outHeight - crop.cropH,
    g.outWidth - crop.cropW,
  ]);

  const inputs = b === null || b === undefined ? [x, w] : [x, w, b];
  return recordOp(y, 'conv2d', inputs, (gy) => {
    const kb = kernels();
    const dy = cropped
      ? uncropPlanes(gy, planes, g.outHeight, g.outWidth, crop.cropH, crop.cropW)
      : gy;
    let dx: Float32Array | null = null;
    if (needsGrad(x)) {
      dx = gradBuffer(xd.length);
      kb.conv2dBackwardInput(g, dy, wd, dx);
    }
    let dw: Float32Array | null = null;
    let db: Float32Array | null = null;
    const wantB = bd !== null && needsGrad(b);
    if (needsGrad(w)) {
      dw = gradBuffer(wd.length);
      db = wantB ? new Float32Array(g.outChannels) : null;
      kb.conv2dBackwardWeight(g, xd, dy, dw, db);
    } else if (wantB) {
      db = new Float32Array(g.outChannels);
      kb.biasAddBackward(
        { outer: g.batch, channels: g.outChannels, inner: g.outHeight * g.outWidth },
        dy,
        db,
      );
    }
    return [dx, dw, db];
  });
}
