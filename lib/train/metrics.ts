/**
 * Classification metrics over logits [N, C] and integer targets [N]. Each is available as a
 * one-shot function and folded into `MetricTracker`, which fit/evaluate use to average over
 * batches weighted by batch size.
 */
import { Tensor, formatShape } from '../tensor.js';

function checkLogitsTargets(fn: string, logits: Tensor, targets: Tensor): [number, number] {
  if (logits.ndim !== 2) {
    throw new RangeError(
      `${fn}: logits must be 2-D [N, C], got shape ${formatShape(logits.shape)}`,
    );
  }
  const [n, c] = logits.shape;
  if (targets.ndim !== 1 || targets.shape[0] !== n) {
    throw new RangeError(
      `${fn}: targets must be 1-D with ${n} class indices, got shape ${formatShape(targets.shape)}`,
    );
  }
  return [n, c];
}

/** Index of the largest logit in each row. */
export function predictClasses(logits: Tensor): Int32Array {
  if (logits.ndim !== 2) {
    throw new RangeError(
      `predictClasses: logits must be 2-D [N, C], got shape ${formatShape(logits.shape)}`,
    );
  }
  const [n, c] = logits.shape;
  const d = logits.data;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestV = d[i * c];
    for (let j = 1; j < c; j++) {
      const v = d[i * c + j];
      if (v > bestV) {
        bestV = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Number of rows whose target is among the k largest logits (ties counted against). */
export function countTopKCorrect(logits: Tensor, targets: Tensor, k: number): number {
  const [n, c] = checkLogitsTargets('topKAccuracy', logits, targets);
  if (!Number.isInteger(k) || k < 1 || k > c) {
    throw new RangeError(`topKAccuracy: k must be an integer in [1, ${c}], got ${k}`);
  }
  const d = logits.data;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const t = targets.data[i];
    const vt = d[i * c + t];
    let above = 0;
    for (let j = 0; j < c && above < k; j++) {
      const v = d[i * c + j];
      if (v > vt || (v === vt && j < t)) above++;
    }
    if (above < k) correct++;
  }
  return correct;
}

/** Fraction of rows whose largest logit is the target. */
export function accuracy(logits: Tensor, targets: Tensor): number {
  return countTopKCorrect(logits, targets, 1) / logits.shape[0];
}

/** Fraction of rows whose target is among the k largest logits. */
export function topKAccuracy(logits: Tensor, targets: Tensor, k: number): number {
  return countTopKCorrect(logits, targets, k) / logits.shape[0];
}

/** matrix[target][predicted] counts. */
export function confusionMatrix(
  predicted: ArrayLike<number>,
  targets: ArrayLike<number>,
  numClasses: number,
): number[][] {
  if (predicted.length !== targets.length) {
    throw new RangeError(
      `confusionMatrix: predicted and targets must have the same length, got ${predicted.length} and ${targets.length}`,
    );
  }
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(
      `confusionMatrix: numClasses must be a positive integer, got ${numClasses}`,
    );
  }
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i];
    const t = targets[i];
    if (!(p >= 0 && p < numClasses && t >= 0 && t < numClasses)) {
      throw new RangeError(
        `confusionMatrix: class indices must be in [0, ${numClasses}), got predicted ${p}, target ${t} at ${i}`,
      );
    }
    m[t][p]++;
  }
  return m;
}

/** Names fit/evaluate understand in `metrics`: 'accuracy' and 'top<k>' (e.g. 'top5'). */
export type MetricName = 'accuracy' | `top${number}`;

export function parseMetricName(name: string): number {
  if (name === 'accuracy') return 1;
  const m = /^top([1-9][0-9]*)$/.exec(name);
  if (m === null) {
    throw new RangeError(
      `metrics: unknown metric '${name}', expected 'accuracy' or 'top<k>' such as 'top5'`,
    );
  }
  return Number(m[1]);
}

/** Averages loss and metrics over batches, weighting each batch by its size. */
export class MetricTracker {
  private readonly ks: number[];
  private lossSum = 0;
  private correct: number[];
  count = 0;

  constructor(readonly names: readonly string[]) {
    this.ks = names.map(parseMetricName);
    this.correct = this.ks.map(() => 0);
  }

  update(loss: number, logits: Tensor, targets: Tensor): void {
    const n = logits.shape[0];
    this.lossSum += loss * n;
    this.count += n;
    if (targets.dtype !== 'int32') return;
    for (let i = 0; i < this.ks.length; i++) {
      this.correct[i] += countTopKCorrect(logits, targets, Math.min(this.ks[i], logits.shape[1]));
    }
  }

  /** { loss, accuracy, top5, ... } averaged so far; NaN before any update. */
  result(): Record<string, number> {
    const out: Record<string, number> = { loss: this.lossSum / this.count };
    this.names.forEach((name, i) => (out[name] = this.correct[i] / this.count));
    return out;
  }
}
