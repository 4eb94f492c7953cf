/**
 * The bench harness, run in-process at tiny sizes with one repetition: the report's structure,
 * its derived figures (rates, ratios, % of peak) against values computed here, and the peers'
 * graceful skips. No speed is asserted.
 */
import { describe, expect, it } from 'vitest';
import { nativeAvailable } from '../../lib/backend/index.js';
import { loadNativeBackend, type NativeBackend } from '../../lib/backend/native.js';
import { tsKernels } from '../../lib/backend/ts/index.js';
import { runE2eBench, withE2ePeak } from '../../bench/e2e.js';
import { runKernelBench, withKernelPeak, type KernelRow } from '../../bench/kernels.js';
import { e2eCases, plansFor } from '../../bench/main.js';
import { runMemoryBench, slope, type MemoryRow } from '../../bench/memory.js';
import { REFERENCE_CNN } from '../../bench/models.js';
import { parseBenchArgs, runsSection } from '../../bench/options.js';
import { measurePeak, mergePeaks, percentOf, type PeakReport } from '../../bench/peak.js';
import { peerFigure } from '../../bench/peers/peer-figure.js';
import { pytorchFigures, runPytorchPeer } from '../../bench/peers/pytorch.js';
import { buildSummary, formatReport, formatTable, type BenchMeta } from '../../bench/report.js';
import type { KernelCase } from '../../bench/shapes.js';
import { kernelCases } from '../../bench/shapes.js';
import { median, summarizeSeconds, timeCalls, type TimingPlan } from '../../bench/timing.js';

const native: NativeBackend | null = nativeAvailable() ? loadNativeBackend() : null;
const ONE_REP: TimingPlan = {
  warmup: 1,
  minReps: 1,
  maxReps: 1,
  budgetSeconds: 0,
  minSampleSeconds: 0,
};

const close = (a: number, b: number): void =>
  expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.abs(b));

describe('bench options', () => {
  it('defaults to every section but peers under --quick', () => {
    const o = parseBenchArgs(['--quick', '--threads', '3', '--json']);
    expect(o).toMatchObject({
      quick: true,
      json: true,
      threads: 3,
      only: null,
      installPeers: true,
    });
    expect(
      ['kernels', 'e2e', 'memory', 'peers'].map((s) => runsSection(o, s as 'kernels')),
    ).toEqual([true, true, true, false]);
    const p = parseBenchArgs(['--only=peers', '--quick', '--no-install']);
    expect(
      ['kernels', 'e2e', 'memory', 'peers'].map((s) => runsSection(p, s as 'kernels')),
    ).toEqual([false, false, false, true]);
    expect(p.installPeers).toBe(false);
  });

  it('names the flag and the value it rejects', () => {
    expect(() => parseBenchArgs(['--only', 'gpu'])).toThrow(
      /parseBenchArgs: --only must be one of kernels, e2e, memory, peers, got "gpu"/,
    );
    expect(() => parseBenchArgs(['--threads', '0'])).toThrow(
      /--threads must be a positive integer, got "0"/,
    );
    expect(() => parseBenchArgs(['--threads'])).toThrow(/--threads needs a value/);
    expect(() => parseBenchArgs(['--fast'])).toThrow(/unknown argument "--fast"/);
  });
});

describe('timing', () => {
  it('medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/median: xs must not be empty/);
  });

  it('runs the warm-ups and then reps x inner calls', () => {
    let calls = 0;
    const t = timeCalls(() => void calls++, {
      warmup: 3,
      minReps: 4,
      maxReps: 4,
      budgetSeconds: 0,
      minSampleSeconds: 0,
    });
    expect(calls).toBe(3 + 4);
    expect(t.reps).toBe(4);
    expect(t.inner).toBe(1);
    expect(t.min).toBeLessThanOrEqual(t.median);
    expect(t.median).toBeLessThanOrEqual(t.max);
  });

  it('counts a slow first call as a sample and stops there when the budget is spent', () => {
    let calls = 0;
    const t = timeCalls(
      () => {
        calls++;
        const end = performance.now() + 5;
        while (performance.now() < end);
      },
      {
        warmup: 3,
        minReps: 3,
        maxReps: 5,
        budgetSeconds: 0,
        minSampleSeconds: 0,
        slowCallSeconds: 0.001,
      },
    );
    expect(calls).toBe(1);
    expect(t.reps).toBe(1);
    expect(t.median).toBeGreaterThanOrEqual(0.004);
  });

  it('rejects an inconsistent plan', () => {
    expect(() => timeCalls(() => {}, { ...ONE_REP, minReps: 2, maxReps: 1 })).toThrow(
      /timeCalls: plan.maxReps \(1\) must be >= plan.minReps \(2\)/,
    );
    expect(() => summarizeSeconds([0.1, -1])).toThrow(/summarizeSeconds: samples must be positive/);
  });
});

const TINY: KernelCase[] = [
  { kind: 'gemm', name: 'g', m: 8, n: 12, k: 16, transA: false, transB: true },
  {
    kind: 'conv',
    name: 'c',
    batch: 2,
    inChannels: 3,
    outChannels: 4,
    size: 6,
    kernel: 3,
    stride: 1,
    padding: 1,
  },
  { kind: 'pool', name: 'p', op: 'max', batch: 2, channels: 3, size: 4, kernel: 2, stride: 2 },
  { kind: 'pool', name: 'a', op: 'avg', batch: 1, channels: 2, size: 4, kernel: 4, stride: 4 },
];

const FAKE_PEAK: PeakReport = {
  isa: 'avx2',
  one: { threads: 1, median: 90, best: 100, samples: [80, 90, 100] },
  all: { threads: 2, median: 180, best: 200, samples: [160, 180, 200] },
};

describe('kernel section', () => {
  const rows = runKernelBench(TINY, {
    native,
    ts: tsKernels,
    threads: 2,
    peak: FAKE_PEAK,
    nativePlan: ONE_REP,
    tsPlan: ONE_REP,
  });

  it('has one row per kernel call with the work computed from the shape', () => {
    expect(rows.map((r) => `${r.name} ${r.op} ${r.unit}`)).toEqual([
      'g gemm GFLOP/s',
      'c forward GFLOP/s',
      'c backward-input GFLOP/s',
      'c backward-weight GFLOP/s',
      'p max forward GB/s',
      'p max backward GB/s',
      'a avg forward GB/s',
      'a avg backward GB/s',
    ]);
    expect(rows[0].work).toBe(2 * 8 * 12 * 16);
    expect(rows[0].shape).toBe('8x12x16 NT');
    // conv: 2 FLOPs x N2 x O4 x 6x6 outputs (padding 1) x C3 x 3x3
    expect(rows[1].work).toBe(2 * 2 * 4 * 36 * 3 * 9);
    // max pool: x (2*3*16) and y (2*3*4) floats plus the int32 argmax (2*3*4)
    expect(rows[4].work).toBe(4 * (96 + 24 + 24));
    // global average pool: x (2*16) and y (2) floats
    expect(rows[6].work).toBe(4 * (32 + 2));
  });

  it('derives rates, ratios and % of peak from the timings', () => {
    for (const r of rows) {
      const scale = 1e9;
      expect(r.ts).not.toBeNull();
      close(r.ts!.median, r.work / r.ts!.seconds.median / scale);
      expect(r.ts!.best).toBeGreaterThanOrEqual(r.ts!.median);
      if (native === null) {
        expect(r.native1).toBeNull();
        expect(r.nativeOverTs).toBeNull();
        continue;
      }
      expect(r.native1!.median).toBeGreaterThan(0);
      expect(r.nativeN!.seconds.reps).toBe(1);
      close(r.nativeOverTs!, r.nativeN!.median / r.ts!.median);
      if (r.unit === 'GFLOP/s') {
        close(r.pctPeak1!, (100 * r.native1!.median) / 100);
        close(r.pctPeakN!, (100 * r.nativeN!.median) / 200);
      } else {
        expect(r.pctPeak1).toBeNull();
      }
    }
  });

  it('recomputes % of peak against a merged probe', () => {
    const second: PeakReport = {
      isa: 'avx2',
      one: { threads: 1, median: 110, best: 125, samples: [110, 125] },
      all: { threads: 2, median: 150, best: 150, samples: [150] },
    };
    const merged = mergePeaks(FAKE_PEAK, second);
    expect(merged.one.best).toBe(125);
    expect(merged.one.median).toBe(100);
    expect(merged.all.samples).toEqual([160, 180, 200, 150]);
    const again = withKernelPeak(rows, merged);
    const gemm = again[0] as KernelRow;
    if (native !== null) close(gemm.pctPeak1!, (100 * gemm.native1!.median) / 125);
    expect(again[4].pctPeak1).toBeNull();
  });

  it('lists the reference CNN and ResNet-18 layers, and fewer shapes under --quick', () => {
    const names = kernelCases(false).map((c) => c.name);
    expect(names).toContain('square 1024');
    expect(names).toContain('reference-cnn conv1');
    expect(names).toContain('resnet18 layer4 3x3 512');
    expect(kernelCases(true).length).toBeLessThan(names.length);
  });
});

describe('end-to-end section', () => {
  // batch 2 instead of 64/256: the structure, not the speed, is under test.
  const cases = e2eCases(true)
    .filter((c) => c.model === REFERENCE_CNN)
    .map((c) => ({ ...c, batch: 2 }));
  const rows = runE2eBench(cases, {
    threads: 2,
    native: native !== null,
    ts: true,
    nativePlan: ONE_REP,
    tsPlan: ONE_REP,
    peak: FAKE_PEAK,
  });

  it('reports images/s, the native/TS ratio and the FLOPs of a step', () => {
    expect(rows.map((r) => `${r.model} ${r.mode} ${r.batch}`)).toEqual([
      'reference-cnn train 2',
      'reference-cnn infer 2',
    ]);
    // Multiply-adds per image: conv1 26*26*32*9, conv2 11*11*64*288, fc1 1600*128, fc2 128*10.
    const macs = 26 * 26 * 32 * 9 + 11 * 11 * 64 * 288 + 1600 * 128 + 128 * 10;
    for (const r of rows) {
      expect(r.flopsPerImage).toBe(2 * macs);
      const ts = r.ts!;
      close(ts.imagesPerSecond.median, 2 / ts.imagesPerSecond.seconds.median);
      close(ts.gflops, ((r.mode === 'train' ? 3 : 1) * 2 * macs * ts.imagesPerSecond.median) / 1e9);
      if (native === null) {
        expect(r.native).toBeNull();
        continue;
      }
      const n = r.native!;
      expect(n.threads).toBe(2);
      close(r.nativeOverTs!, n.imagesPerSecond.median / ts.imagesPerSecond.median);
      close(r.pctPeakN!, (100 * n.gflops) / 200);
      close(
        withE2ePeak([r], { ...FAKE_PEAK, all: { ...FAKE_PEAK.all, best: 400 } })[0].pctPeakN!,
        (100 * n.gflops) / 400,
      );
    }
  });

  it('skips a model the zoo cannot build, with the reason', () => {
    const [row] = runE2eBench(
      [
        {
          model: {
            ...REFERENCE_CNN,
            name: 'missing',
            build: () => ({ unavailable: 'not in the zoo' }),
          },
          mode: 'train',
          batch: 2,
        },
      ],
      { threads: 1, native: false, ts: true, nativePlan: ONE_REP, tsPlan: ONE_REP, peak: null },
    );
    expect(row.native).toBeNull();
    expect(row.ts).toBeNull();
    expect(row.notes).toEqual(['skipped: not in the zoo']);
  });
});

describe.runIf(native !== null)('FMA peak probe', () => {
  it('measures one and all threads and restores the pool', () => {
    const before = native!.numThreads();
    const p = measurePeak(native!, 2, { reps: 1, seconds: 0.01 });
    expect(native!.numThreads()).toBe(before);
    expect(p.one.threads).toBe(1);
    expect(p.all.threads).toBe(2);
    expect(p.one.best).toBeGreaterThan(0);
    expect(p.all.samples).toHaveLength(1);
    expect(percentOf(50, 200)).toBe(25);
    expect(percentOf(null, 200)).toBeNull();
  });
});

describe('peers', () => {
  it('turns the PyTorch script output into figures', () => {
    const { figures, notes } = pytorchFigures({
      torch: '1.13.0',
      torch_threads: 2,
      sgemm: [
        {
          n: 1024,
          threads: 1,
          seconds: [0.02, 0.03, 0.025],
          numpy: '1.24.2',
          blas: 'OpenBLAS (/usr/lib/libopenblasp-r0.3.21.so)',
        },
        { error: 'no numpy' },
      ],
      reference_cnn_train: { batch: 64, seconds: [0.04, 0.05, 0.03] },
      resnet18_cifar_train: { batch: 32, seconds: [1, 2] },
    });
    expect(notes).toEqual(['OpenBLAS sgemm: no numpy']);
    expect(figures.map((f) => `${f.source} ${f.task} ${f.threads}`)).toEqual([
      'openblas gemm-1024 1',
      'pytorch reference-cnn-train 2',
      'pytorch resnet18-cifar-train 2',
    ]);
    expect(figures[0].peer).toBe('OpenBLAS 0.3.21 (numpy 1.24.2)');
    close(figures[0].rate.median, (2 * 1024 ** 3) / 0.025 / 1e9);
    close(figures[0].rate.best, (2 * 1024 ** 3) / 0.02 / 1e9);
    close(figures[1].rate.median, 64 / 0.04);
    close(figures[2].rate.median, 32 / 1.5);
  });

  it('skips PyTorch with a note when the interpreter is missing', () => {
    const r = runPytorchPeer({
      python: '/nonexistent/python3',
      threads: 2,
      quick: true,
      onnxOut: null,
    });
    expect(r.figures).toEqual([]);
    expect(r.onnx).toBeNull();
    expect(r.notes[0]).toMatch(/PyTorch: skipped, \/nonexistent\/python3 does not exist/);
  });
});

describe('memory section', () => {
  it('fits the growth per step by least squares', () => {
    expect(slope([0, 1, 2, 3], [5, 7, 9, 11])).toBeCloseTo(2, 12);
    expect(slope([0, 10, 20], [3, 3, 3])).toBe(0);
    expect(() => slope([1], [1])).toThrow(/slope: xs and ys must be of one length of at least 2/);
  });

  it('samples memory over a short training run and restores the backend', () => {
    const row = runMemoryBench({
      model: REFERENCE_CNN,
      batch: 2,
      steps: 12,
      warmupSteps: 1,
      samples: 4,
      threads: 1,
    });
    expect(row.backend).toBe(native !== null ? 'native' : 'ts');
    expect(row.samples.map((s) => s.step)).toEqual([0, 4, 8, 12]);
    expect(row.start).toEqual(row.samples[0]);
    expect(row.end).toEqual(row.samples[3]);
    expect(row.peakRssMiB).toBe(Math.max(...row.samples.map((s) => s.rssMiB)));
    expect(row.start.rssMiB).toBeGreaterThan(0);
    expect(row.msPerStep).toBeGreaterThan(0);
    const second = row.samples.slice(2);
    close(
      row.liveSlopeMiBPer1000,
      1000 *
        slope(
          second.map((s) => s.step),
          second.map((s) => s.liveMiB),
        ),
    );
    for (const s of row.samples) close(s.liveMiB, s.heapUsedMiB + s.arrayBuffersMiB);
    expect(row.flat).toBe(row.liveSlopeMiBPer1000 < 0.1);
  });

  it('names the argument it rejects', () => {
    const cfg = {
      model: REFERENCE_CNN,
      batch: 2,
      steps: 8,
      warmupSteps: 0,
      samples: 4,
      threads: 1,
    };
    expect(() => runMemoryBench({ ...cfg, samples: 9 })).toThrow(
      /runMemoryBench: cfg.samples must be an integer from 4 to cfg.steps \(8\), got 9/,
    );
    expect(() => runMemoryBench({ ...cfg, steps: 0 })).toThrow(
      /runMemoryBench: cfg.steps must be a positive integer, got 0/,
    );
  });
});

describe('report', () => {
  const meta: BenchMeta = {
    date: '2026-01-01T00:00:00.000Z',
    command: 'npm run bench',
    cpu: 'test cpu',
    cores: 2,
    loadAverage: [0.1, 0.2, 0.3],
    node: 'v20',
    platform: 'linux-x64',
    convnetVersion: '0.0.0',
    native: { available: true, isa: 'avx2', reason: null },
    threads: 2,
    quick: false,
  };
  const seconds = (s: number) => ({ median: s, min: s, max: s, reps: 1, inner: 1, samples: [s] });
  const e2e = [
    {
      model: 'reference-cnn',
      mode: 'train' as const,
      batch: 64,
      flopsPerImage: 1e6,
      native: {
        imagesPerSecond: { median: 6000, best: 6100, seconds: seconds(64 / 6000) },
        threads: 2,
        gflops: 18,
      },
      ts: {
        imagesPerSecond: { median: 300, best: 310, seconds: seconds(64 / 300) },
        threads: 1,
        gflops: 0.9,
      },
      nativeOverTs: 20,
      pctPeakN: 9,
      notes: [],
    },
  ];
  const peers = {
    figures: [
      peerFigure(
        {
          source: 'pytorch',
          peer: 'PyTorch 1.13 CPU',
          task: 'reference-cnn-train',
          unit: 'images/s',
          threads: 2,
          batch: 64,
        },
        [0.032],
        64,
      ),
      peerFigure(
        {
          source: 'tfjs',
          peer: 'TF.js 4.22',
          task: 'reference-cnn-train',
          unit: 'images/s',
          threads: 1,
          batch: 16,
        },
        [8],
        16,
      ),
    ],
    notes: ['onnxruntime-node: skipped, test'],
  };
  const memory: MemoryRow = {
    model: 'reference-cnn',
    backend: 'native',
    batch: 64,
    steps: 10000,
    start: { step: 0, rssMiB: 200, heapUsedMiB: 20, arrayBuffersMiB: 30, liveMiB: 50 },
    end: { step: 10000, rssMiB: 201.5, heapUsedMiB: 20.5, arrayBuffersMiB: 30, liveMiB: 50.5 },
    peakRssMiB: 210,
    rssSlopeMiBPer1000: 0.05,
    liveSlopeMiBPer1000: -0.01,
    flat: true,
    msPerStep: 12.5,
    samples: [],
  };
  const partial = { meta, peak: FAKE_PEAK, kernels: null, e2e, memory, peers, notes: [] };
  const summary = buildSummary(partial);

  it('puts each headline figure next to its peer with a consistent ratio', () => {
    const byWhat = new Map(summary.map((r) => [r.what, r]));
    const torch = byWhat.get('Reference CNN training, batch 64, images/s')!;
    close(torch.peer!, 2000);
    close(torch.ratio!, 6000 / 2000);
    expect(torch.ratioOf).toBe('native/peer');
    expect(torch.cells).toEqual([
      'Reference CNN training, batch 64, images/s',
      '6,000',
      '300',
      '2,000 (PyTorch 1.13 CPU, 2 thr)',
      '3.00× native/peer',
    ]);
    const tfjs = byWhat.get('Reference CNN training, batch 64, images/s (TS vs TF.js)')!;
    close(tfjs.ratio!, 300 / 2);
    expect(tfjs.cells[3]).toBe('2.00 (TF.js 4.22, 1 thr, batch 16)');
    expect(byWhat.get('FMA peak (avx2), 2 threads, GFLOP/s')!.native).toBe(200);
    // GEMM rows have no figure without the kernel section, so they are left out.
    expect([...byWhat.keys()].some((w) => w.startsWith('GEMM'))).toBe(false);
  });

  it('formats every section as Markdown tables', () => {
    const text = formatReport({ ...partial, summary });
    expect(text).toContain('## End to end');
    expect(text).toContain('## Memory over a long training run');
    expect(text).toMatch(
      /\| reference-cnn \| native\s*\| +64 \| +10,000 \| +12\.5 \| +50\.0 \| +50\.5 \| +-0\.010 \| +200\.0 \| +201\.5 \| +210\.0 \| +\+0\.050 \| +yes \|/,
    );
    expect(text).toContain('| what ');
    expect(text).toContain('- onnxruntime-node: skipped, test');
    expect(
      formatTable(
        ['a', 'b'],
        [
          ['x', '1'],
          ['yy', '22'],
        ],
      ),
    ).toBe(['| a   |   b |', '|:----|----:|', '| x   |   1 |', '| yy  |  22 |'].join('\n'));
    expect(() => formatTable(['a'], [['x', 'y']])).toThrow(
      /formatTable: every row must have 1 cells/,
    );
  });

  it('is plain JSON', () => {
    const r = { ...partial, summary };
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(plansFor(true).nativeKernel.maxReps).toBeLessThanOrEqual(
      plansFor(false).nativeKernel.maxReps,
    );
  });
});
