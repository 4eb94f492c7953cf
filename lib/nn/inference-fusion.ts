/**
 * Inference fusion inside Sequential: a Conv2d followed by an activation layer and/or a pooling
 * layer runs as one kernel (conv2dFused) when no graph is being recorded, so the convolution's
 * output never makes a round trip through memory and the activation and pooling passes vanish.
 * The result equals running the layers one by one; any case the fused kernel does not cover
 * (a gradient to record, hooks, subclasses, 'same' padding with an uneven split, bad input)
 * returns null and the layers run as usual (and report their own errors).
 */
import { isGradEnabled } from '../autograd/engine.js';
import { conv2dGeometry, pool2dGeometry } from '../backend/geometry.js';
import { uninitializedFloat32 } from '../backend/buffers.js';
import { kernels } from '../backend/index.js';
import type { ConvEpilogue, FusedActivation, TensorLayout } from '../backend/kernels.js';
import { Tensor } from '../tensor.js';
import { Identity, LeakyReLU, ReLU, Sigmoid, Tanh } from './activation.js';
import { Conv2d } from './conv.js';
import type { Module } from './module.js';
import { AvgPool2d, MaxPool2d } from './pooling.js';

/**
 * Exactly this class (a subclass may override forward) with no hooks to call: a layer whose
 * output nothing outside Sequential can observe, so fusing it with its neighbours is invisible.
 */
export function isPlainLayer(
  m: Module | undefined,
  cls: abstract new (...args: never[]) => Module,
): boolean {
  return m !== undefined && m.constructor === cls && !m.hasForwardHooks();
}

/** A 4-D float32 tensor: what the fused layer paths take (anything else runs layer by layer). */
export function isFloatNchw(x: unknown): x is Tensor & { data: Float32Array } {
  return x instanceof Tensor && x.data instanceof Float32Array && x.ndim === 4;
}

function activationOf(m: Module | undefined): { name: FusedActivation; slope: number } | null {
  if (isPlainLayer(m, ReLU)) return { name: 'relu', slope: 0 };
  if (isPlainLayer(m, LeakyReLU))
    return { name: 'leakyRelu', slope: (m as LeakyReLU).negativeSlope };
  if (isPlainLayer(m, Sigmoid)) return { name: 'sigmoid', slope: 0 };
  if (isPlainLayer(m, Tanh)) return { name: 'tanh', slope: 0 };
  if (isPlainLayer(m, Identity)) return { name: 'none', slope: 0 };
  return null;
}

/** Symmetric padding of the conv, or null for 'same' padding that pads one side more. */
function convPadding(conv: Conv2d): [number, number] | null {
  if (conv.padding === 'valid') return [0, 0];
  if (conv.padding !== 'same') return conv.padding;
  const totalH = conv.dilation[0] * (conv.kernelSize[0] - 1);
  const totalW = conv.dilation[1] * (conv.kernelSize[1] - 1);
  if (totalH % 2 !== 0 || totalW % 2 !== 0) return null;
  return [totalH / 2, totalW / 2];
}

/** The conv, activation and pool layers a fused run starting at children[i] would take. */
function fusedRunAt(children: readonly Module[], i: number): { conv: Conv2d; next: number } | null {
  const conv = children[i];
  if (!isPlainLayer(conv, Conv2d) || conv.training || !(conv instanceof Conv2d)) return null;
  let next = i + 1;
  if (activationOf(children[next]) !== null) next++;
  if (isPlainLayer(children[next], MaxPool2d) || isPlainLayer(children[next], AvgPool2d)) next++;
  return next === i + 1 ? null : { conv, next };
}

/**
 * Whether children[i] starts a run that runFusedConv takes whatever its input (short of bad
 * input): the output of a fused run feeding it is then read by the fused kernel alone, so it may
 * live in a reused buffer and be channels-last (NHWC), the layout both kernels handle best.
 */
export function fusesAt(children: readonly Module[], i: number): boolean {
  const run = fusedRunAt(children, i);
  if (run === null || convPadding(run.conv) === null) return false;
  const { weight, bias } = run.conv;
  return !isGradEnabled() || !(weight.requiresGrad || (bias !== null && bias.requiresGrad));
}

/**
 * The layout in which the fused run at children[i] reads an input of this NCHW shape best, as
 * the backend says (NCHW when it does not say, or the shape does not fit the conv).
 */
export function fusedInputLayout(
  children: readonly Module[],
  i: number,
  shape: readonly number[],
): TensorLayout {
  const k = kernels();
  const run = fusedRunAt(children, i);
  if (k.conv2dFusedInputLayout === undefined || run === null) return 'nchw';
  const padding = convPadding(run.conv);
  if (padding === null) return 'nchw';
  try {
    const g = conv2dGeometry('conv2d', shape, run.conv.weight.shape, {
      stride: run.conv.stride,
      padding,
      dilation: run.conv.dilation,
      groups: run.conv.groups,
    });
    return k.conv2dFusedInputLayout(g);
  } catch {
    return 'nchw';
  }
}

/**
 * Runs children[i] (a Conv2d in evaluation mode) and the activation and pooling layers right
 * after it as one fused kernel; returns the output and the index of the next child to run, or
 * null when the fused path does not apply. `output(size, next, shape)` supplies the output
 * array (of NCHW shape `shape`) and its layout; `inputLayout` is x's (NHWC only from a fused run: x's shape stays NCHW).
 */
export function runFusedConv(
  children: readonly Module[],
  i: number,
  x: unknown,
  output: (size: number, next: number, shape: readonly number[]) => FusedOutput = (size) => ({
    data: uninitializedFloat32(size),
    layout: 'nchw',
  }),
  inputLayout: TensorLayout = 'nchw',
): { y: Tensor; next: number; layout: TensorLayout } | null {
  const run = fusedRunAt(children, i);
  if (run === null) return null;
  const { conv, next } = run;
  const act = activationOf(children[i + 1]);
  const poolLayer = children[next - 1];
  const pool = poolLayer instanceof MaxPool2d || poolLayer instanceof AvgPool2d ? poolLayer : null;

  if (!isFloatNchw(x)) return null;
  if (x.shape[1] !== conv.inChannels) return null;
  const w = conv.weight;
  const b = conv.bias;
  if (isGradEnabled() && (x.requiresGrad || w.requiresGrad || (b !== null && b.requiresGrad))) {
    return null;
  }
  const padding = convPadding(conv);
  if (padding === null) return null;
  let g;
  let e: ConvEpilogue;
  let outShape: number[];
  try {
    g = conv2dGeometry('conv2d', x.shape, w.shape, {
      stride: conv.stride,
      padding,
      dilation: conv.dilation,
      groups: conv.groups,
    });
    e = {
      activation: act?.name ?? 'none',
      negativeSlope: act?.slope ?? 0,
      pool: null,
      inputLayout,
    };
    outShape = [g.batch, g.outChannels, g.outHeight, g.outWidth];
    if (pool instanceof MaxPool2d || pool instanceof AvgPool2d) {
      const pg = pool2dGeometry(pool.typeName, outShape, pool.kernelSize, {
        stride: pool.stride,
        padding: pool.padding,
        countIncludePad: pool instanceof AvgPool2d ? pool.countIncludePad : true,
      });
      e.pool = { kind: pool instanceof MaxPool2d ? 'max' : 'avg', g: pg };
      outShape = [pg.batch, pg.channels, pg.outHeight, pg.outWidth];
    }
  } catch {
    return null;
  }
  const out = output(outShape[0] * outShape[1] * outShape[2] * outShape[3], next, outShape);
  e.outputLayout = out.layout;
  const y = out.data;
  kernels().conv2dFused(
    g,
    x.data,
    w.data as Float32Array,
    b === null ? null : (b.data as Float32Array),
    e,
    y,
  );
  return { y: new Tensor(y, outShape), next, layout: out.layout };
}

/** Where a fused run writes its output, and in which layout. */
export interface FusedOutput {
  data: Float32Array;
  layout: TensorLayout;
}

/**
 * An NCHW tensor from one whose data is channels-last (shape [N, C, H, W], data [N, H, W, C]):
 * for a fused output whose next fused run did not take it after all.
 */
export function nchwFromNhwc(t: Tensor): Tensor {
  const [n, c, h, w] = t.shape;
  const src = t.data as Float32Array;
  const dst = uninitializedFloat32(src.length);
  const p = h * w;
  for (let i = 0; i < n; i++) {
    const base = i * c * p;
    for (let q = 0; q < p; q++) {
      for (let ch = 0; ch < c; ch++) dst[base + ch * p + q] = src[base + q * c + ch];
    }
  }
  return new Tensor(dst, [n, c, h, w]);
}
