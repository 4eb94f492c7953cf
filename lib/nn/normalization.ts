/** Batch normalization layers: BatchNorm1d and BatchNorm2d. */
import { batchNorm, batchNormRelu, type BatchNormOptions } from '../functional/normalization.js';
import { formatShape, full, Tensor, zeros } from '../tensor.js';
import { Module } from './module.js';
import { boolOption, checkOptions, positiveInt } from './options.js';

export interface BatchNormLayerOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Weight of each new batch in the running statistics (default 0.1); null for a cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel scale (weight) and shift (bias) (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true); without them, eval mode uses batch statistics. */
  trackRunningStats?: boolean;
}

/**
 * PyTorch's _BatchNorm: parameters `weight` (ones) and `bias` (zeros) when affine, buffers
 * `running_mean` (zeros), `running_var` (ones) and `num_batches_tracked` (int32 0) when tracking.
 */
abstract class BatchNorm extends Module {
  declare readonly weight: Tensor | null;
  declare readonly bias: Tensor | null;
  declare readonly running_mean: Tensor | null;
  declare readonly running_var: Tensor | null;
  declare readonly num_batches_tracked: Tensor | null;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  protected abstract checkInput(x: Tensor): void;

  constructor(owner: string, numFeatures: number, opts: BatchNormLayerOptions | undefined) {
    super();
    const o = checkOptions(owner, opts, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    this.numFeatures = positiveInt(owner, 'numFeatures', numFeatures);
    const eps = o.eps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) {
      throw new RangeError(`${owner}: eps must be a positive number, got ${String(eps)}`);
    }
    this.eps = eps;
    const momentum = o.momentum === undefined ? 0.1 : o.momentum;
    if (momentum !== null && (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1))) {
      throw new RangeError(
        `${owner}: momentum must be a number in [0, 1] or null, got ${String(momentum)}`,
      );
    }
    this.momentum = momentum;
    this.affine = boolOption(owner, 'affine', o.affine, true);
    this.trackRunningStats = boolOption(owner, 'trackRunningStats', o.trackRunningStats, true);
    this.registerParameter('weight', this.affine ? full([numFeatures], 1) : null);
    this.registerParameter('bias', this.affine ? zeros([numFeatures]) : null);
    this.registerBuffer('running_mean', this.trackRunningStats ? zeros([numFeatures]) : null);
    this.registerBuffer('running_var', this.trackRunningStats ? full([numFeatures], 1) : null);
    this.registerBuffer(
      'num_batches_tracked',
      this.trackRunningStats ? zeros([], { dtype: 'int32' }) : null,
    );
  }

  /** Zeroes the running mean and count, and sets the running variance to one. */
  resetRunningStats(): void {
    this.running_mean?.data.fill(0);
    this.running_var?.data.fill(1);
    this.num_batches_tracked?.data.fill(0);
  }

  forward(x: Tensor): Tensor {
    const a = this.prepare(x);
    return batchNorm(x, a.runningMean, a.runningVar, this.weight, this.bias, a.opts);
  }

  /**
   * relu(forward(x) + residual) (residual may be null) as one op, functional.batchNormRelu, with
   * the same bookkeeping (batch count, running statistics). For the blocks that own this layer,
   * when nothing can observe its output (see fusedBatchNormRelu).
   * @internal
   */
  forwardRelu(x: Tensor, residual: Tensor | null): Tensor {
    const a = this.prepare(x);
    return batchNormRelu(x, a.runningMean, a.runningVar, this.weight, this.bias, {
      ...a.opts,
      residual,
    });
  }

  /** Checks x, counts the batch, and picks the statistics forward normalizes with. */
  private prepare(x: Tensor): {
    runningMean: Tensor | null;
    runningVar: Tensor | null;
    opts: BatchNormOptions;
  } {
    this.checkInput(x);
    let factor = this.momentum ?? 0;
    if (this.training && this.num_batches_tracked !== null) {
      this.num_batches_tracked.data[0] += 1;
      // momentum null: the running statistics are the plain average of all batches seen.
      if (this.momentum === null) factor = 1 / this.num_batches_tracked.data[0];
    }
    const useBatchStats = this.training || this.running_mean === null;
    const track = !this.training || this.trackRunningStats;
    return {
      runningMean: track ? this.running_mean : null,
      runningVar: track ? this.running_var : null,
      opts: { training: useBatchStats, momentum: factor, eps: this.eps },
    };
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** BatchNorm1d(numFeatures, { eps, momentum, affine, trackRunningStats }) over [N, C] or [N, C, L] input. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, opts?: BatchNormLayerOptions) {
    super('BatchNorm1d', numFeatures, opts);
  }

  protected checkInput(x: Tensor): void {
    const name = `BatchNorm1d(${this.numFeatures})`;
    if (!(x instanceof Tensor))
      throw new TypeError(`${name}: input must be a Tensor, got ${typeof x}`);
    if (x.ndim !== 2 && x.ndim !== 3) {
      throw new RangeError(
        `${name}: expected 2-D [N, C] or 3-D [N, C, L] input, got shape ${formatShape(x.shape)}`,
      );
    }
    if (x.shape[1] !== this.numFeatures) {
      throw new RangeError(
        `${name}: expected input with ${this.numFeatures} features, got shape ${formatShape(x.shape)}`,
      );
    }
  }
}

/** BatchNorm2d(numFeatures, { eps, momentum, affine, trackRunningStats }) over [N, C, H, W] input. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, opts?: BatchNormLayerOptions) {
    super('BatchNorm2d', numFeatures, opts);
  }

  protected checkInput(x: Tensor): void {
    const name = `BatchNorm2d(${this.numFeatures})`;
    if (!(x instanceof Tensor))
      throw new TypeError(`${name}: input must be a Tensor, got ${typeof x}`);
    if (x.ndim !== 4)
      throw new RangeError(`${name}: expected 4-D NCHW input, got shape ${formatShape(x.shape)}`);
    if (x.shape[1] !== this.numFeatures) {
      throw new RangeError(
        `${name}: expected input with ${this.numFeatures} channels, got shape ${formatShape(x.shape)}`,
      );
    }
  }
}
