/** The 2-D convolution layer. */
import type { Size2 } from '../backend/geometry.js';
import { conv2d } from '../functional/conv.js';
import type { Generator } from '../random.js';
import { formatShape, Tensor, zeros } from '../tensor.js';
import { defaultLayerInit } from './init.js';
import { Module } from './module.js';
import {
  boolOption,
  checkOptions,
  formatPair,
  generatorOption,
  positiveInt,
  size2,
} from './options.js';

export interface Conv2dLayerOptions {
  stride?: Size2;
  /** Zero padding per side, or 'valid' (none) or 'same' (output size = input size; stride 1 only). */
  padding?: Size2 | 'same' | 'valid';
  dilation?: Size2;
  groups?: number;
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the default generator). */
  generator?: Generator;
}

const CONV2D_OPTIONS = ['stride', 'padding', 'dilation', 'groups', 'bias', 'generator'] as const;

/**
 * Conv2d(inChannels, outChannels, kernelSize, { stride, padding, dilation, groups, bias }), as
 * torch.nn.Conv2d: weight [outChannels, inChannels/groups, kH, kW] and bias [outChannels],
 * initialised as PyTorch does (uniform within ±1/sqrt(fanIn)).
 */
export class Conv2d extends Module {
  declare readonly weight: Tensor;
  declare readonly bias: Tensor | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size2,
    opts?: Conv2dLayerOptions,
  ) {
    super();
    const o = checkOptions('Conv2d', opts, CONV2D_OPTIONS);
    this.inChannels = positiveInt('Conv2d', 'inChannels', inChannels);
    this.outChannels = positiveInt('Conv2d', 'outChannels', outChannels);
    this.kernelSize = size2('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = size2('Conv2d', 'stride', o.stride ?? 1, 1);
    this.dilation = size2('Conv2d', 'dilation', o.dilation ?? 1, 1);
    this.groups = positiveInt('Conv2d', 'groups', o.groups ?? 1);
    if (o.padding === 'same' || o.padding === 'valid') {
      if (o.padding === 'same' && (this.stride[0] !== 1 || this.stride[1] !== 1)) {
        throw new RangeError(
          `Conv2d: padding 'same' needs stride 1, got stride ${formatPair(this.stride)}`,
        );
      }
      this.padding = o.padding;
    } else if (typeof o.padding === 'string') {
      throw new RangeError(
        `Conv2d: padding must be a number, a pair, 'same' or 'valid', got '${o.padding}'`,
      );
    } else {
      this.padding = size2('Conv2d', 'padding', o.padding ?? 0, 0);
    }
    if (inChannels % this.groups !== 0) {
      throw new RangeError(
        `Conv2d: inChannels (${inChannels}) must be divisible by groups (${this.groups})`,
      );
    }
    if (outChannels % this.groups !== 0) {
      throw new RangeError(
        `Conv2d: outChannels (${outChannels}) must be divisible by groups (${this.groups})`,
      );
    }
    const hasBias = boolOption('Conv2d', 'bias', o.bias, true);
    const gen = generatorOption('Conv2d', o.generator);
    this.registerParameter(
      'weight',
      zeros([outChannels, inChannels / this.groups, ...this.kernelSize]),
    );
    this.registerParameter('bias', hasBias ? zeros([outChannels]) : null);
    this.resetParameters(gen);
  }

  /** Re-draws the weights with PyTorch's default initialisation. */
  resetParameters(generator?: Generator): void {
    defaultLayerInit(this.weight, this.bias, generator);
  }

  forward(x: Tensor): Tensor {
    const name = `Conv2d(${this.inChannels}->${this.outChannels})`;
    if (!(x instanceof Tensor))
      throw new TypeError(`${name}: input must be a Tensor, got ${typeof x}`);
    if (x.ndim !== 4)
      throw new RangeError(`${name}: expected 4-D NCHW input, got shape ${formatShape(x.shape)}`);
    if (x.shape[1] !== this.inChannels) {
      throw new RangeError(
        `${name}: expected input with ${this.inChannels} channels, got shape ${formatShape(x.shape)}`,
      );
    }
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    const parts = [
      `${this.inChannels}`,
      `${this.outChannels}`,
      `kernelSize=${formatPair(this.kernelSize)}`,
      `stride=${formatPair(this.stride)}`,
    ];
    if (typeof this.padding === 'string') parts.push(`padding='${this.padding}'`);
    else if (this.padding[0] !== 0 || this.padding[1] !== 0)
      parts.push(`padding=${formatPair(this.padding)}`);
    if (this.dilation[0] !== 1 || this.dilation[1] !== 1)
      parts.push(`dilation=${formatPair(this.dilation)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (this.bias === null) parts.push('bias=false');
    return parts.join(', ');
  }
}
