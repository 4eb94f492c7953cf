/**
 * Learning-rate schedulers. A scheduler only computes learning rates and writes them into its
 * optimizer's `paramGroups[i].lr`; it never touches params or optimizer state.
 *
 * Counting: a schedule counts calls to `step()`. Construction sets the lr of step 0; the n-th call to
 * `step()` sets the lr of step n. Whether a step is an epoch or a batch is the caller's choice (as in
 * torch), and every length in the options (stepSize, milestones, tMax, warmupSteps) is in those units.
 * Call it after `optimizer.step()`.
 *
 * The epoch-indexed schedules here use the closed form relative to each group's initial lr
 * (`group.initialLr`, set from `group.lr` by the first scheduler attached to the optimizer), so they
 * set the same lr as torch's `_get_closed_form_lr`. As a consequence, two of them attached to the
 * same optimizer do not multiply: the last to step wins. To run one schedule after another, use
 * LinearWarmup's `after`.
 */
import {
  Optimizer,
  checkInteger,
  checkKnownKeys,
  checkNumberInRange,
  describeValue,
  isPlainObject,
} from './optimizer.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOptimizer = Optimizer<any, any>;

export interface LRSchedulerStateDict {
  /** Number of step() calls so far. */
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
  [extra: string]: unknown;
}

export function checkOptimizer(where: string, optimizer: unknown): AnyOptimizer {
  if (!(optimizer instanceof Optimizer)) {
    throw new TypeError(
      `${where}: optimizer must be an Optimizer (SGD, Adam, ...), got ${describeValue(optimizer)}`,
    );
  }
  return optimizer;
}

export function checkSchedulerOptions(
  where: string,
  options: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (!isPlainObject(options))
    throw new TypeError(`${where}: options must be an object, got ${describeValue(options)}`);
  checkKnownKeys(where, options, known);
  return options;
}

/** The base of the epoch-indexed schedulers: lr = f(step count, group's initial lr). */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** Used in error messages. */
  readonly name: string;
  private epoch = 0;
  private baseLrsValue: number[];
  private lastLrValue: number[] = [];

  protected constructor(name: string, optimizer: unknown) {
    this.name = name;
    this.optimizer = checkOptimizer(name, optimizer);
    for (const g of this.optimizer.paramGroups) {
      if (g.initialLr === undefined) g.initialLr = g.lr;
    }
    this.baseLrsValue = this.optimizer.paramGroups.map((g) => g.initialLr as number);
  }

  /** Sets the lrs of step 0; subclasses call it last in their constructor, once their options are set. */
  protected start(): void {
    this.setEpoch(0);
  }

  /** The lr of one group, with initial lr `baseLr`, after `epoch` steps. */
  protected abstract lrAt(epoch: number, baseLr: number): number;

  /** The lrs the schedule gives after `epoch` steps (without applying them). */
  lrsAt(epoch: number): number[] {
    return this.baseLrsValue.map((b) => this.lrAt(epoch, b));
  }

  /** The count of step() calls so far. */
  get lastEpoch(): number {
    return this.epoch;
  }

  /** The initial lr of each group, which the schedule is relative to. */
  get baseLrs(): readonly number[] {
    return this.baseLrsValue;
  }

  /** Advances the schedule by one and writes the new lrs into the optimizer's groups. */
  step(): void {
    this.setEpoch(this.epoch + 1);
  }

  /** Jumps to step `epoch` and writes its lrs (for resuming, or for a schedule driving another). */
  setEpoch(epoch: number): void {
    checkInteger(`${this.name}.setEpoch`, 'epoch', epoch, 0);
    const groups = this.optimizer.paramGroups;
    if (groups.length !== this.baseLrsValue.length) {
      throw new Error(
        `${this.name}: the optimizer has ${groups.length} param groups but the scheduler was made for ${this.baseLrsValue.length}; make the scheduler after adding param groups`,
      );
    }
    const lrs = this.lrsAt(epoch);
    for (let i = 0; i < groups.length; i++) groups[i].lr = lrs[i];
    this.epoch = epoch;
    this.lastLrValue = lrs;
  }

  /** The lrs set by the last step (or by construction). */
  getLastLr(): number[] {
    return [...this.lastLrValue];
  }

  /** A JSON-able copy of the schedule's position. */
  stateDict(): LRSchedulerStateDict {
    return {
      lastEpoch: this.epoch,
      baseLrs: [...this.baseLrsValue],
      lastLr: [...this.lastLrValue],
    };
  }

  /** Restores a stateDict() and writes the lrs of the restored step into the optimizer. */
  loadStateDict(stateDict: LRSchedulerStateDict): void {
    const where = `${this.name}.loadStateDict`;
    if (!isPlainObject(stateDict))
      throw new TypeError(`${where}: expected an object, got ${describeValue(stateDict)}`);
    const epoch = checkInteger(where, 'lastEpoch', stateDict.lastEpoch, 0);
    const base = stateDict.baseLrs;
    const n = this.optimizer.paramGroups.length;
    if (!Array.isArray(base) || base.length !== n) {
      throw new Error(
        `${where}: baseLrs must be an array of ${n} lrs (one per param group), got ${describeValue(base)}`,
      );
    }
    base.forEach((b, i) => checkNumberInRange(where, `baseLrs[${i}]`, b, 0, Infinity));
    this.baseLrsValue = [...base];
    this.setEpoch(epoch);
  }
}

export interface StepLROptions {
  /** Decay every stepSize steps. */
  stepSize: number;
  /** Multiplier per decay (default 0.1). */
  gamma?: number;
}

/** lr = initialLr * gamma^floor(step / stepSize). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, options: StepLROptions) {
    const o = checkSchedulerOptions('StepLR', options, ['stepSize', 'gamma']);
    const stepSize = checkInteger('StepLR', 'stepSize', o.stepSize, 1);
    const gamma = checkNumberInRange('StepLR', 'gamma', o.gamma ?? 0.1, 0, Infinity, {
      minOpen: true,
    });
    super('StepLR', optimizer);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.start();
  }

  protected override lrAt(epoch: number, baseLr: number): number {
    return baseLr * Math.pow(this.gamma, Math.floor(epoch / this.stepSize));
  }
}

export interface MultiStepLROptions {
  /** The steps at which to decay; a step listed twice decays twice (as in torch). */
  milestones: number[];
  /** Multiplier per milestone passed (default 0.1). */
  gamma?: number;
}

/** lr = initialLr * gamma^(number of milestones <= step). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: readonly number[];
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, options: MultiStepLROptions) {
    const o = checkSchedulerOptions('MultiStepLR', options, ['milestones', 'gamma']);
    if (!Array.isArray(o.milestones)) {
      throw new TypeError(
        `MultiStepLR: milestones must be an array of non-negative integers, got ${describeValue(o.milestones)}`,
      );
    }
    o.milestones.forEach((m, i) => checkInteger('MultiStepLR', `milestones[${i}]`, m, 0));
    const milestones = [...(o.milestones as number[])].sort((a, b) => a - b);
    const gamma = checkNumberInRange('MultiStepLR', 'gamma', o.gamma ?? 0.1, 0, Infinity, {
      minOpen: true,
    });
    super('MultiStepLR', optimizer);
    this.milestones = Object.freeze(milestones);
    this.gamma = gamma;
    this.start();
  }

  protected override lrAt(epoch: number, baseLr: number): number {
    let passed = 0;
    while (passed < this.milestones.length && this.milestones[passed] <= epoch) passed++;
    return baseLr * Math.pow(this.gamma, passed);
  }
}

export interface ExponentialLROptions {
  /** Multiplier per step. */
  gamma: number;
}

/** lr = initialLr * gamma^step. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: AnyOptimizer, options: ExponentialLROptions) {
    const o = checkSchedulerOptions('ExponentialLR', options, ['gamma']);
    const gamma = checkNumberInRange('ExponentialLR', 'gamma', o.gamma, 0, Infinity, {
      minOpen: true,
    });
    super('ExponentialLR', optimizer);
    this.gamma = gamma;
    this.start();
  }

  protected override lrAt(epoch: number, baseLr: number): number {
    return baseLr * Math.pow(this.gamma, epoch);
  }
}

export interface CosineAnnealingLROptions {
  /** Steps from the initial lr down to etaMin (the cosine continues, rising again, past tMax). */
  tMax: number;
  /** The lowest lr (default 0). */
  etaMin?: number;
}

/** lr = etaMin + (initialLr - etaMin) * (1 + cos(pi * step / tMax)) / 2 (torch's closed form). */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: AnyOptimizer, options: CosineAnnealingLROptions) {
    const o = checkSchedulerOptions('CosineAnnealingLR', options, ['tMax', 'etaMin']);
    const tMax = checkInteger('CosineAnnealingLR', 'tMax', o.tMax, 1);
    const etaMin = checkNumberInRange('CosineAnnealingLR', 'etaMin', o.etaMin ?? 0, 0, Infinity);
    super('CosineAnnealingLR', optimizer);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.start();
  }

  protected override lrAt(epoch: number, baseLr: number): number {
    return (
      this.etaMin + ((baseLr - this.etaMin) * (1 + Math.cos((Math.PI * epoch) / this.tMax))) / 2
    );
  }
}
