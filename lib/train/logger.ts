/** Metrics loggers: one row (CSV) or one JSON object (JSONL) per epoch, flushed as it happens. */
import fs from 'node:fs';
import type { Callback, EpochLogs } from './callbacks.js';

export interface MetricsLoggerOptions {
  /** 'csv' or 'jsonl'; default from the file extension (.csv, otherwise jsonl). */
  format?: 'csv' | 'jsonl';
  /** Append to an existing file (for resumed runs) instead of starting a new one (default false). */
  append?: boolean;
}

export class MetricsLogger implements Callback {
  readonly format: 'csv' | 'jsonl';
  private columns: string[] | null = null;

  constructor(
    readonly path: string,
    private readonly opts: MetricsLoggerOptions = {},
  ) {
    if (typeof path !== 'string' || path === '') {
      throw new TypeError(
        `metricsLogger: path must be a non-empty string, got ${JSON.stringify(path)}`,
      );
    }
    this.format = opts.format ?? (path.endsWith('.csv') ? 'csv' : 'jsonl');
  }

  onTrainBegin(): void {
    if (!this.opts.append || !fs.existsSync(this.path)) {
      fs.writeFileSync(this.path, '');
      this.columns = null;
    } else if (this.format === 'csv') {
      const first = fs.readFileSync(this.path, 'utf8').split('\n')[0];
      this.columns = first ? first.split(',') : null;
    }
  }

  onEpochEnd(_epoch: number, logs: EpochLogs): void {
    if (this.format === 'jsonl') {
      fs.appendFileSync(this.path, JSON.stringify(logs) + '\n');
      return;
    }
    if (this.columns === null) {
      this.columns = Object.keys(logs);
      fs.appendFileSync(this.path, this.columns.join(',') + '\n');
    }
    fs.appendFileSync(
      this.path,
      this.columns.map((c) => (c in logs ? String(logs[c]) : '')).join(',') + '\n',
    );
  }
}

export function metricsLogger(path: string, opts?: MetricsLoggerOptions): MetricsLogger {
  return new MetricsLogger(path, opts);
}
