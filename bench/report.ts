/**
 * The bench report: one object (printed as JSON with --json) and its tables, Markdown so that
 * they paste into README.md and bench/RESULTS.md unchanged. The summary table is the one README
 * uses: what | convnet native | convnet TS | peer | ratio.
 */
import type { E2eRow } from './e2e.js';
import type { KernelRow } from './kernels.js';
import { FLAT_SLOPE_MIB_PER_1000, type MemoryRow } from './memory.js';
import type { PeakReport } from './peak.js';
import type { PeerFigure, PeersReport, PeerSource, PeerTask } from './peers/peer-figure.js';

export interface BenchMeta {
  date: string;
  command: string;
  cpu: string;
  cores: number;
  /** 1, 5 and 15 minute load averages when the bench started. */
  loadAverage: number[];
  node: string;
  platform: string;
  convnetVersion: string;
  native: { available: boolean; isa: string | null; reason: string | null };
  threads: number;
  quick: boolean;
}

export interface SummaryRow {
  what: string;
  unit: string;
  native: number | null;
  ts: number | null;
  peer: number | null;
  peerName: string | null;
  /** Which two figures `ratio` divides. */
  ratioOf: 'native/peer' | 'ts/peer' | null;
  ratio: number | null;
  /** The row as the table prints it. */
  cells: [string, string, string, string, string];
}

export interface BenchReport {
  meta: BenchMeta;
  peak: PeakReport | null;
  kernels: KernelRow[] | null;
  e2e: E2eRow[] | null;
  memory: MemoryRow | null;
  peers: PeersReport | null;
  summary: SummaryRow[];
  notes: string[];
}

/** Three significant digits at most, thousands separated. */
export function formatNumber(x: number | null | undefined): string {
  if (x == null || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

const pct = (x: number | null | undefined): string => (x == null ? '—' : `${x.toFixed(0)}%`);
const times = (x: number | null | undefined): string =>
  x == null || !Number.isFinite(x) ? '—' : `${formatNumber(x)}×`;

/** A Markdown table; columns after the first `leftColumns` are right-aligned. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  leftColumns = 1,
): string {
  if (!rows.every((r) => r.length === headers.length)) {
    throw new RangeError(`formatTable: every row must have ${headers.length} cells`);
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length), 3));
  const cell = (s: string, i: number): string =>
    i < leftColumns ? s.padEnd(widths[i]) : s.padStart(widths[i]);
  const line = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < leftColumns ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

function findKernel(
  rows: readonly KernelRow[] | null,
  name: string,
  op: string,
): KernelRow | undefined {
  return rows?.find((r) => r.name === name && r.op === op);
}

function findE2e(rows: readonly E2eRow[] | null, model: string, mode: string): E2eRow | undefined {
  return rows?.find((r) => r.model === model && r.mode === mode);
}

function findPeer(
  peers: PeersReport | null,
  source: PeerSource,
  task: PeerTask,
  threads?: number,
): PeerFigure | undefined {
  return peers?.figures.find(
    (f) =>
      f.source === source && f.task === task && (threads === undefined || f.threads === threads),
  );
}

interface RowInput {
  what: string;
  unit: string;
  native: number | null;
  nativeNote?: string;
  ts: number | null;
  peer: PeerFigure | undefined;
  /** The batch the convnet figures use (a peer at another batch says so). */
  batch?: number;
  ratioOf: 'native/peer' | 'ts/peer' | null;
}

function summaryRow(r: RowInput): SummaryRow {
  const peer = r.peer?.rate.median ?? null;
  const num = r.ratioOf === 'ts/peer' ? r.ts : r.native;
  const ratio = r.ratioOf !== null && num !== null && peer !== null ? num / peer : null;
  const p = r.peer;
  const peerCell =
    p === undefined
      ? '—'
      : `${formatNumber(peer)} (${p.peer}, ${p.threads} thr${p.batch !== null && r.batch !== undefined && p.batch !== r.batch ? `, batch ${p.batch}` : ''})`;
  return {
    what: r.what,
    unit: r.unit,
    native: r.native,
    ts: r.ts,
    peer,
    peerName: p?.peer ?? null,
    ratioOf: ratio === null ? null : r.ratioOf,
    ratio,
    cells: [
      r.what,
      r.native === null ? '—' : `${formatNumber(r.native)}${r.nativeNote ?? ''}`,
      formatNumber(r.ts),
      peerCell,
      ratio === null ? '—' : `${times(ratio)} ${r.ratioOf}`,
    ],
  };
}

/** The headline figures, each next to the peer it is meant to beat. */
export function buildSummary(r: Omit<BenchReport, 'summary'>): SummaryRow[] {
  const n = r.meta.threads;
  const rows: SummaryRow[] = [];
  if (r.peak !== null) {
    for (const f of [r.peak.one, r.peak.all]) {
      rows.push(
        summaryRow({
          what: `FMA peak (${r.peak.isa}), ${f.threads} thread${f.threads > 1 ? 's' : ''}, GFLOP/s`,
          unit: 'GFLOP/s',
          native: f.best,
          ts: null,
          peer: undefined,
          ratioOf: null,
        }),
      );
    }
  }
  const g = (op: 'native1' | 'nativeN'): number | null =>
    findKernel(r.kernels, 'square 1024', 'gemm')?.[op]?.median ?? null;
  const gRow = findKernel(r.kernels, 'square 1024', 'gemm');
  rows.push(
    summaryRow({
      what: 'GEMM 1024³, 1 thread, GFLOP/s',
      unit: 'GFLOP/s',
      native: g('native1'),
      nativeNote: gRow?.pctPeak1 != null ? ` (${pct(gRow.pctPeak1)} of peak)` : '',
      ts: gRow?.ts?.median ?? null,
      peer: findPeer(r.peers, 'openblas', 'gemm-1024', 1),
      ratioOf: 'native/peer',
    }),
  );
  if (n > 1) {
    rows.push(
      summaryRow({
        what: `GEMM 1024³, ${n} threads, GFLOP/s`,
        unit: 'GFLOP/s',
        native: g('nativeN'),
        nativeNote: gRow?.pctPeakN != null ? ` (${pct(gRow.pctPeakN)} of peak)` : '',
        ts: null,
        peer: findPeer(r.peers, 'openblas', 'gemm-1024', n),
        ratioOf: 'native/peer',
      }),
    );
  }
  const e = (
    model: string,
    mode: string,
  ): { native: number | null; ts: number | null; batch?: number } => {
    const row = findE2e(r.e2e, model, mode);
    return {
      native: row?.native?.imagesPerSecond.median ?? null,
      ts: row?.ts?.imagesPerSecond.median ?? null,
      batch: row?.batch,
    };
  };
  const cnnTrain = e('reference-cnn', 'train');
  const cnnInfer = e('reference-cnn', 'infer');
  const resTrain = e('resnet18-cifar', 'train');
  const b = (x: { batch?: number }, d: number): number => x.batch ?? d;
  rows.push(
    summaryRow({
      what: `Reference CNN training, batch ${b(cnnTrain, 64)}, images/s`,
      unit: 'images/s',
      ...cnnTrain,
      peer: findPeer(r.peers, 'pytorch', 'reference-cnn-train'),
      ratioOf: 'native/peer',
    }),
    summaryRow({
      what: `Reference CNN inference, batch ${b(cnnInfer, 256)}, images/s`,
      unit: 'images/s',
      ...cnnInfer,
      peer: findPeer(r.peers, 'onnxruntime', 'reference-cnn-infer'),
      ratioOf: 'native/peer',
    }),
    summaryRow({
      what: `Reference CNN inference, batch ${b(cnnInfer, 256)}, images/s (vs PyTorch)`,
      unit: 'images/s',
      ...cnnInfer,
      peer: findPeer(r.peers, 'pytorch', 'reference-cnn-infer'),
      ratioOf: 'native/peer',
    }),
    summaryRow({
      what: `ResNet-18 (CIFAR layout) training, batch ${b(resTrain, 32)}, images/s`,
      unit: 'images/s',
      ...resTrain,
      peer: findPeer(r.peers, 'pytorch', 'resnet18-cifar-train'),
      ratioOf: 'native/peer',
    }),
    summaryRow({
      what: `Reference CNN training, batch ${b(cnnTrain, 64)}, images/s (TS vs TF.js)`,
      unit: 'images/s',
      ...cnnTrain,
      peer: findPeer(r.peers, 'tfjs', 'reference-cnn-train'),
      ratioOf: 'ts/peer',
    }),
  );
  // A row with no figure at all (a section not run, --quick's smaller shapes) says nothing.
  return rows.filter((x) => x.native !== null || x.ts !== null || x.peer !== null);
}

function metaBlock(m: BenchMeta): string {
  const native = m.native.available
    ? `native ${m.native.isa}`
    : `native unavailable (${m.native.reason})`;
  return [
    `command: ${m.command}`,
    `date: ${m.date}`,
    `cpu: ${m.cpu}, ${m.cores} logical cores; load average at start ${m.loadAverage.map((x) => x.toFixed(2)).join(', ')}`,
    `node ${m.node} on ${m.platform}; convnet ${m.convnetVersion}; ${native}; all-threads figures use ${m.threads} threads`,
    `figures are medians over repetitions after warm-up${m.quick ? ' (--quick: small shapes, few repetitions)' : ''}; --json has every sample`,
  ].join('\n');
}

function peakTable(p: PeakReport): string {
  return formatTable(
    ['FMA peak probe', 'median GFLOP/s', 'best GFLOP/s', 'samples'],
    [p.one, p.all].map((f) => [
      `${p.isa}, ${f.threads} thread${f.threads > 1 ? 's' : ''}`,
      formatNumber(f.median),
      formatNumber(f.best),
      String(f.samples.length),
    ]),
  );
}

function kernelTables(rows: readonly KernelRow[], threads: number): string {
  const flops = rows.filter((r) => r.unit === 'GFLOP/s');
  const bytes = rows.filter((r) => r.unit === 'GB/s');
  const out: string[] = [];
  if (flops.length > 0) {
    out.push(
      formatTable(
        [
          'kernel',
          'op',
          'shape',
          'native 1 thr',
          '% peak',
          `native ${threads} thr`,
          '% peak',
          'TS',
          'native/TS',
          'reps (N/TS)',
        ],
        flops.map((r) => [
          r.name,
          r.op,
          r.shape,
          formatNumber(r.native1?.median),
          pct(r.pctPeak1),
          formatNumber(r.nativeN?.median),
          pct(r.pctPeakN),
          formatNumber(r.ts?.median),
          times(r.nativeOverTs),
          `${r.nativeN?.seconds.reps ?? '—'}/${r.ts?.seconds.reps ?? '—'}`,
        ]),
        3,
      ) + "\n(GFLOP/s, medians; % of the FMA peak probe's best at that thread count)",
    );
  }
  if (bytes.length > 0) {
    out.push(
      formatTable(
        ['pooling', 'op', 'shape', 'native 1 thr', `native ${threads} thr`, 'TS', 'native/TS'],
        bytes.map((r) => [
          r.name,
          r.op,
          r.shape,
          formatNumber(r.native1?.median),
          formatNumber(r.nativeN?.median),
          formatNumber(r.ts?.median),
          times(r.nativeOverTs),
        ]),
        3,
      ) + '\n(GB/s of reads and writes, medians)',
    );
  }
  return out.join('\n\n');
}

function e2eTable(rows: readonly E2eRow[]): string {
  const table = formatTable(
    [
      'model',
      'step',
      'batch',
      'native img/s',
      'best',
      'GFLOP/s',
      '% peak',
      'TS img/s',
      'best',
      'native/TS',
    ],
    rows.map((r) => [
      r.model,
      r.mode === 'train' ? 'train (fwd+bwd+Adam)' : 'inference',
      String(r.batch),
      formatNumber(r.native?.imagesPerSecond.median),
      formatNumber(r.native?.imagesPerSecond.best),
      formatNumber(r.native?.gflops),
      pct(r.pctPeakN),
      formatNumber(r.ts?.imagesPerSecond.median),
      formatNumber(r.ts?.imagesPerSecond.best),
      times(r.nativeOverTs),
    ]),
    3,
  );
  const notes = rows.flatMap((r) => r.notes.map((n) => `- ${r.model} ${r.mode}: ${n}`));
  return [
    table,
    '(GFLOP/s counts conv and linear layers, a training step as 3x the forward pass; % of the all-threads FMA peak)',
    ...notes,
  ].join('\n');
}

function memoryTable(m: MemoryRow): string {
  const mib = (x: number): string => x.toFixed(1);
  const signed = (x: number): string => (x >= 0 ? '+' : '') + x.toFixed(3);
  const table = formatTable(
    [
      'model',
      'backend',
      'batch',
      'steps',
      'ms/step',
      'live start',
      'live end',
      'live MiB/1k steps',
      'RSS start',
      'RSS end',
      'RSS peak',
      'RSS MiB/1k steps',
      'flat',
    ],
    [
      [
        m.model,
        m.backend,
        String(m.batch),
        m.steps.toLocaleString('en-US'),
        formatNumber(m.msPerStep),
        mib(m.start.liveMiB),
        mib(m.end.liveMiB),
        signed(m.liveSlopeMiBPer1000),
        mib(m.start.rssMiB),
        mib(m.end.rssMiB),
        mib(m.peakRssMiB),
        signed(m.rssSlopeMiBPer1000),
        m.flat ? 'yes' : 'no',
      ],
    ],
    2,
  );
  return [
    table,
    `(MiB; live = V8 heap in use + tensor data after a full garbage collection; start is after the warm-up steps; slopes are least-squares fits over the second half of the run; flat: live memory grows under ${FLAT_SLOPE_MIB_PER_1000} MiB per 1,000 steps)`,
  ].join('\n');
}

function peersTable(p: PeersReport): string {
  const parts: string[] = [];
  if (p.figures.length > 0) {
    parts.push(
      formatTable(
        ['peer', 'task', 'threads', 'batch', 'median', 'best', 'unit', 'reps'],
        p.figures.map((f) => [
          f.peer,
          f.task,
          String(f.threads),
          f.batch === null ? '—' : String(f.batch),
          formatNumber(f.rate.median),
          formatNumber(f.rate.best),
          f.unit,
          String(f.rate.seconds.reps),
        ]),
        2,
      ),
    );
  }
  parts.push(...p.notes.map((n) => `- ${n}`));
  return parts.join('\n');
}

export function summaryTable(rows: readonly SummaryRow[]): string {
  return formatTable(
    ['what', 'convnet native', 'convnet TS', 'peer', 'ratio'],
    rows.map((r) => r.cells),
    1,
  );
}

/** The human-readable report: one table per section, then the summary. */
export function formatReport(r: BenchReport): string {
  const out = ['# convnet bench', '', metaBlock(r.meta)];
  if (r.peak !== null) out.push('', '## FMA peak', '', peakTable(r.peak));
  if (r.kernels !== null) out.push('', '## Kernels', '', kernelTables(r.kernels, r.meta.threads));
  if (r.e2e !== null) out.push('', '## End to end', '', e2eTable(r.e2e));
  if (r.memory !== null)
    out.push('', '## Memory over a long training run', '', memoryTable(r.memory));
  if (r.peers !== null) out.push('', '## Peers (same machine, same run)', '', peersTable(r.peers));
  out.push('', '## Summary', '', summaryTable(r.summary));
  if (r.notes.length > 0) out.push('', ...r.notes.map((n) => `- ${n}`));
  return out.join('\n') + '\n';
}
