/**
 * The residual blocks of ResNet (He et al. 2015), ResNeXt (Xie et al. 2016), Wide ResNet
 * (Zagoruyko & Komodakis 2016) and pre-activation ResNet (He et al. 2016), with torchvision's
 * layer names (`conv1`, `bn1`, ..., `downsample.0`, `downsample.1`), so torchvision state dicts load.
 *
 * A block computes relu(F(x) + shortcut(x)). The shortcut is the identity when the block keeps
 * the shape; when it changes the shape (stride > 1 or a different channel count) it is either a
 * projection (1x1 conv with the stride, then batch norm: torchvision, "option B") or parameter-free
 * ("option A" of He et al.'s CIFAR experiments: subsample by the stride and pad the new channels
 * with zeros). `residual: false` drops the shortcut altogether, giving the "plain" block the
 * papers compare against.
 */
import { add } from '../functional/elementwise.js';
import { maxPool2d } from '../functional/pooling.js';
import { concat } from '../functional/shape.js';
import { ReLU } from '../nn/activation.js';
import { Sequential } from '../nn/container.js';
import { Conv2d } from '../nn/conv.js';
import { Module } from '../nn/module.js';
import { BatchNorm2d } from '../nn/normalization.js';
import { canFuseBatchNormRelu, fusedBatchNormRelu } from '../nn/training-fusion.js';
import { formatShape, Tensor, zeros } from '../tensor.js';
import { checkOptions, oneOf, positiveInt } from './options.js';

export type ShortcutKind = 'projection' | 'zero-pad';
export const SHORTCUT_KINDS: readonly ShortcutKind[] = ['projection', 'zero-pad'];

export interface ResidualBlockOptions {
  /** Stride of the block's spatial convolution (2 halves the resolution; default 1). */
  stride?: number;
  /** Groups of the 3x3 convolution: ResNeXt's cardinality (bottlenecks only; default 1). */
  groups?: number;
  /**
   * Width of each group at planes = 64 (bottlenecks only; default 64): the 3x3 convolution has
   * floor(planes * baseWidth / 64) * groups channels, as torchvision (ResNeXt-50 32x4d: groups 32,
   * baseWidth 4; Wide ResNet-50-2: baseWidth 128).
   */
  baseWidth?: number;
  /** The shortcut when the shape changes: 'projection' (default) or 'zero-pad'. */
  shortcut?: ShortcutKind;
  /** Add the shortcut (default true); false gives a plain block without the skip connection. */
  residual?: boolean;
}

const BLOCK_OPTIONS = ['stride', 'groups', 'baseWidth', 'shortcut', 'residual'];

interface BlockConfig {
  inplanes: number;
  planes: number;
  stride: number;
  groups: number;
  baseWidth: number;
  shortcut: ShortcutKind;
  residual: boolean;
}

function blockConfig(
  owner: string,
  inplanes: number,
  planes: number,
  opts: ResidualBlockOptions | undefined,
  grouped: boolean,
): BlockConfig {
  const o = opts ?? {};
  checkOptions(owner, o, BLOCK_OPTIONS);
  const cfg: BlockConfig = {
    inplanes: positiveInt(owner, 'inplanes', inplanes),
    planes: positiveInt(owner, 'planes', planes),
    stride: positiveInt(owner, 'stride', o.stride ?? 1),
    groups: positiveInt(owner, 'groups', o.groups ?? 1),
    baseWidth: positiveInt(owner, 'baseWidth', o.baseWidth ?? 64),
    shortcut: oneOf(owner, 'shortcut', o.shortcut ?? 'projection', SHORTCUT_KINDS),
    residual: o.residual ?? true,
  };
  if (typeof cfg.residual !== 'boolean') {
    throw new TypeError(`${owner}: residual must be a boolean, got ${JSON.stringify(o.residual)}`);
  }
  if (!grouped && (cfg.groups !== 1 || cfg.baseWidth !== 64)) {
    throw new RangeError(
      `${owner}: only groups 1 and baseWidth 64 are supported (as torchvision's BasicBlock), got groups ${cfg.groups} and baseWidth ${cfg.baseWidth}; use a bottleneck block for ResNeXt or wide networks`,
    );
  }
  return cfg;
}

/** A bias-free 3x3 convolution with padding 1: every convolution of a residual branch has no bias, since a batch norm follows. */
function conv3x3(inC: number, outC: number, stride = 1, groups = 1): Conv2d {
  return new Conv2d(inC, outC, 3, { stride, padding: 1, groups, bias: false });
}

function conv1x1(inC: number, outC: number, stride = 1): Conv2d {
  return new Conv2d(inC, outC, 1, { stride, bias: false });
}

/**
 * relu(bn(x) + shortcut()) (shortcut null: relu(bn(x))), the tail of every post-activation
 * block: one fused op when nothing can observe the values in between (fusedBatchNormRelu), else
 * the layers one by one, in that order.
 */
export function bnRelu(
  bn: BatchNorm2d,
  relu: ReLU,
  x: Tensor,
  shortcut: (() => Tensor) | null,
): Tensor {
  if (!canFuseBatchNormRelu(bn, relu)) {
    const y = bn.call(x);
    return relu.call(shortcut === null ? y : add(y, shortcut()));
  }
  const residual = shortcut === null ? null : shortcut();
  const fused = fusedBatchNormRelu(bn, relu, x, residual);
  if (fused !== null) return fused;
  const y = bn.call(x);
  return relu.call(residual === null ? y : add(y, residual));
}

/**
 * The parameter-free shortcut of He et al.'s CIFAR networks ("option A"): keeps every stride-th
 * pixel and zero-pads the channels from inChannels to outChannels, half of the new channels
 * before the input's and half after (as the widely used PyTorch reimplementation does, so its
 * weights load).
 */
export class ZeroPadShortcut extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: number;

  constructor(inChannels: number, outChannels: number, stride = 1) {
    super();
    const fn = 'ZeroPadShortcut';
    this.inChannels = positiveInt(fn, 'inChannels', inChannels);
    this.outChannels = positiveInt(fn, 'outChannels', outChannels);
    this.stride = positiveInt(fn, 'stride', stride);
    if (outChannels < inChannels) {
      throw new RangeError(
        `${fn}: outChannels (${outChannels}) must be at least inChannels (${inChannels}): zero padding cannot remove channels`,
      );
    }
  }

  forward(x: Tensor): Tensor {
    const name = `ZeroPadShortcut(${this.inChannels}->${this.outChannels})`;
    if (!(x instanceof Tensor))
      throw new TypeError(`${name}: input must be a Tensor, got ${typeof x}`);
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new RangeError(
        `${name}: expected 4-D NCHW input with ${this.inChannels} channels, got shape ${formatShape(x.shape)}`,
      );
    }
    // A 1x1 max-pool with stride s is exactly x[:, :, ::s, ::s], and runs on the native kernels.
    const sub = this.stride === 1 ? x : maxPool2d(x, 1, { stride: this.stride });
    const extra = this.outChannels - this.inChannels;
    if (extra === 0) return sub;
    const [n, , h, w] = sub.shape;
    const before = Math.floor(extra / 2);
    const parts: Tensor[] = [];
    if (before > 0) parts.push(zeros([n, before, h, w]));
    parts.push(sub);
    if (extra - before > 0) parts.push(zeros([n, extra - before, h, w]));
    return concat(parts, 1);
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, stride=${this.stride}`;
  }
}

function makeShortcut(cfg: BlockConfig, outChannels: number, withNorm: boolean): Module | null {
  if (!cfg.residual) return null;
  if (cfg.stride === 1 && cfg.inplanes === outChannels) return null;
  if (cfg.shortcut === 'zero-pad')
    return new ZeroPadShortcut(cfg.inplanes, outChannels, cfg.stride);
  const proj = conv1x1(cfg.inplanes, outChannels, cfg.stride);
  return withNorm ? new Sequential(proj, new BatchNorm2d(outChannels)) : new Sequential(proj);
}

function checkBlockInput(block: ResidualBlock, x: unknown): Tensor {
  const name = `${block.typeName}(${block.inplanes}->${block.outChannels})`;
  if (!(x instanceof Tensor))
    throw new TypeError(`${name}: input must be a Tensor, got ${typeof x}`);
  if (x.ndim !== 4 || x.shape[1] !== block.inplanes) {
    throw new RangeError(
      `${name}: expected 4-D NCHW input with ${block.inplanes} channels, got shape ${formatShape(x.shape)}`,
    );
  }
  return x;
}

/** What all residual blocks share: their geometry and the zero-init of the residual branch. */
export abstract class ResidualBlock extends Module {
  declare readonly downsample: Module | null;
  readonly inplanes: number;
  readonly planes: number;
  readonly stride: number;
  /** Whether the block adds its shortcut (false: a plain block). */
  readonly residual: boolean;
  /** Channels out: planes * expansion. */
  abstract readonly outChannels: number;

  protected constructor(cfg: BlockConfig) {
    super();
    this.inplanes = cfg.inplanes;
    this.planes = cfg.planes;
    this.stride = cfg.stride;
    this.residual = cfg.residual;
  }

  /**
   * Makes the residual branch output zero, so the block starts as its shortcut (Goyal et al.
   * 2017; torchvision's zero_init_residual).
   */
  abstract zeroInitResidual(): void;

  protected shortcutOf(x: Tensor): Tensor {
    return this.downsample === null ? x : (this.downsample.call as (t: Tensor) => Tensor)(x);
  }

  /** The shortcut of x, to be computed when the block adds it; null for a plain block. */
  protected shortcutFn(x: Tensor): (() => Tensor) | null {
    return this.residual ? () => this.shortcutOf(x) : null;
  }
}

/** ResNet-18/34's block: two 3x3 convolutions (torchvision's BasicBlock, expansion 1). */
export class BasicBlock extends ResidualBlock {
  static readonly expansion = 1;
  declare readonly conv1: Conv2d;
  declare readonly bn1: BatchNorm2d;
  declare readonly relu: ReLU;
  declare readonly conv2: Conv2d;
  declare readonly bn2: BatchNorm2d;
  readonly outChannels: number;

  constructor(inplanes: number, planes: number, opts?: ResidualBlockOptions) {
    const cfg = blockConfig('BasicBlock', inplanes, planes, opts, false);
    super(cfg);
    this.outChannels = cfg.planes;
    this.registerModule('conv1', conv3x3(cfg.inplanes, cfg.planes, cfg.stride));
    this.registerModule('bn1', new BatchNorm2d(cfg.planes));
    this.registerModule('relu', new ReLU());
    this.registerModule('conv2', conv3x3(cfg.planes, cfg.planes));
    this.registerModule('bn2', new BatchNorm2d(cfg.planes));
    this.registerModule('downsample', makeShortcut(cfg, this.outChannels, true));
  }

  zeroInitResidual(): void {
    this.bn2.weight?.data.fill(0);
  }

  forward(x: Tensor): Tensor {
    checkBlockInput(this, x);
    const out = bnRelu(this.bn1, this.relu, this.conv1.call(x), null);
    return bnRelu(this.bn2, this.relu, this.conv2.call(out), this.shortcutFn(x));
  }

  override extraRepr(): string {
    return `${this.inplanes}, ${this.planes}, stride=${this.stride}${this.residual ? '' : ', residual=false'}`;
  }
}

/**
 * ResNet-50+'s block: 1x1 reduce, 3x3 (strided, grouped for ResNeXt), 1x1 expand to 4 * planes
 * (torchvision's Bottleneck, "ResNet v1.5": the stride sits on the 3x3 convolution).
 */
export class Bottleneck extends ResidualBlock {
  static readonly expansion = 4;
  declare readonly conv1: Conv2d;
  declare readonly bn1: BatchNorm2d;
  declare readonly conv2: Conv2d;
  declare readonly bn2: BatchNorm2d;
  declare readonly conv3: Conv2d;
  declare readonly bn3: BatchNorm2d;
  declare readonly relu: ReLU;
  readonly outChannels: number;
  /** Channels of the 3x3 convolution. */
  readonly width: number;
  readonly groups: number;

  constructor(inplanes: number, planes: number, opts?: ResidualBlockOptions) {
    const cfg = blockConfig('Bottleneck', inplanes, planes, opts, true);
    super(cfg);
    this.groups = cfg.groups;
    this.width = bottleneckWidth(cfg.planes, cfg.baseWidth, cfg.groups);
    this.outChannels = cfg.planes * Bottleneck.expansion;
    const w = this.width;
    this.registerModule('conv1', conv1x1(cfg.inplanes, w));
    this.registerModule('bn1', new BatchNorm2d(w));
    this.registerModule('conv2', conv3x3(w, w, cfg.stride, cfg.groups));
    this.registerModule('bn2', new BatchNorm2d(w));
    this.registerModule('conv3', conv1x1(w, this.outChannels));
    this.registerModule('bn3', new BatchNorm2d(this.outChannels));
    this.registerModule('relu', new ReLU());
    this.registerModule('downsample', makeShortcut(cfg, this.outChannels, true));
  }

  zeroInitResidual(): void {
    this.bn3.weight?.data.fill(0);
  }

  forward(x: Tensor): Tensor {
    checkBlockInput(this, x);
    let out = bnRelu(this.bn1, this.relu, this.conv1.call(x), null);
    out = bnRelu(this.bn2, this.relu, this.conv2.call(out), null);
    return bnRelu(this.bn3, this.relu, this.conv3.call(out), this.shortcutFn(x));
  }

  override extraRepr(): string {
    const extra = this.groups !== 1 ? `, groups=${this.groups}` : '';
    return `${this.inplanes}, ${this.planes}, width=${this.width}, stride=${this.stride}${extra}${this.residual ? '' : ', residual=false'}`;
  }
}

/** torchvision's bottleneck width: int(planes * (base_width / 64.)) * groups. */
export function bottleneckWidth(planes: number, baseWidth: number, groups: number): number {
  return Math.floor((planes * baseWidth) / 64) * groups;
}

/**
 * The pre-activation basic block of "Identity Mappings in Deep Residual Networks" (He et al.
 * 2016): bn-relu-conv twice, and nothing after the addition, so the identity path from input to
 * output is clean. A projection shortcut (a bare 1x1 conv, `downsample.0`) sees the pre-activated
 * input, as in the paper's code.
 */
export class PreActBasicBlock extends ResidualBlock {
  static readonly expansion = 1;
  declare readonly bn1: BatchNorm2d;
  declare readonly conv1: Conv2d;
  declare readonly bn2: BatchNorm2d;
  declare readonly conv2: Conv2d;
  declare readonly relu: ReLU;
  readonly outChannels: number;

  constructor(inplanes: number, planes: number, opts?: ResidualBlockOptions) {
    const cfg = blockConfig('PreActBasicBlock', inplanes, planes, opts, false);
    super(cfg);
    this.outChannels = cfg.planes;
    this.registerModule('bn1', new BatchNorm2d(cfg.inplanes));
    this.registerModule('conv1', conv3x3(cfg.inplanes, cfg.planes, cfg.stride));
    this.registerModule('bn2', new BatchNorm2d(cfg.planes));
    this.registerModule('conv2', conv3x3(cfg.planes, cfg.planes));
    this.registerModule('relu', new ReLU());
    this.registerModule('downsample', makeShortcut(cfg, this.outChannels, false));
  }

  /**
   * Zeroes the last convolution's weight. (Zeroing bn2's weight, as for post-activation blocks,
   * would feed relu(0) to conv2: ReLU's zero gradient at 0 would then keep that weight at zero
   * forever.)
   */
  zeroInitResidual(): void {
    this.conv2.weight.data.fill(0);
  }

  forward(x: Tensor): Tensor {
    checkBlockInput(this, x);
    const pre = this.relu.call(this.bn1.call(x));
    let out = this.conv1.call(pre);
    out = this.conv2.call(this.relu.call(this.bn2.call(out)));
    if (!this.residual) return out;
    return add(out, preActShortcut(this, x, pre));
  }

  override extraRepr(): string {
    return `${this.inplanes}, ${this.planes}, stride=${this.stride}${this.residual ? '' : ', residual=false'}`;
  }
}

/** A projection sees the pre-activated input; the identity and the zero-pad shortcut see x itself. */
function preActShortcut(block: ResidualBlock, x: Tensor, pre: Tensor): Tensor {
  const d = block.downsample;
  if (d === null) return x;
  return (d.call as (t: Tensor) => Tensor)(d instanceof ZeroPadShortcut ? x : pre);
}

/** The pre-activation bottleneck (He et al. 2016): bn-relu-conv1x1, bn-relu-conv3x3, bn-relu-conv1x1. */
export class PreActBottleneck extends ResidualBlock {
  static readonly expansion = 4;
  declare readonly bn1: BatchNorm2d;
  declare readonly conv1: Conv2d;
  declare readonly bn2: BatchNorm2d;
  declare readonly conv2: Conv2d;
  declare readonly bn3: BatchNorm2d;
  declare readonly conv3: Conv2d;
  declare readonly relu: ReLU;
  readonly outChannels: number;
  readonly width: number;
  readonly groups: number;

  constructor(inplanes: number, planes: number, opts?: ResidualBlockOptions) {
    const cfg = blockConfig('PreActBottleneck', inplanes, planes, opts, true);
    super(cfg);
    this.groups = cfg.groups;
    this.width = bottleneckWidth(cfg.planes, cfg.baseWidth, cfg.groups);
    this.outChannels = cfg.planes * PreActBottleneck.expansion;
    const w = this.width;
    this.registerModule('bn1', new BatchNorm2d(cfg.inplanes));
    this.registerModule('conv1', conv1x1(cfg.inplanes, w));
    this.registerModule('bn2', new BatchNorm2d(w));
    this.registerModule('conv2', conv3x3(w, w, cfg.stride, cfg.groups));
    this.registerModule('bn3', new BatchNorm2d(w));
    this.registerModule('conv3', conv1x1(w, this.outChannels));
    this.registerModule('relu', new ReLU());
    this.registerModule('downsample', makeShortcut(cfg, this.outChannels, false));
  }

  /** Zeroes the last convolution's weight (see PreActBasicBlock.zeroInitResidual). */
  zeroInitResidual(): void {
    this.conv3.weight.data.fill(0);
  }

  forward(x: Tensor): Tensor {
    checkBlockInput(this, x);
    const pre = this.relu.call(this.bn1.call(x));
    let out = this.conv1.call(pre);
    out = this.conv2.call(this.relu.call(this.bn2.call(out)));
    out = this.conv3.call(this.relu.call(this.bn3.call(out)));
    if (!this.residual) return out;
    return add(out, preActShortcut(this, x, pre));
  }

  override extraRepr(): string {
    const extra = this.groups !== 1 ? `, groups=${this.groups}` : '';
    return `${this.inplanes}, ${this.planes}, width=${this.width}, stride=${this.stride}${extra}${this.residual ? '' : ', residual=false'}`;
  }
}
