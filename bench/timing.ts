/**
 * Repetition and statistics for every bench measurement: warm-up calls first (JIT, caches,
 * scratch growth), then samples; a sample repeats a short call until it lasts long enough that
 * timer resolution and scheduling noise do not dominate. Medians are what the bench reports,
 * because one preempted sample on a shared machine would drag a mean anywhere.
 */

export interface TimingPlan {
  /** Calls before the first sample (at least one always runs: it sizes the samples). */
  warmup: number;
  minReps: number;
  maxReps: number;
  /** Samples are added up to this much total time, within [minReps, maxReps]. */
  budgetSeconds: number;
  /** A sample repeats the call until it lasts at least this long. */
  minSampleSeconds: number;
  /**
   * A call slower than this skips the other warm-ups and counts as the first sample, and the
   * samples may stop at one: the TS backend on big shapes, where each call takes seconds (its code
   * is compiled by then, by smaller shapes or a warm-up at a smaller batch).
   */
  slowCallSeconds?: number;
}

/** Seconds per call. */
export interface Timing {
  median: number;
  min: number;
  max: number;
  /** Number of samples. */
  reps: number;
  /** Calls per sample. */
  inner: number;
  samples: number[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median: xs must not be empty');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Statistics of per-call seconds measured elsewhere (e.g. by a peer in another process). */
export function summarizeSeconds(samples: readonly number[], inner = 1): Timing {
  if (samples.length === 0 || !samples.every((s) => Number.isFinite(s) && s > 0)) {
    throw new RangeError(
      `summarizeSeconds: samples must be positive finite seconds, got [${samples.join(', ')}]`,
    );
  }
  return {
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    reps: samples.length,
    inner,
    samples: [...samples],
  };
}

function checkPlan(plan: TimingPlan): void {
  const ints: (keyof TimingPlan)[] = ['warmup', 'minReps', 'maxReps'];
  for (const k of ints) {
    const v = plan[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < (k === 'warmup' ? 0 : 1)) {
      throw new RangeError(
        `timeCalls: plan.${k} must be an integer >= ${k === 'warmup' ? 0 : 1}, got ${v}`,
      );
    }
  }
  if (plan.maxReps < plan.minReps) {
    throw new RangeError(
      `timeCalls: plan.maxReps (${plan.maxReps}) must be >= plan.minReps (${plan.minReps})`,
    );
  }
  if (!(plan.budgetSeconds >= 0) || !(plan.minSampleSeconds >= 0)) {
    throw new RangeError(
      `timeCalls: plan.budgetSeconds and plan.minSampleSeconds must be >= 0, got ${plan.budgetSeconds} and ${plan.minSampleSeconds}`,
    );
  }
}

const now = (): number => performance.now() / 1000;

/** Times `fn` per the plan; returns seconds per call. */
export function timeCalls(fn: () => void, plan: TimingPlan): Timing {
  if (typeof fn !== 'function') {
    throw new TypeError(`timeCalls: fn must be a function, got ${typeof fn}`);
  }
  checkPlan(plan);
  let t0 = now();
  fn();
  let last = now() - t0;
  if (plan.slowCallSeconds !== undefined && last > plan.slowCallSeconds) {
    const samples = [last];
    const reps = Math.min(plan.maxReps, Math.max(1, Math.floor(plan.budgetSeconds / last)));
    while (samples.length < reps) {
      t0 = now();
      fn();
      samples.push(now() - t0);
    }
    return summarizeSeconds(samples, 1);
  }
  for (let i = 1; i < plan.warmup; i++) {
    t0 = now();
    fn();
    last = now() - t0;
  }
  const perCall = Math.max(last, 1e-7);
  const inner = Math.max(1, Math.ceil(plan.minSampleSeconds / perCall));
  const reps = Math.min(
    plan.maxReps,
    Math.max(plan.minReps, Math.floor(plan.budgetSeconds / (perCall * inner))),
  );
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    t0 = now();
    for (let i = 0; i < inner; i++) fn();
    samples.push((now() - t0) / inner);
  }
  return summarizeSeconds(samples, inner);
}

/** A throughput: `work` units per call over the timing (median and best, in units per second). */
export interface Rate {
  median: number;
  best: number;
  seconds: Timing;
}

export function rateOf(work: number, t: Timing, scale = 1): Rate {
  if (!(work > 0)) throw new RangeError(`rateOf: work must be positive, got ${work}`);
  return { median: work / t.median / scale, best: work / t.min / scale, seconds: t };
}
