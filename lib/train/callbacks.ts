/**
 * Training callbacks: hooks that fit() calls at the start and end of training, of each epoch and
 * of each batch. A user's own callback implements any subset of `Callback`.
 */
import type { Module, StateDict } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';

/** Per-epoch results: loss and metrics on the training data, and `val*` on validation data. */
export type EpochLogs = Record<string, number> & { epoch: number };

/** Running results within an epoch. */
export interface BatchLogs {
  batch: number;
  size: number;
  loss: number;
  [metric: string]: number;
}

export interface TrainContext {
  readonly model: Module;
  readonly optimizer: Optimizer;
  /** Total epochs requested, and the first epoch of this run (non-zero when resuming). */
  readonly epochs: number;
  readonly initialEpoch: number;
  /** Batches per training epoch. */
  readonly stepsPerEpoch: number;
  /** Samples per training epoch. */
  readonly samplesPerEpoch: number;
  /** Completed epochs' logs so far. */
  readonly history: EpochLogs[];
  /** The epoch in progress (0-based). */
  epoch: number;
  /** Set to true to stop after the current batch (early stopping, SIGINT). */
  stopTraining: boolean;
  /** Why training stopped early, when it did. */
  stopReason: string | null;
}

export interface Callback {
  onTrainBegin?(ctx: TrainContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: TrainContext): void | Promise<void>;
  onBatchBegin?(batch: number, ctx: TrainContext): void | Promise<void>;
  onBatchEnd?(batch: number, logs: BatchLogs, ctx: TrainContext): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: EpochLogs, ctx: TrainContext): void | Promise<void>;
  onTrainEnd?(ctx: TrainContext): void | Promise<void>;
}

export type MonitorMode = 'min' | 'max' | 'auto';

/** 'auto' means max for accuracy-like names, min for everything else (losses). */
export function resolveMode(monitor: string, mode: MonitorMode): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return /acc|top\d/i.test(monitor) ? 'max' : 'min';
}

function readMonitored(fn: string, monitor: string, logs: EpochLogs): number {
  const v = logs[monitor];
  if (typeof v !== 'number') {
    throw new Error(
      `${fn}: monitored value '${monitor}' is not in the epoch logs; available: ${Object.keys(logs).join(', ')}`,
    );
  }
  return v;
}

/** Tracks the best value of a monitored quantity, with a minimum improvement. */
class BestTracker {
  best: number;
  constructor(
    readonly mode: 'min' | 'max',
    readonly minDelta: number,
  ) {
    this.best = mode === 'min' ? Infinity : -Infinity;
  }
  improves(v: number): boolean {
    return this.mode === 'min' ? v < this.best - this.minDelta : v > this.best + this.minDelta;
  }
}

function snapshot(sd: StateDict): StateDict {
  const out: StateDict = {};
  for (const [k, t] of Object.entries(sd)) out[k] = t.clone();
  return out;
}

export interface EarlyStoppingOptions {
  /** Logged value to watch (default 'valLoss'). */
  monitor?: string;
  /** Epochs without improvement before stopping (default 5). */
  patience?: number;
  /** The smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  mode?: MonitorMode;
  /** Put back the best epoch's weights when stopping or at the end (default false). */
  restoreBestWeights?: boolean;
}

export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  private tracker: BestTracker;
  private wait = 0;
  private bestWeights: StateDict | null = null;
  /** The epoch (0-based) with the best monitored value, and the epoch training stopped at. */
  bestEpoch = -1;
  stoppedEpoch: number | null = null;

  constructor(opts: EarlyStoppingOptions = {}) {
    this.monitor = opts.monitor ?? 'valLoss';
    this.patience = opts.patience ?? 5;
    if (!Number.isInteger(this.patience) || this.patience < 0) {
      throw new RangeError(
        `earlyStopping: patience must be a non-negative integer, got ${opts.patience}`,
      );
    }
    const minDelta = opts.minDelta ?? 0;
    if (!(minDelta >= 0)) {
      throw new RangeError(
        `earlyStopping: minDelta must be a non-negative number, got ${opts.minDelta}`,
      );
    }
    this.tracker = new BestTracker(resolveMode(this.monitor, opts.mode ?? 'auto'), minDelta);
    this.restoreBestWeights = opts.restoreBestWeights ?? false;
  }

  onTrainBegin(): void {
    this.tracker = new BestTracker(this.tracker.mode, this.tracker.minDelta);
    this.wait = 0;
    this.bestWeights = null;
    this.bestEpoch = -1;
    this.stoppedEpoch = null;
  }

  onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext): void {
    const v = readMonitored('earlyStopping', this.monitor, logs);
    if (this.tracker.improves(v)) {
      this.tracker.best = v;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = snapshot(ctx.model.stateDict());
      return;
    }
    this.wait++;
    if (this.wait > this.patience) {
      this.stoppedEpoch = epoch;
      ctx.stopTraining = true;
      ctx.stopReason = `early stopping: ${this.monitor} did not improve for ${this.wait} epochs (best ${this.tracker.best.toPrecision(4)} at epoch ${this.bestEpoch + 1})`;
    }
  }

  onTrainEnd(ctx: TrainContext): void {
    if (this.restoreBestWeights && this.bestWeights !== null)
      ctx.model.loadStateDict(this.bestWeights);
  }
}

export function earlyStopping(opts: EarlyStoppingOptions = {}): EarlyStopping {
  return new EarlyStopping(opts);
}

/** Saves a checkpoint; fit's callers pass the saving function (io/checkpoint.ts provides one). */
export type CheckpointWriter = (
  ctx: TrainContext,
  epoch: number,
  logs: EpochLogs,
) => void | Promise<void>;

export interface ModelCheckpointOptions {
  /** Write only when the monitored value improves (default false: every epoch). */
  saveBestOnly?: boolean;
  monitor?: string;
  mode?: MonitorMode;
}

export class ModelCheckpoint implements Callback {
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  private tracker: BestTracker;
  /** Epochs (0-based) at which a checkpoint was written. */
  readonly savedEpochs: number[] = [];

  constructor(
    private readonly write: CheckpointWriter,
    opts: ModelCheckpointOptions = {},
  ) {
    if (typeof write !== 'function') {
      throw new TypeError(`modelCheckpoint: write must be a function, got ${typeof write}`);
    }
    this.monitor = opts.monitor ?? 'valLoss';
    this.saveBestOnly = opts.saveBestOnly ?? false;
    this.tracker = new BestTracker(resolveMode(this.monitor, opts.mode ?? 'auto'), 0);
  }

  async onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext): Promise<void> {
    if (this.saveBestOnly) {
      const v = readMonitored('modelCheckpoint', this.monitor, logs);
      if (!this.tracker.improves(v)) return;
      this.tracker.best = v;
    }
    await this.write(ctx, epoch, logs);
    this.savedEpochs.push(epoch);
  }
}

/** Anything that computes learning rates: step() per call, or step(metric) for plateau schedules. */
export interface SchedulerLike {
  step(metric?: number): void;
}

export interface SchedulerStepOptions {
  /** 'epoch' (default) steps after each epoch, 'batch' after each optimizer step. */
  interval?: 'epoch' | 'batch';
  /** For metric-driven schedules (ReduceLROnPlateau): the logged value passed to step(). */
  monitor?: string;
}

/** Steps a learning-rate schedule at the end of each epoch or batch. */
export class SchedulerStep implements Callback {
  readonly interval: 'epoch' | 'batch';
  constructor(
    readonly scheduler: SchedulerLike,
    readonly opts: SchedulerStepOptions = {},
  ) {
    this.interval = opts.interval ?? 'epoch';
    if (this.interval !== 'epoch' && this.interval !== 'batch') {
      throw new RangeError(
        `schedulerStep: interval must be 'epoch' or 'batch', got ${JSON.stringify(opts.interval)}`,
      );
    }
  }
  onBatchEnd(): void {
    if (this.interval === 'batch') this.scheduler.step();
  }
  onEpochEnd(_epoch: number, logs: EpochLogs): void {
    if (this.interval !== 'epoch') return;
    if (this.opts.monitor !== undefined)
      this.scheduler.step(readMonitored('schedulerStep', this.opts.monitor, logs));
    else this.scheduler.step();
  }
}

export function schedulerStep(
  scheduler: SchedulerLike,
  opts?: SchedulerStepOptions,
): SchedulerStep {
  return new SchedulerStep(scheduler, opts);
}
