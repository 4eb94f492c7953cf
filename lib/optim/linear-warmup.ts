/**
 * LinearWarmup: the lr rises linearly from startFactor * initialLr to initialLr over warmupSteps
 * steps, then another schedule takes over, counting its own steps from 0 at the end of the warmup
 * (as torch's SequentialLR([LinearLR(startFactor, 1, warmupSteps), after], milestones=[warmupSteps])).
 *
 * Without `after`, the lr is left alone once the warmup is over (like torch's chainable LinearLR), so
 * that another controller, such as ReduceLROnPlateau, can take over from there.
 */
import { checkInteger, checkNumberInRange, describeValue } from './optimizer.js';
import {
  LRScheduler,
  checkSchedulerOptions,
  type AnyOptimizer,
  type LRSchedulerStateDict,
} from './scheduler.js';

export interface LinearWarmupOptions {
  /** Steps to reach the initial lr (the lr of step warmupSteps is the initial lr). */
  warmupSteps: number;
  /** The fraction of the initial lr at step 0, in [0, 1]. */
  startFactor: number;
  /** The schedule that follows; it must be made on the same optimizer (before this one). */
  after?: LRScheduler;
}

export class LinearWarmup extends LRScheduler {
  readonly warmupSteps: number;
  readonly startFactor: number;
  readonly after: LRScheduler | undefined;

  constructor(optimizer: AnyOptimizer, options: LinearWarmupOptions) {
    const o = checkSchedulerOptions('LinearWarmup', options, [
      'warmupSteps',
      'startFactor',
      'after',
    ]);
    const warmupSteps = checkInteger('LinearWarmup', 'warmupSteps', o.warmupSteps, 1);
    const startFactor = checkNumberInRange('LinearWarmup', 'startFactor', o.startFactor, 0, 1);
    const after = o.after;
    if (after !== undefined) {
      if (!(after instanceof LRScheduler)) {
        throw new TypeError(
          `LinearWarmup: after must be a step-counting scheduler (StepLR, CosineAnnealingLR, ...), got ${describeValue(after)}; to continue with ReduceLROnPlateau, leave out after and call the plateau scheduler once the warmup is over`,
        );
      }
      if (after.optimizer !== optimizer) {
        throw new Error(`LinearWarmup: after (${after.name}) was made for a different optimizer`);
      }
    }
    super('LinearWarmup', optimizer);
    this.warmupSteps = warmupSteps;
    this.startFactor = startFactor;
    this.after = after;
    this.start();
  }

  protected override lrAt(epoch: number, baseLr: number): number {
    const w = this.warmupSteps;
    return baseLr * (this.startFactor + ((1 - this.startFactor) * Math.min(epoch, w)) / w);
  }

  override lrsAt(epoch: number): number[] {
    if (epoch >= this.warmupSteps && this.after !== undefined)
      return this.after.lrsAt(epoch - this.warmupSteps);
    if (epoch > this.warmupSteps) return this.optimizer.paramGroups.map((g) => g.lr as number);
    return super.lrsAt(epoch);
  }

  override setEpoch(epoch: number): void {
    super.setEpoch(epoch);
    // Keeps the follower's own count (its getLastLr / stateDict) in step with what it scheduled.
    if (this.after !== undefined && epoch >= this.warmupSteps)
      this.after.setEpoch(epoch - this.warmupSteps);
  }

  override stateDict(): LRSchedulerStateDict {
    const sd = super.stateDict();
    if (this.after !== undefined) sd.after = this.after.stateDict();
    return sd;
  }

  override loadStateDict(stateDict: LRSchedulerStateDict): void {
    if (this.after !== undefined) {
      if (
        typeof stateDict !== 'object' ||
        stateDict === null ||
        typeof stateDict.after !== 'object' ||
        stateDict.after === null
      ) {
        throw new Error(
          `LinearWarmup.loadStateDict: this warmup has an 'after' schedule (${this.after.name}) but the state dict holds none`,
        );
      }
      this.after.loadStateDict(stateDict.after as LRSchedulerStateDict);
    }
    super.loadStateDict(stateDict);
  }
}
