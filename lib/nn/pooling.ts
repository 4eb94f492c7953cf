/** Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, GlobalAvgPool2d. */
import type { Size2 } from '../backend/geometry.js';
import {
  adaptiveAvgPool2d,
  avgPool2d,
  globalAvgPool2d,
  maxPool2d,
  type AdaptiveSize,
} from '../functional/pooling.js';
import { formatShape, Tensor } from '../tensor.js';
import { Module } from './module.js';
import { boolOption, checkOptions, formatPair, size2 } from './options.js';

function require4d(name: string, x: Tensor): void {
  if (!(x instanceof Tensor))
    throw new TypeError(`${name}: input must be a Tensor, got ${typeof x}`);
  if (x.ndim !== 4)
    throw new RangeError(`${name}: expected 4-D NCHW input, got shape ${formatShape(x.shape)}`);
}

function poolGeometry(
  owner: string,
  kernelSize: Size2,
  stride: Size2 | undefined,
  padding: Size2 | undefined,
): { kernelSize: [number, number]; stride: [number, number]; padding: [number, number] } {
  const k = size2(owner, 'kernelSize', kernelSize, 1);
  const s = size2(owner, 'stride', stride ?? kernelSize, 1);
  const p = size2(owner, 'padding', padding ?? 0, 0);
  if (p[0] * 2 > k[0] || p[1] * 2 > k[1]) {
    throw new RangeError(
      `${owner}: padding must be at most half the kernel size, got padding ${formatPair(p)} for kernel ${formatPair(k)}`,
    );
  }
  return { kernelSize: k, stride: s, padding: p };
}

export interface MaxPool2dLayerOptions {
  /** Defaults to kernelSize. */
  stride?: Size2;
  padding?: Size2;
}

/** MaxPool2d(kernelSize, { stride = kernelSize, padding = 0 }), as torch.nn.MaxPool2d. */
export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(kernelSize: Size2, opts?: MaxPool2dLayerOptions) {
    super();
    const o = checkOptions('MaxPool2d', opts, ['stride', 'padding']);
    ({
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
    } = poolGeometry('MaxPool2d', kernelSize, o.stride, o.padding));
  }

  forward(x: Tensor): Tensor {
    require4d('MaxPool2d', x);
    return maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding });
  }

  override extraRepr(): string {
    return `kernelSize=${formatPair(this.kernelSize)}, stride=${formatPair(this.stride)}, padding=${formatPair(this.padding)}`;
  }
}

export interface AvgPool2dLayerOptions {
  stride?: Size2;
  padding?: Size2;
  /** Divide by the whole window including padding (default true, as PyTorch). */
  countIncludePad?: boolean;
}

/** AvgPool2d(kernelSize, { stride = kernelSize, padding = 0, countIncludePad = true }), as torch.nn.AvgPool2d. */
export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly countIncludePad: boolean;

  constructor(kernelSize: Size2, opts?: AvgPool2dLayerOptions) {
    super();
    const o = checkOptions('AvgPool2d', opts, ['stride', 'padding', 'countIncludePad']);
    ({
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
    } = poolGeometry('AvgPool2d', kernelSize, o.stride, o.padding));
    this.countIncludePad = boolOption('AvgPool2d', 'countIncludePad', o.countIncludePad, true);
  }

  forward(x: Tensor): Tensor {
    require4d('AvgPool2d', x);
    return avgPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      countIncludePad: this.countIncludePad,
    });
  }

  override extraRepr(): string {
    return `kernelSize=${formatPair(this.kernelSize)}, stride=${formatPair(this.stride)}, padding=${formatPair(this.padding)}${this.countIncludePad ? '' : ', countIncludePad=false'}`;
  }
}

/** AdaptiveAvgPool2d(outputSize), as torch.nn.AdaptiveAvgPool2d; a null entry keeps that input size. */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: AdaptiveSize;

  constructor(outputSize: AdaptiveSize) {
    super();
    const ok = (v: unknown): boolean =>
      v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 1);
    if (
      !(typeof outputSize === 'number'
        ? ok(outputSize)
        : Array.isArray(outputSize) && outputSize.length === 2 && outputSize.every(ok))
    ) {
      throw new RangeError(
        `AdaptiveAvgPool2d: outputSize must be a positive integer or a pair of them, got ${JSON.stringify(outputSize)}`,
      );
    }
    this.outputSize = typeof outputSize === 'number' ? outputSize : [outputSize[0], outputSize[1]];
  }

  forward(x: Tensor): Tensor {
    require4d('AdaptiveAvgPool2d', x);
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `outputSize=${JSON.stringify(this.outputSize)}`;
  }
}

/**
 * GlobalAvgPool2d({ keepDims = false }): the mean of each channel, [N, C, H, W] -> [N, C]
 * (Keras' GlobalAveragePooling2D), or [N, C, 1, 1] with keepDims.
 */
export class GlobalAvgPool2d extends Module {
  readonly keepDims: boolean;

  constructor(opts?: { keepDims?: boolean }) {
    super();
    const o = checkOptions('GlobalAvgPool2d', opts, ['keepDims']);
    this.keepDims = boolOption('GlobalAvgPool2d', 'keepDims', o.keepDims, false);
  }

  forward(x: Tensor): Tensor {
    require4d('GlobalAvgPool2d', x);
    return globalAvgPool2d(x, { keepDims: this.keepDims });
  }

  override extraRepr(): string {
    return this.keepDims ? 'keepDims=true' : '';
  }
}
