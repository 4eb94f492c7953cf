/**
 * The kernel section: GEMM, conv2d forward / backward-input / backward-weight and pooling,
 * called straight through the Kernels interface (no Tensor, no autograd), on the native backend
 * at one thread and at all threads, and on the TS backend, side by side. GEMM and convolution
 * are reported in GFLOP/s (2 per multiply-add) and as a % of the FMA peak; pooling, which moves
 * memory rather than multiplying, in GB/s of its reads and writes.
 */
import { conv2dGeometry, pool2dGeometry } from '../lib/backend/geometry.js';
import type { Kernels } from '../lib/backend/kernels.js';
import type { NativeBackend } from '../lib/backend/native.js';
import { percentOf, type PeakReport } from './peak.js';
import type { ConvCase, GemmCase, KernelCase, PoolCase } from './shapes.js';
import { rateOf, timeCalls, type Rate, type TimingPlan } from './timing.js';

export type KernelUnit = 'GFLOP/s' | 'GB/s';

export interface KernelRow {
  kind: KernelCase['kind'];
  name: string;
  /** 'gemm', 'forward', 'backward-input', 'backward-weight' or 'backward'. */
  op: string;
  shape: string;
  unit: KernelUnit;
  /** FLOPs (GFLOP/s rows) or bytes (GB/s rows) per call. */
  work: number;
  /** Native at one thread, at `threads` threads, and TS; null when not measured. */
  native1: Rate | null;
  nativeN: Rate | null;
  ts: Rate | null;
  /** Medians as a % of the one-thread / all-threads FMA peak (GFLOP/s rows only). */
  pctPeak1: number | null;
  pctPeakN: number | null;
  /** nativeN median / ts median. */
  nativeOverTs: number | null;
}

export interface KernelBenchConfig {
  /** null: native columns are left empty (the addon is not available). */
  native: NativeBackend | null;
  ts: Kernels | null;
  threads: number;
  peak: PeakReport | null;
  nativePlan: TimingPlan;
  tsPlan: TimingPlan;
  log?: (line: string) => void;
}

interface Op {
  op: string;
  unit: KernelUnit;
  work: number;
  /** Builds the call for one kernel set; buffers are shared, outputs overwritten every call. */
  bind(k: Kernels): () => void;
}

/** Deterministic values in [-1, 1): no denormals, no NaNs, same on every run. */
export function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}

function gemmOps(c: GemmCase): { shape: string; ops: Op[] } {
  const a = filled(c.m * c.k, 1);
  const b = filled(c.k * c.n, 2);
  const out = new Float32Array(c.m * c.n);
  const p = { transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: 1, beta: 0 };
  const t = (c.transA ? 'T' : 'N') + (c.transB ? 'T' : 'N');
  return {
    shape: `${c.m}x${c.n}x${c.k} ${t}`,
    ops: [
      {
        op: 'gemm',
        unit: 'GFLOP/s',
        work: 2 * c.m * c.n * c.k,
        bind: (k) => () => k.gemm(p, a, b, out),
      },
    ],
  };
}

function convOps(c: ConvCase): { shape: string; ops: Op[] } {
  const g = conv2dGeometry(
    'bench conv',
    [c.batch, c.inChannels, c.size, c.size],
    [c.outChannels, c.inChannels, c.kernel, c.kernel],
    { stride: c.stride, padding: c.padding },
  );
  const x = filled(c.batch * c.inChannels * c.size * c.size, 3);
  const w = filled(c.outChannels * c.inChannels * c.kernel * c.kernel, 4);
  const bias = filled(c.outChannels, 5);
  const ySize = c.batch * c.outChannels * g.outHeight * g.outWidth;
  const y = new Float32Array(ySize);
  const dy = filled(ySize, 6);
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  const db = new Float32Array(c.outChannels);
  const flops = 2 * ySize * c.inChannels * c.kernel * c.kernel;
  const shape =
    `N${c.batch} ${c.inChannels}->${c.outChannels} ${c.size}x${c.size} k${c.kernel}` +
    (c.stride > 1 ? ` s${c.stride}` : '') +
    (c.padding > 0 ? ` p${c.padding}` : '');
  return {
    shape,
    ops: [
      {
        op: 'forward',
        unit: 'GFLOP/s',
        work: flops,
        bind: (k) => () => k.conv2d(g, x, w, bias, y),
      },
      {
        op: 'backward-input',
        unit: 'GFLOP/s',
        work: flops,
        bind: (k) => () => k.conv2dBackwardInput(g, dy, w, dx),
      },
      {
        op: 'backward-weight',
        unit: 'GFLOP/s',
        work: flops,
        bind: (k) => () => k.conv2dBackwardWeight(g, x, dy, dw, db),
      },
    ],
  };
}

function poolOps(c: PoolCase): { shape: string; ops: Op[] } {
  const g = pool2dGeometry('bench pool', [c.batch, c.channels, c.size, c.size], c.kernel, {
    stride: c.stride,
  });
  const xSize = c.batch * c.channels * c.size * c.size;
  const ySize = c.batch * c.channels * g.outHeight * g.outWidth;
  const x = filled(xSize, 7);
  const y = new Float32Array(ySize);
  const dy = filled(ySize, 8);
  const dx = new Float32Array(xSize);
  const argmax = new Int32Array(ySize);
  const shape = `N${c.batch} C${c.channels} ${c.size}x${c.size} k${c.kernel} s${c.stride}`;
  // Bytes read and written, argmax included: 4 bytes per element everywhere.
  const extra = c.op === 'max' ? 4 * ySize : 0;
  const bytes = 4 * (xSize + ySize) + extra;
  if (c.op === 'max') {
    // The native and TS argmax agree on these inputs (no ties), so the backward pass that
    // follows either forward reads valid indices.
    return {
      shape,
      ops: [
        {
          op: 'max forward',
          unit: 'GB/s',
          work: bytes,
          bind: (k) => () => k.maxPool2d(g, x, y, argmax),
        },
        {
          op: 'max backward',
          unit: 'GB/s',
          work: bytes,
          bind: (k) => {
            k.maxPool2d(g, x, y, argmax);
            return () => k.maxPool2dBackward(g, dy, argmax, dx);
          },
        },
      ],
    };
  }
  return {
    shape,
    ops: [
      { op: 'avg forward', unit: 'GB/s', work: bytes, bind: (k) => () => k.avgPool2d(g, x, y) },
      {
        op: 'avg backward',
        unit: 'GB/s',
        work: bytes,
        bind: (k) => () => k.avgPool2dBackward(g, dy, dx),
      },
    ],
  };
}

export function opsOf(c: KernelCase): { shape: string; ops: Op[] } {
  switch (c.kind) {
    case 'gemm':
      return gemmOps(c);
    case 'conv':
      return convOps(c);
    case 'pool':
      return poolOps(c);
    default:
      throw new TypeError(
        `opsOf: unknown case kind ${JSON.stringify((c as { kind: unknown }).kind)}`,
      );
  }
}

/** The rows with their % of peak recomputed against `peak` (e.g. after a second probe). */
export function withKernelPeak(rows: readonly KernelRow[], peak: PeakReport | null): KernelRow[] {
  return rows.map((r) =>
    r.unit !== 'GFLOP/s'
      ? r
      : {
          ...r,
          pctPeak1: percentOf(r.native1?.median, peak?.one.best),
          pctPeakN: percentOf(r.nativeN?.median, peak?.all.best),
        },
  );
}

function checkConfig(cfg: KernelBenchConfig): void {
  if (cfg === null || typeof cfg !== 'object') {
    throw new TypeError(
      `runKernelBench: cfg must be a KernelBenchConfig object, got ${cfg === null ? 'null' : typeof cfg}`,
    );
  }
  if (!Number.isInteger(cfg.threads) || cfg.threads < 1) {
    throw new RangeError(
      `runKernelBench: cfg.threads must be a positive integer, got ${cfg.threads}`,
    );
  }
  if (cfg.native === null && cfg.ts === null) {
    throw new RangeError('runKernelBench: cfg.native and cfg.ts are both null; nothing to measure');
  }
}

/** Measures every case; native rows at 1 and `threads` threads (the pool is restored after). */
export function runKernelBench(cases: readonly KernelCase[], cfg: KernelBenchConfig): KernelRow[] {
  if (!Array.isArray(cases)) {
    throw new TypeError(
      `runKernelBench: cases must be an array of KernelCase, got ${typeof cases}`,
    );
  }
  checkConfig(cfg);
  const log = cfg.log ?? (() => {});
  const native = cfg.native;
  const before = native?.numThreads() ?? 1;
  const rows: KernelRow[] = [];
  try {
    for (const c of cases) {
      const { shape, ops } = opsOf(c);
      for (const op of ops) {
        log(`kernels: ${c.name} ${op.op} (${shape})`);
        const scale = 1e9;
        let native1: Rate | null = null;
        let nativeN: Rate | null = null;
        if (native !== null) {
          const call = op.bind(native.kernels);
          native.setNumThreads(cfg.threads);
          nativeN = rateOf(op.work, timeCalls(call, cfg.nativePlan), scale);
          if (cfg.threads === 1) {
            native1 = nativeN;
          } else {
            native.setNumThreads(1);
            native1 = rateOf(op.work, timeCalls(call, cfg.nativePlan), scale);
          }
        }
        const ts =
          cfg.ts === null ? null : rateOf(op.work, timeCalls(op.bind(cfg.ts), cfg.tsPlan), scale);
        const flops = op.unit === 'GFLOP/s';
        rows.push({
          kind: c.kind,
          name: c.name,
          op: op.op,
          shape,
          unit: op.unit,
          work: op.work,
          native1,
          nativeN,
          ts,
          pctPeak1: flops ? percentOf(native1?.median, cfg.peak?.one.best) : null,
          pctPeakN: flops ? percentOf(nativeN?.median, cfg.peak?.all.best) : null,
          nativeOverTs: nativeN !== null && ts !== null ? nativeN.median / ts.median : null,
        });
      }
    }
  } finally {
    native?.setNumThreads(before);
  }
  return rows;
}
