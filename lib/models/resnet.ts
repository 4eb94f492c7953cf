/**
 * ResNet (He et al. 2015) and its ImageNet-scale relatives, built as torchvision builds them:
 * ResNet-18/34/50/101/152/200, ResNeXt-50 32x4d and ResNeXt-101 32x8d (Xie et al. 2016), Wide
 * ResNet-50-2 (Zagoruyko & Komodakis 2016). Layer names are torchvision's (`conv1.weight`,
 * `bn1.running_mean`, `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, `fc.weight`), so a
 * torchvision state dict loads with loadStateDict and gives the same outputs.
 */
import { ReLU } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { GlobalAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { formatShape, Tensor } from '../tensor.js';
import { ArchTally, type ArchStats } from './arch-stats.js';
import { initConvNetWeights } from './init-weights.js';
import { BasicBlock, bnRelu, Bottleneck, bottleneckWidth, ResidualBlock } from './resnet-blocks.js';
import { checkOptions, oneOf, positiveInt } from './options.js';

export type Stem = 'imagenet' | 'cifar';
export const STEMS: readonly Stem[] = ['imagenet', 'cifar'];

/** The options every zoo builder of this file takes. */
export interface ResNetOptions {
  /** Classes of the final linear layer (default 1000). */
  numClasses?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /**
   * 'imagenet' (default): 7x7 stride-2 convolution and 3x3 stride-2 max-pool, for 224x224 inputs.
   * 'cifar': a 3x3 stride-1 convolution and no max-pool, for 28x28 and 32x32 inputs, which the
   * ImageNet stem would shrink 4x before the first block.
   */
  stem?: Stem;
  /** Start every residual branch at zero (its last batch norm's weight), so blocks begin as identities. */
  zeroInitResidual?: boolean;
}

export const RESNET_OPTION_NAMES = [
  'numClasses',
  'inChannels',
  'stem',
  'zeroInitResidual',
] as const;

/** A ResNet's architecture: torchvision's ResNet(block, layers, groups, width_per_group). */
export interface ResNetConfig extends ResNetOptions {
  block: 'basic' | 'bottleneck';
  /** Blocks per stage (four stages of 64, 128, 256 and 512 planes). */
  layers: readonly number[];
  /** ResNeXt cardinality (bottleneck only; default 1). */
  groups?: number;
  /** Channels per group at 64 planes (bottleneck only; default 64). */
  widthPerGroup?: number;
}

interface ResolvedConfig {
  block: 'basic' | 'bottleneck';
  layers: number[];
  groups: number;
  widthPerGroup: number;
  numClasses: number;
  inChannels: number;
  stem: Stem;
  zeroInitResidual: boolean;
}

const STAGE_PLANES = [64, 128, 256, 512];

function resolveConfig(fn: string, config: ResNetConfig): ResolvedConfig {
  checkOptions(fn, config, ['block', 'layers', 'groups', 'widthPerGroup', ...RESNET_OPTION_NAMES]);
  const block = oneOf(fn, 'block', config.block, ['basic', 'bottleneck'] as const);
  const layers = config.layers;
  if (
    !Array.isArray(layers) ||
    layers.length !== 4 ||
    !layers.every((n) => Number.isInteger(n) && n >= 1)
  ) {
    throw new RangeError(
      `${fn}: layers must be 4 positive integers (blocks per stage), got ${JSON.stringify(layers)}`,
    );
  }
  const zero = config.zeroInitResidual ?? false;
  if (typeof zero !== 'boolean') {
    throw new TypeError(`${fn}: zeroInitResidual must be a boolean, got ${JSON.stringify(zero)}`);
  }
  return {
    block,
    layers: [...layers],
    groups: positiveInt(fn, 'groups', config.groups ?? 1),
    widthPerGroup: positiveInt(fn, 'widthPerGroup', config.widthPerGroup ?? 64),
    numClasses: positiveInt(fn, 'numClasses', config.numClasses ?? 1000),
    inChannels: positiveInt(fn, 'inChannels', config.inChannels ?? 3),
    stem: oneOf(fn, 'stem', config.stem ?? 'imagenet', STEMS),
    zeroInitResidual: zero,
  };
}

/** torchvision's ResNet: stem, four stages of residual blocks, global average pool, linear classifier. */
export class ResNet extends Module {
  declare readonly conv1: Conv2d;
  declare readonly bn1: BatchNorm2d;
  declare readonly relu: ReLU;
  /** Absent with the CIFAR stem. */
  declare readonly maxpool: MaxPool2d | null;
  declare readonly layer1: Sequential;
  declare readonly layer2: Sequential;
  declare readonly layer3: Sequential;
  declare readonly layer4: Sequential;
  declare readonly avgpool: GlobalAvgPool2d;
  declare readonly fc: Linear;
  readonly config: Readonly<ResolvedConfig>;

  constructor(config: ResNetConfig) {
    super();
    const cfg = resolveConfig('ResNet', config);
    if (cfg.block === 'basic' && (cfg.groups !== 1 || cfg.widthPerGroup !== 64)) {
      throw new RangeError(
        `ResNet: basic blocks support only groups 1 and widthPerGroup 64, got groups ${cfg.groups} and widthPerGroup ${cfg.widthPerGroup}`,
      );
    }
    this.config = cfg;
    const imagenet = cfg.stem === 'imagenet';
    this.registerModule(
      'conv1',
      imagenet
        ? new Conv2d(cfg.inChannels, 64, 7, { stride: 2, padding: 3, bias: false })
        : new Conv2d(cfg.inChannels, 64, 3, { stride: 1, padding: 1, bias: false }),
    );
    this.registerModule('bn1', new BatchNorm2d(64));
    this.registerModule('relu', new ReLU());
    this.registerModule('maxpool', imagenet ? new MaxPool2d(3, { stride: 2, padding: 1 }) : null);
    const Block = cfg.block === 'basic' ? BasicBlock : Bottleneck;
    let inplanes = 64;
    STAGE_PLANES.forEach((planes, i) => {
      const stage = new Sequential();
      for (let b = 0; b < cfg.layers[i]; b++) {
        const stride = b === 0 && i > 0 ? 2 : 1;
        const block =
          cfg.block === 'basic'
            ? new BasicBlock(inplanes, planes, { stride })
            : new Bottleneck(inplanes, planes, {
                stride,
                groups: cfg.groups,
                baseWidth: cfg.widthPerGroup,
              });
        stage.add(block);
        inplanes = planes * Block.expansion;
      }
      this.registerModule(`layer${i + 1}`, stage);
    });
    this.registerModule('avgpool', new GlobalAvgPool2d());
    this.registerModule('fc', new Linear(512 * Block.expansion, cfg.numClasses));
    initConvNetWeights(this, { mode: 'fanOut' });
    if (cfg.zeroInitResidual) {
      for (const m of this.modules()) if (m instanceof ResidualBlock) m.zeroInitResidual();
    }
  }

  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor))
      throw new TypeError(`ResNet: input must be a Tensor, got ${typeof x}`);
    if (x.ndim !== 4 || x.shape[1] !== this.config.inChannels) {
      throw new RangeError(
        `ResNet: expected 4-D NCHW input with ${this.config.inChannels} channels, got shape ${formatShape(x.shape)}`,
      );
    }
    let y = bnRelu(this.bn1, this.relu, this.conv1.call(x), null);
    if (this.maxpool !== null) y = this.maxpool.call(y);
    y = this.layer4.call(this.layer3.call(this.layer2.call(this.layer1.call(y))));
    return this.fc.call(this.avgpool.call(y));
  }
}

/** Parameters and multiply-adds per image of a ResNet at an input shape [C, H, W], without building it. */
export function resnetStats(config: ResNetConfig, inputShape: readonly number[]): ArchStats {
  const cfg = resolveConfig('resnetStats', config);
  const [c, h, w] = inputShape;
  const t = new ArchTally(c, h, w);
  if (cfg.stem === 'imagenet') t.conv(64, 7, { stride: 2, padding: 3 }).norm().pool(3, 2, 1);
  else t.conv(64, 3, { padding: 1 }).norm();
  const expansion = cfg.block === 'basic' ? 1 : 4;
  STAGE_PLANES.forEach((planes, i) => {
    for (let b = 0; b < cfg.layers[i]; b++) {
      const stride = b === 0 && i > 0 ? 2 : 1;
      const out = planes * expansion;
      const shortcut =
        stride !== 1 || t.channels !== out ? t.branch().conv(out, 1, { stride }).norm() : null;
      if (cfg.block === 'basic') {
        t.conv(planes, 3, { stride, padding: 1 }).norm().conv(planes, 3, { padding: 1 }).norm();
      } else {
        const width = bottleneckWidth(planes, cfg.widthPerGroup, cfg.groups);
        t.conv(width, 1).norm();
        t.conv(width, 3, { stride, padding: 1, groups: cfg.groups }).norm();
        t.conv(out, 1).norm();
      }
      if (shortcut !== null) t.merge(shortcut);
    }
  });
  t.globalPool().linear(cfg.numClasses);
  return { params: t.params, macs: t.macs };
}

interface Preset {
  block: 'basic' | 'bottleneck';
  layers: number[];
  groups?: number;
  widthPerGroup?: number;
}

/** The zoo's ResNet-family architectures by registry name. */
export const RESNET_PRESETS: Readonly<Record<string, Preset>> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2] },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3] },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3] },
  resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3] },
  resnet152: { block: 'bottleneck', layers: [3, 8, 36, 3] },
  resnet200: { block: 'bottleneck', layers: [3, 24, 36, 3] },
  resnext50_32x4d: { block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 },
  resnext101_32x8d: { block: 'bottleneck', layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 },
  wide_resnet50_2: { block: 'bottleneck', layers: [3, 4, 6, 3], widthPerGroup: 128 },
};

/** Builds a preset of RESNET_PRESETS; errors name `fn` (default: the preset's name). */
export function resnetPreset(preset: string, opts?: ResNetOptions, fn = preset): ResNet {
  if (!Object.hasOwn(RESNET_PRESETS, preset)) {
    throw new RangeError(
      `${fn}: unknown preset ${JSON.stringify(preset)}; known: ${Object.keys(RESNET_PRESETS).join(', ')}`,
    );
  }
  const o = opts ?? {};
  checkOptions(fn, o, RESNET_OPTION_NAMES);
  const config = { ...RESNET_PRESETS[preset], ...o };
  resolveConfig(fn, config); // so that errors name the builder the caller used
  return new ResNet(config);
}

/** ResNet-18: basic blocks [2, 2, 2, 2]; 11,689,512 parameters with 1000 classes. */
export const resnet18 = (opts?: ResNetOptions): ResNet => resnetPreset('resnet18', opts);
/** ResNet-34: basic blocks [3, 4, 6, 3]; 21,797,672 parameters. */
export const resnet34 = (opts?: ResNetOptions): ResNet => resnetPreset('resnet34', opts);
/** ResNet-50: bottlenecks [3, 4, 6, 3]; 25,557,032 parameters. */
export const resnet50 = (opts?: ResNetOptions): ResNet => resnetPreset('resnet50', opts);
/** ResNet-101: bottlenecks [3, 4, 23, 3]; 44,549,160 parameters. */
export const resnet101 = (opts?: ResNetOptions): ResNet => resnetPreset('resnet101', opts);
/** ResNet-152: bottlenecks [3, 8, 36, 3]; 60,192,808 parameters. */
export const resnet152 = (opts?: ResNetOptions): ResNet => resnetPreset('resnet152', opts);
/** ResNet-200 (He et al. 2016): bottlenecks [3, 24, 36, 3]; 64,673,832 parameters. */
export const resnet200 = (opts?: ResNetOptions): ResNet => resnetPreset('resnet200', opts);
/** ResNeXt-50 32x4d: 32 groups of 4 channels at the first stage; 25,028,904 parameters. */
export const resnext50_32x4d = (opts?: ResNetOptions): ResNet =>
  resnetPreset('resnext50_32x4d', opts);
/** ResNeXt-101 32x8d; 88,791,336 parameters. */
export const resnext101_32x8d = (opts?: ResNetOptions): ResNet =>
  resnetPreset('resnext101_32x8d', opts);
/** Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide; 68,883,240 parameters. */
export const wideResnet50_2 = (opts?: ResNetOptions): ResNet =>
  resnetPreset('wide_resnet50_2', opts, 'wideResnet50_2');
