/**
 * The CIFAR-10 ResNets of He et al. 2015 (section 4.2): ResNet-20, 32, 44, 56 and 110. A 3x3
 * convolution with 16 channels, then three stages of n basic blocks each (16, 32 and 64 channels,
 * at full, half and quarter resolution; depth = 6n + 2), global average pooling and a linear
 * classifier.
 *
 * Shortcuts: option A by default, as in the paper's CIFAR experiments: where a stage halves the
 * resolution and doubles the channels, the shortcut subsamples and zero-pads the new channels, so
 * every shortcut is parameter-free and ResNet-20 has 269,722 parameters (the paper's "0.27M").
 * Option B uses torchvision's projection (1x1 conv + batch norm) instead: 272,474 parameters.
 *
 * Layer names follow torchvision's ResNet (`conv1`, `bn1`, `layer1.0.conv1`, ..., `fc`).
 */
import { ReLU } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { GlobalAvgPool2d } from '../nn/pooling.js';
import { formatShape, Tensor } from '../tensor.js';
import { ArchTally, type ArchStats } from './arch-stats.js';
import { initConvNetWeights } from './init-weights.js';
import { BasicBlock, PreActBasicBlock, ResidualBlock } from './resnet-blocks.js';
import { checkOptions, oneOf, positiveInt } from './options.js';

export interface CifarResNetOptions {
  /** Classes (default 10). */
  numClasses?: number;
  /** Input channels (default 3; 1 for Fashion-MNIST). */
  inChannels?: number;
  /** 'A' (default): parameter-free zero-padding shortcuts; 'B': projection shortcuts. */
  shortcut?: 'A' | 'B';
  /** Channels of the first stage (default 16; the stages have width, 2 width and 4 width). */
  width?: number;
  /** Start every residual branch at zero (see ResidualBlock.zeroInitResidual). */
  zeroInitResidual?: boolean;
  /** Drop every skip connection: the paper's "plain" network of the same depth, for comparison. */
  plain?: boolean;
  /**
   * Pre-activation blocks (He et al. 2016, "Identity Mappings"): the stem is the bare
   * convolution, and a final batch norm and ReLU (`bn_final`) come before the pooling.
   */
  preact?: boolean;
}

export const CIFAR_RESNET_OPTION_NAMES = [
  'numClasses',
  'inChannels',
  'shortcut',
  'width',
  'zeroInitResidual',
  'plain',
  'preact',
] as const;

export const CIFAR_RESNET_DEPTHS = [20, 32, 44, 56, 110] as const;

interface Resolved {
  depth: number;
  blocksPerStage: number;
  numClasses: number;
  inChannels: number;
  shortcut: 'A' | 'B';
  width: number;
  zeroInitResidual: boolean;
  plain: boolean;
  preact: boolean;
}

function bool(fn: string, name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean')
    throw new TypeError(`${fn}: ${name} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

function resolve(fn: string, depth: number, opts: CifarResNetOptions | undefined): Resolved {
  const o = opts ?? {};
  checkOptions(fn, o, CIFAR_RESNET_OPTION_NAMES);
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new RangeError(
      `${fn}: depth must be 6n + 2 for a positive integer n (20, 32, 44, 56, 110, ...), got ${JSON.stringify(depth)}`,
    );
  }
  return {
    depth,
    blocksPerStage: (depth - 2) / 6,
    numClasses: positiveInt(fn, 'numClasses', o.numClasses ?? 10),
    inChannels: positiveInt(fn, 'inChannels', o.inChannels ?? 3),
    shortcut: oneOf(fn, 'shortcut', o.shortcut ?? 'A', ['A', 'B'] as const),
    width: positiveInt(fn, 'width', o.width ?? 16),
    zeroInitResidual: bool(fn, 'zeroInitResidual', o.zeroInitResidual),
    plain: bool(fn, 'plain', o.plain),
    preact: bool(fn, 'preact', o.preact),
  };
}

/** He et al.'s CIFAR ResNet of a given depth (6n + 2). */
export class CifarResNet extends Module {
  declare readonly conv1: Conv2d;
  /** Absent in the pre-activation variant, whose first block normalizes the stem's output. */
  declare readonly bn1: BatchNorm2d | null;
  declare readonly relu: ReLU;
  declare readonly layer1: Sequential;
  declare readonly layer2: Sequential;
  declare readonly layer3: Sequential;
  /** Only in the pre-activation variant. */
  declare readonly bn_final: BatchNorm2d | null;
  declare readonly avgpool: GlobalAvgPool2d;
  declare readonly fc: Linear;
  readonly depth: number;
  readonly inChannels: number;

  constructor(depth: number, opts?: CifarResNetOptions) {
    super();
    const cfg = resolve('CifarResNet', depth, opts);
    this.depth = depth;
    this.inChannels = cfg.inChannels;
    const w = cfg.width;
    this.registerModule('conv1', new Conv2d(cfg.inChannels, w, 3, { padding: 1, bias: false }));
    this.registerModule('bn1', cfg.preact ? null : new BatchNorm2d(w));
    this.registerModule('relu', new ReLU());
    const Block = cfg.preact ? PreActBasicBlock : BasicBlock;
    const shortcut = cfg.shortcut === 'A' ? 'zero-pad' : 'projection';
    let inplanes = w;
    [w, 2 * w, 4 * w].forEach((planes, i) => {
      const stage = new Sequential();
      for (let b = 0; b < cfg.blocksPerStage; b++) {
        const stride = b === 0 && i > 0 ? 2 : 1;
        stage.add(new Block(inplanes, planes, { stride, shortcut, residual: !cfg.plain }));
        inplanes = planes;
      }
      this.registerModule(`layer${i + 1}`, stage);
    });
    this.registerModule('bn_final', cfg.preact ? new BatchNorm2d(4 * w) : null);
    this.registerModule('avgpool', new GlobalAvgPool2d());
    this.registerModule('fc', new Linear(4 * w, cfg.numClasses));
    initConvNetWeights(this, { mode: 'fanOut' });
    if (cfg.zeroInitResidual) {
      for (const m of this.modules()) if (m instanceof ResidualBlock) m.zeroInitResidual();
    }
  }

  forward(x: Tensor): Tensor {
    const name = `CifarResNet(depth ${this.depth})`;
    if (!(x instanceof Tensor))
      throw new TypeError(`${name}: input must be a Tensor, got ${typeof x}`);
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new RangeError(
        `${name}: expected 4-D NCHW input with ${this.inChannels} channels, got shape ${formatShape(x.shape)}`,
      );
    }
    let y = this.conv1.call(x);
    if (this.bn1 !== null) y = this.relu.call(this.bn1.call(y));
    y = this.layer3.call(this.layer2.call(this.layer1.call(y)));
    if (this.bn_final !== null) y = this.relu.call(this.bn_final.call(y));
    return this.fc.call(this.avgpool.call(y));
  }
}

/** He et al.'s CIFAR ResNet of any depth 6n + 2. */
export function cifarResnet(depth: number, opts?: CifarResNetOptions): CifarResNet {
  return build('cifarResnet', depth, opts);
}

function build(fn: string, depth: number, opts: CifarResNetOptions | undefined): CifarResNet {
  resolve(fn, depth, opts); // so that errors name the builder the caller used
  return new CifarResNet(depth, opts);
}

/** ResNet-20 (n = 3): 269,722 parameters with option-A shortcuts and 10 classes. */
export const resnet20 = (opts?: CifarResNetOptions): CifarResNet => build('resnet20', 20, opts);
/** ResNet-32 (n = 5): 464,154 parameters. */
export const resnet32 = (opts?: CifarResNetOptions): CifarResNet => build('resnet32', 32, opts);
/** ResNet-44 (n = 7): 658,586 parameters. */
export const resnet44 = (opts?: CifarResNetOptions): CifarResNet => build('resnet44', 44, opts);
/** ResNet-56 (n = 9): 853,018 parameters. */
export const resnet56 = (opts?: CifarResNetOptions): CifarResNet => build('resnet56', 56, opts);
/** ResNet-110 (n = 18): 1,727,962 parameters. */
export const resnet110 = (opts?: CifarResNetOptions): CifarResNet => build('resnet110', 110, opts);

/** Parameters and multiply-adds per image at an input shape [C, H, W], without building the model. */
export function cifarResnetStats(
  depth: number,
  opts: CifarResNetOptions | undefined,
  inputShape: readonly number[],
): ArchStats {
  const cfg = resolve('cifarResnetStats', depth, opts);
  const [c, h, wd] = inputShape;
  const t = new ArchTally(c, h, wd);
  const w = cfg.width;
  t.conv(w, 3, { padding: 1 });
  if (!cfg.preact) t.norm();
  [w, 2 * w, 4 * w].forEach((planes, i) => {
    for (let b = 0; b < cfg.blocksPerStage; b++) {
      const stride = b === 0 && i > 0 ? 2 : 1;
      const changes = stride !== 1 || t.channels !== planes;
      let shortcut: ArchTally | null = null;
      if (!cfg.plain && changes && cfg.shortcut === 'B') {
        shortcut = t.branch().conv(planes, 1, { stride });
        if (!cfg.preact) shortcut.norm();
      }
      if (cfg.preact) t.norm();
      t.conv(planes, 3, { stride, padding: 1 }).norm().conv(planes, 3, { padding: 1 });
      if (!cfg.preact) t.norm();
      if (shortcut !== null) t.merge(shortcut);
    }
  });
  if (cfg.preact) t.norm();
  t.globalPool().linear(cfg.numClasses);
  return { params: t.params, macs: t.macs };
}
