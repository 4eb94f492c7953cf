/**
 * conv2dFused for the TS backend: the convolution, activation and pooling kernels in turn, a few
 * images at a time so the intermediate stays small (and in cache), with the same values as
 * calling them separately over the whole batch.
 */
import type { Conv2dGeometry, ConvEpilogue, Pool2dGeometry, TensorLayout } from '../kernels.js';
import { requireLength } from './check.js';
import { conv2d } from './conv2d.js';
import { leakyRelu, relu, sigmoid, tanh } from './elementwise.js';
import { avgPool2d, maxPool2d } from './pool2d.js';
import { scratchF32 } from './scratch.js';

const fn = 'conv2dFused';
const ACTIVATIONS = ['none', 'relu', 'leakyRelu', 'sigmoid', 'tanh'];
/** Floats of convolution output per chunk of images. */
const CHUNK_FLOATS = 1 << 18;

function checkEpilogue(g: Conv2dGeometry, e: ConvEpilogue): Pool2dGeometry | null {
  if (typeof e !== 'object' || e === null) {
    throw new TypeError(
      `${fn}: e must be a ConvEpilogue object, got ${e === null ? 'null' : typeof e}`,
    );
  }
  if (!ACTIVATIONS.includes(e.activation)) {
    throw new RangeError(
      `${fn}: e.activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(e.activation)}`,
    );
  }
  if (e.activation === 'leakyRelu' && !Number.isFinite(e.negativeSlope)) {
    throw new RangeError(
      `${fn}: e.negativeSlope must be a finite number, got ${String(e.negativeSlope)}`,
    );
  }
  for (const [name, layout] of [
    ['inputLayout', e.inputLayout],
    ['outputLayout', e.outputLayout],
  ] as const) {
    if (layout !== undefined && layout !== 'nchw' && layout !== 'nhwc') {
      throw new RangeError(
        `${fn}: e.${name} must be 'nchw' or 'nhwc', got ${JSON.stringify(layout)}`,
      );
    }
  }
  if (e.pool === null || e.pool === undefined) return null;
  if (e.pool.kind !== 'max' && e.pool.kind !== 'avg') {
    throw new RangeError(
      `${fn}: e.pool.kind must be 'max' or 'avg', got ${JSON.stringify(e.pool.kind)}`,
    );
  }
  const p = e.pool.g;
  if (
    p.batch !== g.batch ||
    p.channels !== g.outChannels ||
    p.inHeight !== g.outHeight ||
    p.inWidth !== g.outWidth
  ) {
    throw new RangeError(
      `${fn}: e.pool.g must pool the convolution's output [${g.batch}, ${g.outChannels}, ${g.outHeight}, ${g.outWidth}], got [${p.batch}, ${p.channels}, ${p.inHeight}, ${p.inWidth}]`,
    );
  }
  return p;
}

/** n images of c x p: dst[i][c][p] = src[i][p][c] (toNchw) or the other way round. */
function transposeImages(
  toNchw: boolean,
  n: number,
  c: number,
  p: number,
  src: Float32Array,
  dst: Float32Array,
): void {
  for (let i = 0; i < n; i++) {
    const base = i * c * p;
    for (let ch = 0; ch < c; ch++) {
      for (let q = 0; q < p; q++) {
        if (toNchw) dst[base + ch * p + q] = src[base + q * c + ch];
        else dst[base + q * c + ch] = src[base + ch * p + q];
      }
    }
  }
}

function isNhwc(layout: TensorLayout | undefined): boolean {
  return layout === 'nhwc';
}

function activate(e: ConvEpilogue, v: Float32Array): void {
  switch (e.activation) {
    case 'relu':
      relu(v, v);
      break;
    case 'leakyRelu':
      leakyRelu(v, v, e.negativeSlope);
      break;
    case 'sigmoid':
      sigmoid(v, v);
      break;
    case 'tanh':
      tanh(v, v);
      break;
    default:
      break;
  }
}

export function conv2dFused(
  g: Conv2dGeometry,
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  e: ConvEpilogue,
  y: Float32Array,
): void {
  const pg = checkEpilogue(g, e);
  const inImage = g.inChannels * g.inHeight * g.inWidth;
  const convImage = g.outChannels * g.outHeight * g.outWidth;
  const outImage = pg === null ? convImage : pg.channels * pg.outHeight * pg.outWidth;
  requireLength(fn, 'x', x, g.batch * inImage);
  requireLength(fn, 'y', y, g.batch * outImage);
  const chunk = Math.max(1, Math.min(g.batch, Math.floor(CHUNK_FLOATS / Math.max(convImage, 1))));
  const outPixels = pg === null ? g.outHeight * g.outWidth : pg.outHeight * pg.outWidth;
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const nb = Math.min(chunk, g.batch - n0);
    let xs = x.subarray(n0 * inImage, (n0 + nb) * inImage);
    if (isNhwc(e.inputLayout)) {
      const t = scratchF32('fused.input', xs.length).subarray(0, xs.length);
      transposeImages(true, nb, g.inChannels, g.inHeight * g.inWidth, xs, t);
      xs = t;
    }
    const yOut = y.subarray(n0 * outImage, (n0 + nb) * outImage);
    const ys = isNhwc(e.outputLayout)
      ? scratchF32('fused.output', yOut.length).subarray(0, yOut.length)
      : yOut;
    const cg: Conv2dGeometry = { ...g, batch: nb };
    if (pg === null) {
      conv2d(cg, xs, w, bias, ys);
      activate(e, ys.subarray(0, nb * convImage));
    } else {
      const z = scratchF32('fused.conv', nb * convImage).subarray(0, nb * convImage);
      conv2d(cg, xs, w, bias, z);
      activate(e, z);
      const pc: Pool2dGeometry = { ...pg, batch: nb };
      if (e.pool!.kind === 'max') {
        // Not kept: inference has no backward pass.
        const argmax = new Int32Array(scratchF32('fused.argmax', ys.length).buffer, 0, ys.length);
        maxPool2d(pc, z, ys, argmax);
      } else {
        avgPool2d(pc, z, ys);
      }
    }
    if (isNhwc(e.outputLayout)) transposeImages(false, nb, g.outChannels, outPixels, ys, yOut);
  }
}
