/**
 * The memory section: does a long training run keep its memory flat? It trains the reference CNN
 * for many steps (10,000 in a full run) with the step fit() runs per batch, and at evenly spaced
 * steps collects the garbage and samples the process's memory. It reports where memory started
 * (after warm-up), where it ended, its peak, and the growth per 1,000 steps fitted over the
 * second half of the run. The verdict uses the live memory (V8 heap in use plus tensor data) after
 * a full collection, which is exact; RSS also moves with when the allocator returns pages, so it
 * is shown but not judged.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { backendInfo, nativeAvailable, setBackend, setNumThreads } from '../lib/backend/index.js';
import { manualSeed } from '../lib/random.js';
import { makeStep, batchOf } from './e2e.js';
import type { BenchModel } from './models.js';
import { median } from './timing.js';

export interface MemorySample {
  step: number;
  /** Resident set size, MiB. */
  rssMiB: number;
  /** V8 heap in use, MiB. */
  heapUsedMiB: number;
  /** Memory of ArrayBuffers (tensor data), MiB. */
  arrayBuffersMiB: number;
  /** heapUsedMiB + arrayBuffersMiB: what the process holds on to. */
  liveMiB: number;
}

export interface MemoryRow {
  model: string;
  backend: string;
  batch: number;
  steps: number;
  /** The first sample, taken after the warm-up steps. */
  start: MemorySample;
  end: MemorySample;
  peakRssMiB: number;
  /** Least-squares slope of RSS over the second half of the samples, MiB per 1,000 steps. */
  rssSlopeMiBPer1000: number;
  /** The same for the live memory (heap in use plus tensor data, after a full collection). */
  liveSlopeMiBPer1000: number;
  /** Whether the second-half live-memory slope is under FLAT_SLOPE_MIB_PER_1000. */
  flat: boolean;
  /** Median milliseconds per step over the run. */
  msPerStep: number;
  samples: MemorySample[];
}

export interface MemoryBenchConfig {
  model: BenchModel;
  batch: number;
  steps: number;
  /** Untimed steps before the first sample, so that buffers and JIT code exist already. */
  warmupSteps: number;
  /** Samples taken over the run (at least 4). */
  samples: number;
  threads: number;
  log?: (line: string) => void;
}

/**
 * Live-memory growth below this counts as flat: 0.1 MiB per 1,000 steps is about 100 bytes a
 * step, less than one leaked tensor object with the smallest Float32Array behind it.
 */
export const FLAT_SLOPE_MIB_PER_1000 = 0.1;

const MiB = 1024 * 1024;

let collector: (() => void) | null = null;

/** A full garbage collection, without needing node --expose-gc on the command line. */
function collectGarbage(): void {
  if (collector === null) {
    v8.setFlagsFromString('--expose-gc');
    collector = vm.runInNewContext('gc') as () => void;
  }
  collector();
}

function sample(step: number): MemorySample {
  // Backing stores of dead ArrayBuffers are freed by a concurrent sweeper that the next full
  // collection finishes, so one collection can leave a batch's worth of them counted.
  collectGarbage();
  collectGarbage();
  const m = process.memoryUsage();
  return {
    step,
    rssMiB: m.rss / MiB,
    heapUsedMiB: m.heapUsed / MiB,
    arrayBuffersMiB: m.arrayBuffers / MiB,
    liveMiB: (m.heapUsed + m.arrayBuffers) / MiB,
  };
}

/** Least-squares slope of ys over xs. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length || xs.length < 2) {
    throw new RangeError(
      `slope: xs and ys must be of one length of at least 2, got ${xs.length} and ${ys.length}`,
    );
  }
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** Trains `cfg.model` for `cfg.steps` steps on the native backend (else TS) and samples memory. */
export function runMemoryBench(cfg: MemoryBenchConfig): MemoryRow {
  const fn = 'runMemoryBench';
  for (const k of ['batch', 'steps', 'threads'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) {
      throw new RangeError(`${fn}: cfg.${k} must be a positive integer, got ${cfg[k]}`);
    }
  }
  if (!Number.isInteger(cfg.warmupSteps) || cfg.warmupSteps < 0) {
    throw new RangeError(
      `${fn}: cfg.warmupSteps must be a non-negative integer, got ${cfg.warmupSteps}`,
    );
  }
  if (!Number.isInteger(cfg.samples) || cfg.samples < 4 || cfg.samples > cfg.steps) {
    throw new RangeError(
      `${fn}: cfg.samples must be an integer from 4 to cfg.steps (${cfg.steps}), got ${cfg.samples}`,
    );
  }
  const log = cfg.log ?? (() => {});
  const before = backendInfo();
  const backend = nativeAvailable() ? 'native' : 'ts';
  try {
    setBackend(backend);
    if (backend === 'native') setNumThreads(cfg.threads);
    manualSeed(0);
    const built = cfg.model.build();
    if ('unavailable' in built) throw new Error(`${fn}: ${cfg.model.name}: ${built.unavailable}`);
    const { x, y } = batchOf(cfg.model, cfg.batch);
    const step = makeStep(built, 'train', x, y);
    for (let i = 0; i < cfg.warmupSteps; i++) step();
    const samples = [sample(0)];
    const stepMs: number[] = [];
    let done = 0;
    for (let s = 1; s < cfg.samples; s++) {
      const target = Math.round((cfg.steps * s) / (cfg.samples - 1));
      const t0 = performance.now();
      const n = target - done;
      for (; done < target; done++) step();
      stepMs.push((performance.now() - t0) / n); // the collection in sample() is not counted
      samples.push(sample(done));
      if (s % Math.max(1, Math.floor(cfg.samples / 10)) === 0) {
        log(`memory: step ${done}/${cfg.steps}, rss ${samples[s].rssMiB.toFixed(0)} MiB`);
      }
    }
    const second = samples.slice(Math.floor(samples.length / 2));
    const per1000 = (ys: (s: MemorySample) => number): number =>
      1000 *
      slope(
        second.map((s) => s.step),
        second.map(ys),
      );
    const liveSlope = per1000((s) => s.liveMiB);
    return {
      model: cfg.model.name,
      backend,
      batch: cfg.batch,
      steps: cfg.steps,
      start: samples[0],
      end: samples[samples.length - 1],
      peakRssMiB: Math.max(...samples.map((s) => s.rssMiB)),
      rssSlopeMiBPer1000: per1000((s) => s.rssMiB),
      liveSlopeMiBPer1000: liveSlope,
      flat: liveSlope < FLAT_SLOPE_MIB_PER_1000,
      msPerStep: median(stepMs),
      samples,
    };
  } finally {
    setBackend(before.name);
    if (before.name === 'native') setNumThreads(before.threads);
  }
}
