/**
 * ReduceLROnPlateau: multiplies the lr of every group by `factor` when a metric has stopped
 * improving for more than `patience` calls, as torch.optim.lr_scheduler.ReduceLROnPlateau. Unlike
 * the step-counting schedules it works on the current lr, so it composes with a warmup that has
 * finished (LinearWarmup without `after`). Call `step(metric)` once per evaluation, usually per epoch.
 */
import { Tensor } from '../tensor.js';
import { checkInteger, checkNumberInRange, describeValue } from './optimizer.js';
import { checkOptimizer, checkSchedulerOptions, type AnyOptimizer } from './scheduler.js';

export interface ReduceLROnPlateauOptions {
  /** 'min': lower is better (a loss); 'max': higher is better (an accuracy). Default 'min'. */
  mode?: 'min' | 'max';
  /** Multiplier on reduction, in [0, 1) (default 0.1). */
  factor?: number;
  /** Calls without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** How much better a metric must be to count as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel': better than best * (1 -/+ threshold); 'abs': better than best -/+ threshold. Default 'rel'. */
  thresholdMode?: 'rel' | 'abs';
  /** Calls after a reduction during which bad calls are not counted (default 0). */
  cooldown?: number;
  /** Floor on the lr, for all groups or one per group (default 0). */
  minLr?: number | number[];
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
}

export interface ReduceLROnPlateauStateDict {
  lastEpoch: number;
  /** The best metric so far; null before the first one counted (JSON has no Infinity). */
  best: number | null;
  numBadEpochs: number;
  cooldownCounter: number;
}

const NAME = 'ReduceLROnPlateau';

export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: readonly number[];
  readonly eps: number;
  private lastEpochValue = 0;
  private bestValue: number;
  private numBad = 0;
  private cooldownLeft = 0;

  constructor(optimizer: AnyOptimizer, options: ReduceLROnPlateauOptions = {}) {
    this.optimizer = checkOptimizer(NAME, optimizer);
    const o = checkSchedulerOptions(NAME, options, [
      'mode',
      'factor',
      'patience',
      'threshold',
      'thresholdMode',
      'cooldown',
      'minLr',
      'eps',
    ]);
    const mode = o.mode ?? 'min';
    if (mode !== 'min' && mode !== 'max')
      throw new RangeError(`${NAME}: mode must be 'min' or 'max', got ${describeValue(mode)}`);
    this.mode = mode;
    const thresholdMode = o.thresholdMode ?? 'rel';
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') {
      throw new RangeError(
        `${NAME}: thresholdMode must be 'rel' or 'abs', got ${describeValue(thresholdMode)}`,
      );
    }
    this.thresholdMode = thresholdMode;
    this.factor = checkNumberInRange(NAME, 'factor', o.factor ?? 0.1, 0, 1, { maxOpen: true });
    this.patience = checkInteger(NAME, 'patience', o.patience ?? 10, 0);
    this.threshold = checkNumberInRange(NAME, 'threshold', o.threshold ?? 1e-4, 0, Infinity);
    this.cooldown = checkInteger(NAME, 'cooldown', o.cooldown ?? 0, 0);
    this.eps = checkNumberInRange(NAME, 'eps', o.eps ?? 1e-8, 0, Infinity);
    const groups = this.optimizer.paramGroups.length;
    const minLr = o.minLr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== groups) {
        throw new RangeError(
          `${NAME}: minLr must have one value per param group (${groups}), got ${minLr.length}`,
        );
      }
      this.minLrs = Object.freeze(
        minLr.map((v, i) => checkNumberInRange(NAME, `minLr[${i}]`, v, 0, Infinity)),
      );
    } else {
      const v = checkNumberInRange(NAME, 'minLr', minLr, 0, Infinity);
      this.minLrs = Object.freeze(new Array<number>(groups).fill(v));
    }
    this.bestValue = this.worst();
  }

  private worst(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  private isBetter(a: number, best: number): boolean {
    const t = this.threshold;
    if (this.mode === 'min')
      return this.thresholdMode === 'rel' ? a < best * (1 - t) : a < best - t;
    return this.thresholdMode === 'rel' ? a > best * (1 + t) : a > best + t;
  }

  /**
   * Records one value of the metric (a number or a one-element tensor) and reduces the lrs when it
   * has not improved for more than `patience` calls outside a cooldown. A NaN counts as no improvement.
   */
  step(metric: number | Tensor): void {
    const current = metric instanceof Tensor && metric.size === 1 ? metric.item() : metric;
    if (typeof current !== 'number') {
      throw new TypeError(
        `${NAME}.step: metric must be a number or a one-element Tensor, got ${describeValue(metric)}`,
      );
    }
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.minLrs.length) {
      throw new Error(
        `${NAME}: the optimizer has ${groups.length} param groups but the scheduler was made for ${this.minLrs.length}; make the scheduler after adding param groups`,
      );
    }
    this.lastEpochValue++;
    if (this.isBetter(current, this.bestValue)) {
      this.bestValue = current;
      this.numBad = 0;
    } else {
      this.numBad++;
    }
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.numBad = 0;
    }
    if (this.numBad > this.patience) {
      for (let i = 0; i < groups.length; i++) {
        const old = groups[i].lr as number;
        const next = Math.max(old * this.factor, this.minLrs[i]);
        if (old - next > this.eps) groups[i].lr = next;
      }
      this.cooldownLeft = this.cooldown;
      this.numBad = 0;
    }
  }

  /** The current lr of each group. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr as number);
  }

  get lastEpoch(): number {
    return this.lastEpochValue;
  }

  /** The best metric so far (Infinity / -Infinity before the first). */
  get best(): number {
    return this.bestValue;
  }

  get numBadEpochs(): number {
    return this.numBad;
  }

  get inCooldown(): boolean {
    return this.cooldownLeft > 0;
  }

  /** A JSON-able copy of the counters; the options come from the constructor, the lrs from the optimizer's state. */
  stateDict(): ReduceLROnPlateauStateDict {
    return {
      lastEpoch: this.lastEpochValue,
      best: Number.isFinite(this.bestValue) ? this.bestValue : null,
      numBadEpochs: this.numBad,
      cooldownCounter: this.cooldownLeft,
    };
  }

  loadStateDict(stateDict: ReduceLROnPlateauStateDict): void {
    const where = `${NAME}.loadStateDict`;
    if (typeof stateDict !== 'object' || stateDict === null) {
      throw new TypeError(`${where}: expected an object, got ${describeValue(stateDict)}`);
    }
    const lastEpoch = checkInteger(where, 'lastEpoch', stateDict.lastEpoch, 0);
    const numBad = checkInteger(where, 'numBadEpochs', stateDict.numBadEpochs, 0);
    const cooldown = checkInteger(where, 'cooldownCounter', stateDict.cooldownCounter, 0);
    const best = stateDict.best;
    if (best !== null && (typeof best !== 'number' || Number.isNaN(best))) {
      throw new TypeError(`${where}: best must be a number or null, got ${describeValue(best)}`);
    }
    this.lastEpochValue = lastEpoch;
    this.numBad = numBad;
    this.cooldownLeft = cooldown;
    this.bestValue = best === null ? this.worst() : best;
  }
}
