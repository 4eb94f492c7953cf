/**
 * The training loop: fit() trains a model on a DataLoader for some epochs, with validation,
 * metrics and callbacks; evaluate() and predict() run it in eval mode without recording a graph.
 * fit() is async and yields to the event loop after every batch, so a server in the same process
 * keeps answering while a model trains.
 */
import { noGrad } from '../autograd/engine.js';
import { crossEntropy } from '../functional/loss.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Tensor, formatShape } from '../tensor.js';
import type { BatchLogs, Callback, EpochLogs, SchedulerLike, TrainContext } from './callbacks.js';
import { SchedulerStep } from './callbacks.js';
import { MetricTracker } from './metrics.js';

/** A source of batches: a DataLoader, or any iterable of { inputs, targets }. */
export interface BatchSource {
  [Symbol.iterator](): Iterator<{ inputs: Tensor; targets: Tensor }>;
  /** Batches per pass, when known. */
  readonly length?: number;
  /** Samples per pass, when known. */
  readonly numSamples?: number;
  /** Repositions the shuffle for a resumed run (DataLoader). */
  setEpoch?(epoch: number): void;
}

export type LossFn = (output: Tensor, targets: Tensor) => Tensor;

export interface FitOptions {
  train: BatchSource;
  validation?: BatchSource;
  epochs: number;
  optimizer: Optimizer;
  /** Default: cross-entropy on logits and int32 class indices. */
  loss?: LossFn;
  /** A learning-rate schedule stepped after every epoch (or batch: schedulerInterval). */
  scheduler?: SchedulerLike;
  schedulerInterval?: 'epoch' | 'batch';
  callbacks?: Callback[];
  /** Extra metrics besides the loss: 'accuracy' (default) and 'top<k>'. */
  metrics?: string[];
  /** Start at this epoch (0-based), e.g. when resuming from a checkpoint. */
  initialEpoch?: number;
  /**
   * Skip this many batches of the first epoch (resuming a run interrupted mid-epoch). The data
   * order of an epoch is fixed by the loader's seed, so the skipped batches are the ones already
   * trained on; that epoch's logged metrics cover only the batches run now.
   */
  initialBatch?: number;
  /** Aborting stops training after the current batch (fit resolves normally). */
  signal?: AbortSignal;
}

export interface FitResult {
  history: EpochLogs[];
  /** Why training ended before `epochs`, or null. */
  stopReason: string | null;
  /** Training time in seconds. */
  seconds: number;
  /** Where a resumed run would continue: the epoch (0-based) and batch within it. */
  next: { epoch: number; batch: number };
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function countBatches(src: BatchSource): number {
  if (typeof src.length === 'number') return src.length;
  let n = 0;
  for (const _ of src) n++;
  return n;
}

function checkFitOptions(opts: FitOptions): void {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(
      `fit: options must be an object, got ${opts === null ? 'null' : typeof opts}`,
    );
  }
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) {
    throw new RangeError(`fit: epochs must be a positive integer, got ${opts.epochs}`);
  }
  if (opts.train === undefined || typeof opts.train[Symbol.iterator] !== 'function') {
    throw new TypeError(
      'fit: train must be a DataLoader or an iterable of { inputs, targets } batches',
    );
  }
  if (opts.optimizer === undefined || typeof opts.optimizer.step !== 'function') {
    throw new TypeError(
      'fit: optimizer must be an Optimizer (e.g. new optim.SGD(model.parameters(), { lr }))',
    );
  }
  const initial = opts.initialEpoch ?? 0;
  if (!Number.isInteger(initial) || initial < 0 || initial > opts.epochs) {
    throw new RangeError(
      `fit: initialEpoch must be an integer in [0, ${opts.epochs}], got ${opts.initialEpoch}`,
    );
  }
  const initialBatch = opts.initialBatch ?? 0;
  if (!Number.isInteger(initialBatch) || initialBatch < 0) {
    throw new RangeError(
      `fit: initialBatch must be a non-negative integer, got ${opts.initialBatch}`,
    );
  }
}

async function runCallbacks<K extends keyof Callback>(
  callbacks: readonly Callback[],
  hook: K,
  ...args: Parameters<NonNullable<Callback[K]>>
): Promise<void> {
  for (const cb of callbacks) {
    const f = cb[hook] as ((...a: unknown[]) => void | Promise<void>) | undefined;
    if (f !== undefined) await f.apply(cb, args);
  }
}

/** Trains `model`; returns the per-epoch history. */
export async function fit(model: Module, opts: FitOptions): Promise<FitResult> {
  checkFitOptions(opts);
  const lossFn = opts.loss ?? ((out: Tensor, t: Tensor) => crossEntropy(out, t));
  const metricNames = opts.metrics ?? ['accuracy'];
  const callbacks = [...(opts.callbacks ?? [])];
  if (opts.scheduler !== undefined) {
    callbacks.unshift(
      new SchedulerStep(opts.scheduler, { interval: opts.schedulerInterval ?? 'epoch' }),
    );
  }
  const stepsPerEpoch = countBatches(opts.train);
  const ctx: TrainContext = {
    model,
    optimizer: opts.optimizer,
    epochs: opts.epochs,
    initialEpoch: opts.initialEpoch ?? 0,
    stepsPerEpoch,
    samplesPerEpoch: opts.train.numSamples ?? NaN,
    history: [],
    epoch: opts.initialEpoch ?? 0,
    stopTraining: false,
    stopReason: null,
  };
  const onAbort = (): void => {
    ctx.stopTraining = true;
    // abort('why') names the reason; a bare abort() gives a DOMException.
    const reason: unknown = opts.signal?.reason;
    ctx.stopReason ??= typeof reason === 'string' ? reason : 'aborted';
  };
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) onAbort();
  const start = performance.now();
  const next = { epoch: ctx.initialEpoch, batch: opts.initialBatch ?? 0 };
  try {
    await runCallbacks(callbacks, 'onTrainBegin', ctx);
    for (let epoch = ctx.initialEpoch; epoch < opts.epochs && !ctx.stopTraining; epoch++) {
      ctx.epoch = epoch;
      const epochStart = performance.now();
      model.train();
      opts.train.setEpoch?.(epoch);
      const tracker = new MetricTracker(metricNames);
      await runCallbacks(callbacks, 'onEpochBegin', epoch, ctx);
      let batch = 0;
      const skip = epoch === ctx.initialEpoch ? (opts.initialBatch ?? 0) : 0;
      for (const { inputs, targets } of opts.train) {
        if (batch < skip) {
          batch++;
          continue;
        }
        await runCallbacks(callbacks, 'onBatchBegin', batch, ctx);
        const output = model.call(inputs);
        const loss = lossFn(output, targets);
        if (loss.size !== 1) {
          throw new RangeError(
            `fit: the loss must be a one-element tensor, got shape ${formatShape(loss.shape)}`,
          );
        }
        const lossValue = loss.item();
        if (!Number.isFinite(lossValue)) {
          throw new Error(
            `fit: the loss became ${lossValue} at epoch ${epoch + 1}, batch ${batch + 1}; lower the learning rate or check the data`,
          );
        }
        opts.optimizer.zeroGrad();
        loss.backward();
        opts.optimizer.step();
        tracker.update(lossValue, output, targets);
        const logs: BatchLogs = { batch, size: inputs.shape[0], ...tracker.result() } as BatchLogs;
        await runCallbacks(callbacks, 'onBatchEnd', batch, logs, ctx);
        batch++;
        next.epoch = epoch;
        next.batch = batch;
        if (ctx.stopTraining) break;
        await yieldToEventLoop();
      }
      if (batch < stepsPerEpoch && ctx.stopTraining) break; // interrupted mid-epoch: no epoch logs
      next.epoch = epoch + 1;
      next.batch = 0;
      const logs = { epoch, ...tracker.result() } as EpochLogs;
      if (opts.validation !== undefined) {
        const v = await evaluate(model, opts.validation, { loss: lossFn, metrics: metricNames });
        for (const [k, val] of Object.entries(v))
          logs[`val${k[0].toUpperCase()}${k.slice(1)}`] = val;
      }
      logs.lr = opts.optimizer.paramGroups[0].lr;
      logs.time = (performance.now() - epochStart) / 1000;
      ctx.history.push(logs);
      await runCallbacks(callbacks, 'onEpochEnd', epoch, logs, ctx);
    }
    await runCallbacks(callbacks, 'onTrainEnd', ctx);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return {
    history: ctx.history,
    stopReason: ctx.stopReason,
    seconds: (performance.now() - start) / 1000,
    next,
  };
}

export interface EvaluateOptions {
  loss?: LossFn;
  metrics?: string[];
}

/** Average loss and metrics over a data source, in eval mode and without a graph. */
export async function evaluate(
  model: Module,
  data: BatchSource,
  opts: EvaluateOptions = {},
): Promise<Record<string, number>> {
  const lossFn = opts.loss ?? ((out: Tensor, t: Tensor) => crossEntropy(out, t));
  const tracker = new MetricTracker(opts.metrics ?? ['accuracy']);
  const wasTraining = model.training;
  model.eval();
  try {
    for (const { inputs, targets } of data) {
      noGrad(() => {
        const out = model.call(inputs);
        tracker.update(lossFn(out, targets).item(), out, targets);
      });
      await yieldToEventLoop();
    }
  } finally {
    model.train(wasTraining);
  }
  if (tracker.count === 0) throw new RangeError('evaluate: the data source yielded no batches');
  return tracker.result();
}

/** The model's outputs for `inputs` [N, ...], computed in batches in eval mode without a graph. */
export function predict(model: Module, inputs: Tensor, opts: { batchSize?: number } = {}): Tensor {
  const batchSize = opts.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`predict: batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  if (inputs.ndim < 1 || inputs.shape[0] < 1) {
    throw new RangeError(
      `predict: inputs must have a batch dimension, got shape ${formatShape(inputs.shape)}`,
    );
  }
  const n = inputs.shape[0];
  const per = inputs.size / n;
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      const parts: Tensor[] = [];
      for (let i = 0; i < n; i += batchSize) {
        const b = Math.min(batchSize, n - i);
        const x = new Tensor(inputs.data.subarray(i * per, (i + b) * per), [
          b,
          ...inputs.shape.slice(1),
        ]);
        parts.push(model.call(x));
      }
      if (parts.length === 1) return parts[0];
      const outPer = parts[0].size / parts[0].shape[0];
      const out = new Float32Array(n * outPer);
      let off = 0;
      for (const p of parts) {
        out.set(p.data as Float32Array, off);
        off += p.size;
      }
      return new Tensor(out, [n, ...parts[0].shape.slice(1)]);
    });
  } finally {
    model.train(wasTraining);
  }
}
