/**
 * DenseNet-BC (Huang et al. 2017) as torchvision builds it: DenseNet-121, 169 and 201. Layer names
 * are torchvision's (`features.conv0.weight`, `features.denseblock1.denselayer1.norm1.weight`,
 * `features.transition1.conv.weight`, `features.norm5.running_var`, `classifier.weight`), so a
 * torchvision state dict loads with loadStateDict and gives the same outputs.
 */
import { globalAvgPool2d } from '../functional/pooling.js';
import { relu } from '../functional/activation.js';
import { ReLU } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { MaxPool2d } from '../nn/pooling.js';
import { formatShape, Tensor } from '../tensor.js';
import { ArchTally, type ArchStats } from './arch-stats.js';
import { DenseBlock, Transition } from './densenet-blocks.js';
import { initConvNetWeights } from './init-weights.js';
import { checkOptions, oneOf, positiveInt, probability } from './options.js';
import { STEMS, type Stem } from './resnet.js';

/** The options of the zoo builders densenet121/169/201. */
export interface DenseNetOptions {
  /** Classes (default 1000). */
  numClasses?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** 'imagenet' (default): 7x7 stride-2 conv0 and pool0; 'cifar': 3x3 stride-1 conv0, no pool0. */
  stem?: Stem;
  /** Dropout after each dense layer while training (default 0). */
  dropRate?: number;
}

export const DENSENET_OPTION_NAMES = ['numClasses', 'inChannels', 'stem', 'dropRate'] as const;

/** A DenseNet's architecture: torchvision's DenseNet(growth_rate, block_config, num_init_features, bn_size). */
export interface DenseNetConfig extends DenseNetOptions {
  /** Channels each dense layer adds (default 32). */
  growthRate?: number;
  /** Dense layers per block (default [6, 12, 24, 16]: DenseNet-121). */
  blockConfig?: readonly number[];
  /** Channels of conv0 (default 64). */
  numInitFeatures?: number;
  /** Bottleneck width factor (default 4). */
  bnSize?: number;
}

interface Resolved {
  growthRate: number;
  blockConfig: number[];
  numInitFeatures: number;
  bnSize: number;
  dropRate: number;
  numClasses: number;
  inChannels: number;
  stem: Stem;
}

function resolve(fn: string, config: DenseNetConfig | undefined): Resolved {
  const c = config ?? {};
  checkOptions(fn, c, [
    'growthRate',
    'blockConfig',
    'numInitFeatures',
    'bnSize',
    ...DENSENET_OPTION_NAMES,
  ]);
  const blocks = c.blockConfig ?? [6, 12, 24, 16];
  if (
    !Array.isArray(blocks) ||
    blocks.length === 0 ||
    !blocks.every((n) => Number.isInteger(n) && n >= 1)
  ) {
    throw new RangeError(
      `${fn}: blockConfig must be a non-empty array of positive integers, got ${JSON.stringify(blocks)}`,
    );
  }
  return {
    growthRate: positiveInt(fn, 'growthRate', c.growthRate ?? 32),
    blockConfig: [...blocks],
    numInitFeatures: positiveInt(fn, 'numInitFeatures', c.numInitFeatures ?? 64),
    bnSize: positiveInt(fn, 'bnSize', c.bnSize ?? 4),
    dropRate: probability(fn, 'dropRate', c.dropRate ?? 0),
    numClasses: positiveInt(fn, 'numClasses', c.numClasses ?? 1000),
    inChannels: positiveInt(fn, 'inChannels', c.inChannels ?? 3),
    stem: oneOf(fn, 'stem', c.stem ?? 'imagenet', STEMS),
  };
}

/**
 * torchvision's DenseNet: `features` (stem, dense blocks with transitions that halve the
 * channels and the resolution, a final batch norm `norm5`), then ReLU, global average pooling
 * and the linear `classifier`.
 */
export class DenseNet extends Module {
  declare readonly features: Sequential;
  declare readonly classifier: Linear;
  readonly inChannels: number;

  constructor(config?: DenseNetConfig) {
    super();
    const cfg = resolve('DenseNet', config);
    this.inChannels = cfg.inChannels;
    const stem: Record<string, Module> =
      cfg.stem === 'imagenet'
        ? {
            conv0: new Conv2d(cfg.inChannels, cfg.numInitFeatures, 7, {
              stride: 2,
              padding: 3,
              bias: false,
            }),
            norm0: new BatchNorm2d(cfg.numInitFeatures),
            relu0: new ReLU(),
            pool0: new MaxPool2d(3, { stride: 2, padding: 1 }),
          }
        : {
            conv0: new Conv2d(cfg.inChannels, cfg.numInitFeatures, 3, { padding: 1, bias: false }),
            norm0: new BatchNorm2d(cfg.numInitFeatures),
            relu0: new ReLU(),
          };
    const features = new Sequential(stem);
    let channels = cfg.numInitFeatures;
    cfg.blockConfig.forEach((numLayers, i) => {
      const block = new DenseBlock(numLayers, channels, {
        growthRate: cfg.growthRate,
        bnSize: cfg.bnSize,
        dropRate: cfg.dropRate,
      });
      features.add(block, `denseblock${i + 1}`);
      channels = block.outChannels;
      if (i !== cfg.blockConfig.length - 1) {
        // Compression 0.5, as torchvision: num_features // 2.
        const out = Math.floor(channels / 2);
        features.add(new Transition(channels, out), `transition${i + 1}`);
        channels = out;
      }
    });
    features.add(new BatchNorm2d(channels), 'norm5');
    this.registerModule('features', features);
    this.registerModule('classifier', new Linear(channels, cfg.numClasses));
    initConvNetWeights(this, { mode: 'fanIn', zeroLinearBias: true });
  }

  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor))
      throw new TypeError(`DenseNet: input must be a Tensor, got ${typeof x}`);
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new RangeError(
        `DenseNet: expected 4-D NCHW input with ${this.inChannels} channels, got shape ${formatShape(x.shape)}`,
      );
    }
    return this.classifier.call(globalAvgPool2d(relu(this.features.call(x))));
  }
}

/** Parameters and multiply-adds per image at an input shape [C, H, W], without building the model. */
export function densenetStats(
  config: DenseNetConfig | undefined,
  inputShape: readonly number[],
): ArchStats {
  const cfg = resolve('densenetStats', config);
  const [c, h, w] = inputShape;
  const t = new ArchTally(c, h, w);
  if (cfg.stem === 'imagenet')
    t.conv(cfg.numInitFeatures, 7, { stride: 2, padding: 3 }).norm().pool(3, 2, 1);
  else t.conv(cfg.numInitFeatures, 3, { padding: 1 }).norm();
  cfg.blockConfig.forEach((numLayers, i) => {
    for (let l = 0; l < numLayers; l++) {
      const layer = t
        .branch()
        .norm()
        .conv(cfg.bnSize * cfg.growthRate, 1)
        .norm()
        .conv(cfg.growthRate, 3, { padding: 1 });
      t.merge(layer).concatChannels(cfg.growthRate);
    }
    if (i !== cfg.blockConfig.length - 1)
      t.norm()
        .conv(Math.floor(t.channels / 2), 1)
        .pool(2, 2);
  });
  t.norm().globalPool().linear(cfg.numClasses);
  return { params: t.params, macs: t.macs };
}

/** The zoo's DenseNet architectures by registry name. */
export const DENSENET_PRESETS: Readonly<Record<string, DenseNetConfig>> = {
  densenet121: { growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64 },
  densenet169: { growthRate: 32, blockConfig: [6, 12, 32, 32], numInitFeatures: 64 },
  densenet201: { growthRate: 32, blockConfig: [6, 12, 48, 32], numInitFeatures: 64 },
};

/** Builds a preset of DENSENET_PRESETS; errors name `fn` (default: the preset's name). */
export function densenetPreset(preset: string, opts?: DenseNetOptions, fn = preset): DenseNet {
  if (!Object.hasOwn(DENSENET_PRESETS, preset)) {
    throw new RangeError(
      `${fn}: unknown preset ${JSON.stringify(preset)}; known: ${Object.keys(DENSENET_PRESETS).join(', ')}`,
    );
  }
  const o = opts ?? {};
  checkOptions(fn, o, DENSENET_OPTION_NAMES);
  const config = { ...DENSENET_PRESETS[preset], ...o };
  resolve(fn, config); // so that errors name the builder the caller used
  return new DenseNet(config);
}

/** DenseNet-121: blocks [6, 12, 24, 16], growth 32; 7,978,856 parameters with 1000 classes. */
export const densenet121 = (opts?: DenseNetOptions): DenseNet =>
  densenetPreset('densenet121', opts);
/** DenseNet-169: blocks [6, 12, 32, 32]; 14,149,480 parameters. */
export const densenet169 = (opts?: DenseNetOptions): DenseNet =>
  densenetPreset('densenet169', opts);
/** DenseNet-201: blocks [6, 12, 48, 32]; 20,013,928 parameters. */
export const densenet201 = (opts?: DenseNetOptions): DenseNet =>
  densenetPreset('densenet201', opts);
