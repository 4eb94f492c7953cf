/**
 * The pieces of DenseNet (Huang et al. 2017, DenseNet-BC), as torchvision's _DenseLayer,
 * _DenseBlock and _Transition, with their layer names (`norm1`, `conv1`, `denselayer1`, `pool`...).
 */
import { dropout } from '../functional/dropout.js';
import { concat } from '../functional/shape.js';
import { ReLU } from '../nn/activation.js';
import { Conv2d } from '../nn/conv.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { AvgPool2d } from '../nn/pooling.js';
import { formatShape, Tensor } from '../tensor.js';
import { checkOptions, positiveInt, probability } from './options.js';

export interface DenseLayerOptions {
  /** Growth rate k: channels each layer adds (default 32). */
  growthRate?: number;
  /** The bottleneck 1x1 convolution has bnSize * growthRate channels (default 4). */
  bnSize?: number;
  /** Dropout on the new features while training (default 0). */
  dropRate?: number;
}

const LAYER_OPTIONS = ['growthRate', 'bnSize', 'dropRate'];

function layerOptions(
  owner: string,
  opts: DenseLayerOptions | undefined,
): Required<DenseLayerOptions> {
  const o = opts ?? {};
  checkOptions(owner, o, LAYER_OPTIONS);
  return {
    growthRate: positiveInt(owner, 'growthRate', o.growthRate ?? 32),
    bnSize: positiveInt(owner, 'bnSize', o.bnSize ?? 4),
    dropRate: probability(owner, 'dropRate', o.dropRate ?? 0),
  };
}

function require4d(name: string, x: unknown): Tensor {
  if (!(x instanceof Tensor))
    throw new TypeError(`${name}: input must be a Tensor, got ${typeof x}`);
  if (x.ndim !== 4)
    throw new RangeError(`${name}: expected 4-D NCHW input, got shape ${formatShape(x.shape)}`);
  return x;
}

/**
 * One dense layer: BN-ReLU-conv1x1 (bnSize * growthRate channels), BN-ReLU-conv3x3 (growthRate
 * channels). It takes every earlier feature map of its block as separate inputs and concatenates
 * them along channels itself, so it returns only its growthRate new channels.
 */
export class DenseLayer extends Module {
  declare readonly norm1: BatchNorm2d;
  declare readonly relu1: ReLU;
  declare readonly conv1: Conv2d;
  declare readonly norm2: BatchNorm2d;
  declare readonly relu2: ReLU;
  declare readonly conv2: Conv2d;
  readonly numInputFeatures: number;
  readonly growthRate: number;
  readonly dropRate: number;

  constructor(numInputFeatures: number, opts?: DenseLayerOptions) {
    super();
    const o = layerOptions('DenseLayer', opts);
    this.numInputFeatures = positiveInt('DenseLayer', 'numInputFeatures', numInputFeatures);
    this.growthRate = o.growthRate;
    this.dropRate = o.dropRate;
    const inner = o.bnSize * o.growthRate;
    this.registerModule('norm1', new BatchNorm2d(numInputFeatures));
    this.registerModule('relu1', new ReLU());
    this.registerModule('conv1', new Conv2d(numInputFeatures, inner, 1, { bias: false }));
    this.registerModule('norm2', new BatchNorm2d(inner));
    this.registerModule('relu2', new ReLU());
    this.registerModule('conv2', new Conv2d(inner, o.growthRate, 3, { padding: 1, bias: false }));
  }

  /** inputs: the block's input and every earlier layer's output, concatenated here along channels. */
  forward(...inputs: Tensor[]): Tensor {
    const name = `DenseLayer(${this.numInputFeatures}->${this.growthRate})`;
    if (inputs.length === 0)
      throw new RangeError(`${name}: expected at least one input tensor, got none`);
    inputs.forEach((t) => require4d(name, t));
    const x = inputs.length === 1 ? inputs[0] : concat(inputs, 1);
    if (x.shape[1] !== this.numInputFeatures) {
      throw new RangeError(
        `${name}: expected ${this.numInputFeatures} input channels in all, got ${x.shape[1]} (shapes ${inputs.map((t) => formatShape(t.shape)).join(', ')})`,
      );
    }
    const bottleneck = this.conv1.call(this.relu1.call(this.norm1.call(x)));
    const out = this.conv2.call(this.relu2.call(this.norm2.call(bottleneck)));
    return this.dropRate > 0 ? dropout(out, this.dropRate, this.training) : out;
  }

  override extraRepr(): string {
    return `${this.numInputFeatures}, growthRate=${this.growthRate}${this.dropRate > 0 ? `, dropRate=${this.dropRate}` : ''}`;
  }
}

/**
 * numLayers dense layers (`denselayer1`, `denselayer2`, ...), each fed every feature map before
 * it; the output concatenates the input and all new features: numInputFeatures + numLayers *
 * growthRate channels at the input's resolution.
 */
export class DenseBlock extends Module {
  readonly numLayers: number;
  readonly numInputFeatures: number;
  readonly outChannels: number;

  constructor(numLayers: number, numInputFeatures: number, opts?: DenseLayerOptions) {
    super();
    const o = layerOptions('DenseBlock', opts);
    this.numLayers = positiveInt('DenseBlock', 'numLayers', numLayers);
    this.numInputFeatures = positiveInt('DenseBlock', 'numInputFeatures', numInputFeatures);
    for (let i = 0; i < numLayers; i++) {
      this.registerModule(
        `denselayer${i + 1}`,
        new DenseLayer(numInputFeatures + i * o.growthRate, o),
      );
    }
    this.outChannels = numInputFeatures + numLayers * o.growthRate;
  }

  forward(x: Tensor): Tensor {
    const name = `DenseBlock(${this.numInputFeatures}->${this.outChannels})`;
    require4d(name, x);
    if (x.shape[1] !== this.numInputFeatures) {
      throw new RangeError(
        `${name}: expected input with ${this.numInputFeatures} channels, got shape ${formatShape(x.shape)}`,
      );
    }
    const features: Tensor[] = [x];
    for (const layer of this.children())
      features.push((layer.call as (...t: Tensor[]) => Tensor)(...features));
    return concat(features, 1);
  }

  override extraRepr(): string {
    return `numLayers=${this.numLayers}, ${this.numInputFeatures}->${this.outChannels}`;
  }
}

/** Between dense blocks: BN-ReLU-conv1x1 (compressing the channels), then 2x2 average pooling. */
export class Transition extends Module {
  declare readonly norm: BatchNorm2d;
  declare readonly relu: ReLU;
  declare readonly conv: Conv2d;
  declare readonly pool: AvgPool2d;
  readonly numInputFeatures: number;
  readonly numOutputFeatures: number;

  constructor(numInputFeatures: number, numOutputFeatures: number) {
    super();
    this.numInputFeatures = positiveInt('Transition', 'numInputFeatures', numInputFeatures);
    this.numOutputFeatures = positiveInt('Transition', 'numOutputFeatures', numOutputFeatures);
    this.registerModule('norm', new BatchNorm2d(numInputFeatures));
    this.registerModule('relu', new ReLU());
    this.registerModule(
      'conv',
      new Conv2d(numInputFeatures, numOutputFeatures, 1, { bias: false }),
    );
    this.registerModule('pool', new AvgPool2d(2, { stride: 2 }));
  }

  forward(x: Tensor): Tensor {
    require4d(`Transition(${this.numInputFeatures}->${this.numOutputFeatures})`, x);
    return this.pool.call(this.conv.call(this.relu.call(this.norm.call(x))));
  }

  override extraRepr(): string {
    return `${this.numInputFeatures}, ${this.numOutputFeatures}`;
  }
}
