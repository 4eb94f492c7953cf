/**
 * The end-to-end section: images per second of a real training step (model.call, crossEntropy,
 * zeroGrad, backward, Adam step, loss.item(): what fit() runs per batch, without the data loader
 * and callbacks) and of inference (eval mode, noGrad), on the native backend at all threads and on
 * the TS backend. Inputs are fixed random batches, as the peers use.
 */
import { noGrad } from '../lib/autograd/engine.js';
import { backendInfo, nativeAvailable, setBackend, setNumThreads } from '../lib/backend/index.js';
import { crossEntropy } from '../lib/functional/loss.js';
import { countFlops } from '../lib/models/flops.js';
import type { Module } from '../lib/nn/module.js';
import { Adam } from '../lib/optim/adam.js';
import { Generator, manualSeed } from '../lib/random.js';
import { randint, randn, type Tensor } from '../lib/tensor.js';
import type { BenchModel } from './models.js';
import { percentOf, type PeakReport } from './peak.js';
import { rateOf, timeCalls, type Rate, type TimingPlan } from './timing.js';

export type E2eMode = 'train' | 'infer';

export interface E2eCase {
  model: BenchModel;
  mode: E2eMode;
  batch: number;
  /** Why the TS backend is not measured for this case (e.g. --quick); absent: it is. */
  skipTs?: string;
  /** TS only: one step at this batch before timing, to compile the JS without a full-size step. */
  tsWarmupBatch?: number;
}

export interface E2eFigure {
  /** Images per second (median and best). */
  imagesPerSecond: Rate;
  /** Threads of the native pool (1 for TS). */
  threads: number;
  /** Effective GFLOP/s: FLOPs per image (3x forward for training) times the median images/s. */
  gflops: number;
}

export interface E2eRow {
  model: string;
  mode: E2eMode;
  batch: number;
  /** Forward FLOPs per image (conv and linear layers); a training step counts three times that. */
  flopsPerImage: number | null;
  native: E2eFigure | null;
  ts: E2eFigure | null;
  /** native / TS images per second. */
  nativeOverTs: number | null;
  /** The native figure's effective GFLOP/s as a % of the all-threads FMA peak. */
  pctPeakN: number | null;
  notes: string[];
}

export interface E2eBenchConfig {
  threads: number;
  /** Measure the native backend (false when the addon is not available). */
  native: boolean;
  ts: boolean;
  nativePlan: TimingPlan;
  tsPlan: TimingPlan;
  peak: PeakReport | null;
  log?: (line: string) => void;
}

/** A fixed random batch of `batch` images and labels for `m` (the same seed every call). */
export function batchOf(m: BenchModel, batch: number): { x: Tensor; y: Tensor } {
  const g = new Generator(1234);
  return {
    x: randn([batch, ...m.inputShape], { generator: g }),
    y: randint(0, m.numClasses, [batch], { generator: g }),
  };
}

/** The step a fit() batch runs, closed over fixed data; or eval-mode inference without a graph. */
export function makeStep(model: Module, mode: E2eMode, x: Tensor, y: Tensor): () => void {
  if (mode === 'infer') {
    model.eval();
    return () => {
      noGrad(() => model.call(x));
    };
  }
  model.train();
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  return () => {
    const out = model.call(x);
    const loss = crossEntropy(out, y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    loss.item();
  };
}

function buildModel(m: BenchModel): Module | string {
  manualSeed(0);
  const built = m.build();
  return 'unavailable' in built ? built.unavailable : built;
}

function measure(c: E2eCase, plan: TimingPlan, warmupBatch: number | undefined): Rate {
  const model = buildModel(c.model);
  if (typeof model === 'string') throw new Error(`runE2eBench: ${c.model.name}: ${model}`);
  if (warmupBatch !== undefined && warmupBatch < c.batch) {
    const w = batchOf(c.model, warmupBatch);
    makeStep(model, c.mode, w.x, w.y)();
  }
  const { x, y } = batchOf(c.model, c.batch);
  return rateOf(c.batch, timeCalls(makeStep(model, c.mode, x, y), plan));
}

/** Forward FLOPs per image, by model name (counting runs a forward pass). */
const flopsCache = new Map<string, number>();

/** The rows with their % of peak recomputed against `peak` (e.g. after a second probe). */
export function withE2ePeak(rows: readonly E2eRow[], peak: PeakReport | null): E2eRow[] {
  return rows.map((r) => ({
    ...r,
    pctPeakN: r.native === null ? null : percentOf(r.native.gflops, peak?.all.best),
  }));
}

function checkCases(cases: readonly E2eCase[]): void {
  if (!Array.isArray(cases)) {
    throw new TypeError(`runE2eBench: cases must be an array of E2eCase, got ${typeof cases}`);
  }
  for (const c of cases) {
    if (!Number.isInteger(c.batch) || c.batch < 1) {
      throw new RangeError(
        `runE2eBench: case ${c.model?.name} batch must be a positive integer, got ${c.batch}`,
      );
    }
    if (c.mode !== 'train' && c.mode !== 'infer') {
      throw new RangeError(
        `runE2eBench: case mode must be 'train' or 'infer', got ${JSON.stringify(c.mode)}`,
      );
    }
  }
}

/** Runs every case on each backend; the backend and thread count in use are restored after. */
export function runE2eBench(cases: readonly E2eCase[], cfg: E2eBenchConfig): E2eRow[] {
  checkCases(cases);
  if (!Number.isInteger(cfg.threads) || cfg.threads < 1) {
    throw new RangeError(`runE2eBench: cfg.threads must be a positive integer, got ${cfg.threads}`);
  }
  if (cfg.native && !nativeAvailable()) {
    throw new RangeError('runE2eBench: cfg.native is true but the native backend cannot be loaded');
  }
  const log = cfg.log ?? (() => {});
  const before = backendInfo();
  const rows: E2eRow[] = [];
  try {
    for (const c of cases) {
      const notes: string[] = [];
      const probe = buildModel(c.model);
      if (typeof probe === 'string') {
        rows.push({
          model: c.model.name,
          mode: c.mode,
          batch: c.batch,
          flopsPerImage: null,
          native: null,
          ts: null,
          nativeOverTs: null,
          pctPeakN: null,
          notes: [`skipped: ${probe}`],
        });
        continue;
      }
      if (!flopsCache.has(c.model.name))
        flopsCache.set(c.model.name, countFlops(probe, c.model.inputShape));
      const flops = flopsCache.get(c.model.name)!;
      const perImage = c.mode === 'train' ? 3 * flops : flops;
      const figure = (r: Rate, threads: number): E2eFigure => ({
        imagesPerSecond: r,
        threads,
        gflops: (perImage * r.median) / 1e9,
      });
      let native: E2eFigure | null = null;
      if (cfg.native) {
        log(`e2e: ${c.model.name} ${c.mode} batch ${c.batch} native x${cfg.threads}`);
        setBackend('native');
        setNumThreads(cfg.threads);
        native = figure(measure(c, cfg.nativePlan, undefined), cfg.threads);
      }
      let ts: E2eFigure | null = null;
      if (cfg.ts && c.skipTs !== undefined) {
        notes.push(`ts: skipped, ${c.skipTs}`);
      } else if (cfg.ts) {
        log(`e2e: ${c.model.name} ${c.mode} batch ${c.batch} ts`);
        setBackend('ts');
        ts = figure(measure(c, cfg.tsPlan, c.tsWarmupBatch), 1);
      }
      rows.push({
        model: c.model.name,
        mode: c.mode,
        batch: c.batch,
        flopsPerImage: flops,
        native,
        ts,
        nativeOverTs:
          native !== null && ts !== null
            ? native.imagesPerSecond.median / ts.imagesPerSecond.median
            : null,
        pctPeakN: native !== null ? percentOf(native.gflops, cfg.peak?.all.best) : null,
        notes,
      });
    }
  } finally {
    setBackend(before.name);
    if (before.name === 'native') setNumThreads(before.threads);
  }
  return rows;
}
