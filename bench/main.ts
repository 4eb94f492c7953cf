/**
 * `npm run bench`: the FMA peak of this machine, the kernels (GEMM, convolution, pooling), end to
 * end training and inference, and the peers (PyTorch, onnxruntime-node, TF.js) measured in the
 * same run; tables on stdout, or one JSON report with --json. Progress goes to stderr.
 *
 *   npm run bench -- --quick            CI smoke, under a minute
 *   npm run bench -- --only kernels     one section
 *   npm run bench -- --json > out.json
 */
import fs from 'node:fs';
import os from 'node:os';
import { nativeAvailable } from '../lib/backend/index.js';
import { loadNativeBackend, type NativeBackend } from '../lib/backend/native.js';
import { tsKernels } from '../lib/backend/ts/index.js';
import { VERSION } from '../lib/version.js';
import { runE2eBench, withE2ePeak, type E2eCase } from './e2e.js';
import { runKernelBench, withKernelPeak } from './kernels.js';
import { runMemoryBench } from './memory.js';
import { REFERENCE_CNN, RESNET18_CIFAR } from './models.js';
import { parseBenchArgs, runsSection, USAGE, type BenchOptions } from './options.js';
import { measurePeak, mergePeaks, type PeakReport } from './peak.js';
import { runPeers } from './peers/run-peers.js';
import { buildSummary, formatReport, type BenchMeta, type BenchReport } from './report.js';
import {
  kernelCases,
  REFERENCE_CNN_INFER_BATCH,
  REFERENCE_CNN_TRAIN_BATCH,
  RESNET18_TRAIN_BATCH,
} from './shapes.js';
import type { TimingPlan } from './timing.js';

/** Repetition plans: --quick trades precision for a run under a minute. */
export function plansFor(quick: boolean): {
  nativeKernel: TimingPlan;
  tsKernel: TimingPlan;
  nativeE2e: TimingPlan;
  tsE2e: TimingPlan;
  peak: { reps: number; seconds: number };
  memory: { steps: number; warmupSteps: number; samples: number };
} {
  return quick
    ? {
        nativeKernel: {
          warmup: 1,
          minReps: 3,
          maxReps: 3,
          budgetSeconds: 0.05,
          minSampleSeconds: 0.005,
        },
        tsKernel: {
          warmup: 1,
          minReps: 1,
          maxReps: 2,
          budgetSeconds: 0.2,
          minSampleSeconds: 0.005,
          slowCallSeconds: 0.2,
        },
        nativeE2e: {
          warmup: 1,
          minReps: 3,
          maxReps: 3,
          budgetSeconds: 0.3,
          minSampleSeconds: 0.05,
          slowCallSeconds: 0.5,
        },
        tsE2e: {
          warmup: 1,
          minReps: 1,
          maxReps: 2,
          budgetSeconds: 1,
          minSampleSeconds: 0.05,
          slowCallSeconds: 0.5,
        },
        peak: { reps: 3, seconds: 0.1 },
        memory: { steps: 200, warmupSteps: 10, samples: 9 },
      }
    : {
        nativeKernel: {
          warmup: 2,
          minReps: 5,
          maxReps: 20,
          budgetSeconds: 0.5,
          minSampleSeconds: 0.02,
        },
        tsKernel: {
          warmup: 1,
          minReps: 3,
          maxReps: 5,
          budgetSeconds: 1.5,
          minSampleSeconds: 0.02,
          slowCallSeconds: 0.5,
        },
        nativeE2e: { warmup: 3, minReps: 5, maxReps: 20, budgetSeconds: 3, minSampleSeconds: 0.2 },
        tsE2e: {
          warmup: 2,
          minReps: 3,
          maxReps: 10,
          budgetSeconds: 6,
          minSampleSeconds: 0.2,
          slowCallSeconds: 2,
        },
        peak: { reps: 5, seconds: 0.3 },
        memory: { steps: 10_000, warmupSteps: 100, samples: 41 },
      };
}

export function e2eCases(quick: boolean): E2eCase[] {
  return [
    { model: REFERENCE_CNN, mode: 'train', batch: REFERENCE_CNN_TRAIN_BATCH },
    { model: REFERENCE_CNN, mode: 'infer', batch: REFERENCE_CNN_INFER_BATCH },
    {
      model: RESNET18_CIFAR,
      mode: 'train',
      batch: RESNET18_TRAIN_BATCH,
      tsWarmupBatch: 2,
      ...(quick
        ? { skipTs: 'left out of --quick (a TS ResNet-18 step takes tens of seconds)' }
        : {}),
    },
  ];
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m !== null) return m[1].trim();
  } catch {
    // not Linux: os.cpus() below
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

function nativeOrReason(): NativeBackend | string {
  if (!nativeAvailable()) {
    try {
      loadNativeBackend();
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }
  return loadNativeBackend();
}

/** Runs the sections the options ask for and returns the report. */
export function runBench(o: BenchOptions, log: (line: string) => void = () => {}): BenchReport {
  const native = nativeOrReason();
  const nb = typeof native === 'string' ? null : native;
  const plans = plansFor(o.quick);
  const notes: string[] = [];
  const meta: BenchMeta = {
    date: new Date().toISOString(),
    command: [
      'npm run bench',
      ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
    ].join(' '),
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    loadAverage: os.loadavg(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    convnetVersion: VERSION,
    native: {
      available: nb !== null,
      isa: nb?.isa() ?? null,
      reason: typeof native === 'string' ? native : null,
    },
    threads: o.threads,
    quick: o.quick,
  };
  if (meta.loadAverage[0] > 0.5 * meta.cores) {
    notes.push(
      `the load average was ${meta.loadAverage[0].toFixed(2)} on ${meta.cores} cores at the start: other processes shared the cores, so the multi-threaded figures (convnet's and the peers') are low and noisy`,
    );
  }
  if (nb === null)
    notes.push(`native backend unavailable, native columns are empty: ${meta.native.reason}`);

  let peak: PeakReport | null = null;
  if (nb !== null && (runsSection(o, 'kernels') || runsSection(o, 'e2e'))) {
    log(`peak: FMA probe, 1 and ${o.threads} threads`);
    peak = measurePeak(nb, o.threads, plans.peak);
  }
  let kernels = runsSection(o, 'kernels')
    ? runKernelBench(kernelCases(o.quick), {
        native: nb,
        ts: tsKernels,
        threads: o.threads,
        peak,
        nativePlan: plans.nativeKernel,
        tsPlan: plans.tsKernel,
        log,
      })
    : null;
  let e2e = runsSection(o, 'e2e')
    ? runE2eBench(e2eCases(o.quick), {
        threads: o.threads,
        native: nb !== null,
        ts: true,
        nativePlan: plans.nativeE2e,
        tsPlan: plans.tsE2e,
        peak,
        log,
      })
    : null;
  const memory = runsSection(o, 'memory')
    ? runMemoryBench({
        model: REFERENCE_CNN,
        batch: REFERENCE_CNN_TRAIN_BATCH,
        ...plans.memory,
        threads: o.threads,
        log,
      })
    : null;
  if (nb !== null && peak !== null) {
    log('peak: FMA probe again (the reference is the best of both probes)');
    peak = mergePeaks(peak, measurePeak(nb, o.threads, plans.peak));
    if (kernels !== null) kernels = withKernelPeak(kernels, peak);
    if (e2e !== null) e2e = withE2ePeak(e2e, peak);
  }
  const peers = runsSection(o, 'peers')
    ? runPeers({ threads: o.threads, quick: o.quick, install: o.installPeers, log })
    : null;
  if (o.quick && o.only === null)
    notes.push('peers are left out of --quick; run without --quick, or with --only peers');
  const partial = { meta, peak, kernels, e2e, memory, peers, notes };
  return { ...partial, summary: buildSummary(partial) };
}

function main(): void {
  let o: BenchOptions;
  try {
    o = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 2;
    return;
  }
  if (o.help) {
    console.log(USAGE);
    return;
  }
  const start = performance.now();
  const log = (line: string): void => {
    process.stderr.write(`[bench ${((performance.now() - start) / 1000).toFixed(1)}s] ${line}\n`);
  };
  const report = runBench(o, log);
  log('done');
  process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
}

// Guarded so that the tests can import runBench without running the bench.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module)
  main();
