import type { Conv2dGeometry, Pool2dGeometry } from './kernels.js';

/** A size given as one number for both axes, or as [height, width]. */
export type Size2 = number | readonly [number, number];

export function pair(fn: string, name: string, v: Size2, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (
    (typeof v !== 'number' && (!Array.isArray(v) || v.length !== 2)) ||
    !p.every((x) => Number.isInteger(x) && x >= min)
  ) {
    throw new RangeError(
      `${fn}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`,
    );
  }
  return p;
}

/** PyTorch's output-size formula: floor((in + 2*pad - dilation*(k-1) - 1) / stride) + 1. */
export function convOutputSize(
  inSize: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation: number,
): number {
  return Math.floor((inSize + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;
}

export interface Conv2dOptions {
  stride?: Size2;
  padding?: Size2;
  dilation?: Size2;
  groups?: number;
}

/**
 * The one place convolution geometry is computed and validated.
 * inputShape: [N, C, H, W]; weightShape: [O, C/groups, KH, KW].
 */
export function conv2dGeometry(
  fn: string,
  inputShape: readonly number[],
  weightShape: readonly number[],
  opts: Conv2dOptions = {},
): Conv2dGeometry {
  if (inputShape.length !== 4) {
    throw new RangeError(`${fn}: input must be 4-D NCHW, got shape [${inputShape.join(',')}]`);
  }
  if (weightShape.length !== 4) {
    throw new RangeError(`${fn}: weight must be 4-D OIHW, got shape [${weightShape.join(',')}]`);
  }
  const [strideH, strideW] = pair(fn, 'stride', opts.stride ?? 1, 1);
  const [padH, padW] = pair(fn, 'padding', opts.padding ?? 0, 0);
  const [dilationH, dilationW] = pair(fn, 'dilation', opts.dilation ?? 1, 1);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new RangeError(`${fn}: groups must be a positive integer, got ${groups}`);
  }
  const [batch, inChannels, inHeight, inWidth] = inputShape;
  const [outChannels, wInPerGroup, kernelH, kernelW] = weightShape;
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new RangeError(
      `${fn}: groups (${groups}) must divide both input channels (${inChannels}) and output channels (${outChannels})`,
    );
  }
  if (wInPerGroup * groups !== inChannels) {
    throw new RangeError(
      `${fn}: weight shape [${weightShape.join(',')}] expects ${wInPerGroup * groups} input channels (groups=${groups}), got input shape [${inputShape.join(',')}]`,
    );
  }
  const outHeight = convOutputSize(inHeight, kernelH, strideH, padH, dilationH);
  const outWidth = convOutputSize(inWidth, kernelW, strideW, padW, dilationW);
  if (outHeight < 1 || outWidth < 1) {
    throw new RangeError(
      `${fn}: kernel ${kernelH}x${kernelW} (dilation ${dilationH}x${dilationW}) does not fit input ${inHeight}x${inWidth} with padding ${padH}x${padW}`,
    );
  }
  return {
    batch,
    inChannels,
    inHeight,
    inWidth,
    outChannels,
    kernelH,
    kernelW,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups,
    outHeight,
    outWidth,
  };
}

export interface Pool2dOptions {
  stride?: Size2;
  padding?: Size2;
  countIncludePad?: boolean;
}

/** Pooling geometry: the stride defaults to the kernel size, padding at most half the kernel. */
export function pool2dGeometry(
  fn: string,
  inputShape: readonly number[],
  kernelSize: Size2,
  opts: Pool2dOptions = {},
): Pool2dGeometry {
  if (inputShape.length !== 4) {
    throw new RangeError(`${fn}: input must be 4-D NCHW, got shape [${inputShape.join(',')}]`);
  }
  const [kernelH, kernelW] = pair(fn, 'kernelSize', kernelSize, 1);
  const [strideH, strideW] = pair(fn, 'stride', opts.stride ?? kernelSize, 1);
  const [padH, padW] = pair(fn, 'padding', opts.padding ?? 0, 0);
  if (padH * 2 > kernelH || padW * 2 > kernelW) {
    throw new RangeError(
      `${fn}: padding must be at most half the kernel size, got padding ${padH}x${padW} for kernel ${kernelH}x${kernelW}`,
    );
  }
  const [batch, channels, inHeight, inWidth] = inputShape;
  const outHeight = convOutputSize(inHeight, kernelH, strideH, padH, 1);
  const outWidth = convOutputSize(inWidth, kernelW, strideW, padW, 1);
  if (outHeight < 1 || outWidth < 1) {
    throw new RangeError(
      `${fn}: kernel ${kernelH}x${kernelW} does not fit input ${inHeight}x${inWidth} with padding ${padH}x${padW}`,
    );
  }
  return {
    batch,
    channels,
    inHeight,
    inWidth,
    kernelH,
    kernelW,
    strideH,
    strideW,
    padH,
    padW,
    outHeight,
    outWidth,
    countIncludePad: opts.countIncludePad ?? true,
  };
}
