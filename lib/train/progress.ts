/**
 * The progress bar: epoch i/n, a bar, samples per second, ETA, running loss and accuracy. On a TTY
 * one line is redrawn in place; elsewhere (CI logs, pipes) one plain line per epoch is printed.
 */
import type { BatchLogs, Callback, EpochLogs, TrainContext } from './callbacks.js';

export interface ProgressBarOptions {
  /** Where to write (default process.stdout). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Bar width in characters (default 30). */
  width?: number;
  /** Minimum milliseconds between redraws on a TTY (default 100). */
  refreshMs?: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}`
    : `${m}:${String(r).padStart(2, '0')}`;
}

function formatLogs(logs: Record<string, number>, skip: readonly string[]): string {
  return Object.entries(logs)
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => `${k} ${/acc|top\d/i.test(k) ? (v * 100).toFixed(2) + '%' : v.toFixed(4)}`)
    .join('  ');
}

export class ProgressBar implements Callback {
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly width: number;
  private readonly refreshMs: number;
  private epochStart = 0;
  private lastDraw = 0;
  private seen = 0;

  constructor(opts: ProgressBarOptions = {}) {
    this.stream = opts.stream ?? process.stdout;
    this.width = opts.width ?? 30;
    this.refreshMs = opts.refreshMs ?? 100;
  }

  onEpochBegin(): void {
    this.epochStart = performance.now();
    this.lastDraw = 0;
    this.seen = 0;
  }

  onBatchEnd(batch: number, logs: BatchLogs, ctx: TrainContext): void {
    this.seen += logs.size;
    if (!this.stream.isTTY) return;
    const now = performance.now();
    const last = batch + 1 === ctx.stepsPerEpoch;
    if (!last && now - this.lastDraw < this.refreshMs) return;
    this.lastDraw = now;
    const frac = Math.min(1, (batch + 1) / ctx.stepsPerEpoch);
    const filled = Math.round(frac * this.width);
    const bar =
      '='.repeat(Math.max(0, filled - 1)) +
      (filled > 0 ? (last ? '=' : '>') : '') +
      ' '.repeat(this.width - filled);
    const elapsed = (now - this.epochStart) / 1000;
    const rate = this.seen / elapsed;
    const eta = (ctx.samplesPerEpoch - this.seen) / rate;
    const line =
      `Epoch ${ctx.epoch + 1}/${ctx.epochs} [${bar}] ${batch + 1}/${ctx.stepsPerEpoch}` +
      `  ${rate.toFixed(0)} samples/s  ETA ${formatDuration(eta)}  ${formatLogs(logs, ['batch', 'size'])}`;
    this.stream.write(`\r${line}\x1b[K`);
  }

  onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext): void {
    const elapsed = (performance.now() - this.epochStart) / 1000;
    const rate = this.seen / elapsed;
    const line =
      `Epoch ${epoch + 1}/${ctx.epochs}  ${formatDuration(elapsed)}  ${rate.toFixed(0)} samples/s  ` +
      formatLogs(logs, ['epoch', 'time', 'lr']) +
      (typeof logs.lr === 'number' ? `  lr ${logs.lr.toPrecision(3)}` : '');
    this.stream.write(this.stream.isTTY ? `\r${line}\x1b[K\n` : `${line}\n`);
  }

  onTrainEnd(ctx: TrainContext): void {
    if (ctx.stopReason !== null) this.stream.write(`Stopped: ${ctx.stopReason}\n`);
  }
}

export function progressBar(opts?: ProgressBarOptions): ProgressBar {
  return new ProgressBar(opts);
}
