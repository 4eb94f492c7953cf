/**
 * The machine's floating-point peak, measured by the native core's probe (a loop of independent
 * FMAs at the active instruction set), on one thread and on all threads. Every GFLOP/s figure of
 * the bench is also shown as a fraction of it. The best sample is the reference: the peak is what
 * the silicon can do, and a lower sample only means the core was shared at that moment.
 */
import type { NativeBackend } from '../lib/backend/native.js';
import { median } from './timing.js';

export interface PeakFigure {
  threads: number;
  /** GFLOP/s. */
  median: number;
  best: number;
  samples: number[];
}

export interface PeakReport {
  isa: string;
  one: PeakFigure;
  all: PeakFigure;
}

export interface PeakPlan {
  reps: number;
  /** Seconds each probe runs. */
  seconds: number;
}

function figure(native: NativeBackend, threads: number, plan: PeakPlan): PeakFigure {
  native.fmaPeak(threads, Math.min(plan.seconds, 0.05)); // wakes the pool's threads and the clocks
  const samples: number[] = [];
  for (let r = 0; r < plan.reps; r++) samples.push(native.fmaPeak(threads, plan.seconds));
  return { threads, median: median(samples), best: Math.max(...samples), samples };
}

export function measurePeak(native: NativeBackend, threads: number, plan: PeakPlan): PeakReport {
  if (native === null || typeof native !== 'object' || typeof native.fmaPeak !== 'function') {
    throw new TypeError('measurePeak: native must be the NativeBackend from loadNativeBackend()');
  }
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`measurePeak: threads must be a positive integer, got ${threads}`);
  }
  if (!Number.isInteger(plan.reps) || plan.reps < 1 || !(plan.seconds > 0 && plan.seconds <= 10)) {
    throw new RangeError(
      `measurePeak: plan needs reps >= 1 and seconds in (0, 10], got reps=${plan.reps}, seconds=${plan.seconds}`,
    );
  }
  const one = figure(native, 1, plan);
  // The pool caps the probe at its size, so it must be sized first.
  const before = native.numThreads();
  native.setNumThreads(threads);
  try {
    const all = figure(native, threads, plan);
    return { isa: native.isa(), one, all };
  } finally {
    native.setNumThreads(before);
  }
}

/**
 * Both probes' samples together: the bench probes before and after the long sections, so that a
 * probe disturbed by another process does not set the reference.
 */
export function mergePeaks(a: PeakReport, b: PeakReport): PeakReport {
  if (a.isa !== b.isa || a.one.threads !== b.one.threads || a.all.threads !== b.all.threads) {
    throw new RangeError(
      `mergePeaks: the probes differ (${a.isa} x${a.all.threads} vs ${b.isa} x${b.all.threads})`,
    );
  }
  const join = (x: PeakFigure, y: PeakFigure): PeakFigure => {
    const samples = [...x.samples, ...y.samples];
    return { threads: x.threads, median: median(samples), best: Math.max(...samples), samples };
  };
  return { isa: a.isa, one: join(a.one, b.one), all: join(a.all, b.all) };
}

/** value / reference as a percentage, or null when either is missing. */
export function percentOf(
  value: number | null | undefined,
  reference: number | null | undefined,
): number | null {
  if (value == null || reference == null || !(reference > 0)) return null;
  return (100 * value) / reference;
}
