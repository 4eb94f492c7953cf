/**
 * DataLoader: batches of a Dataset, optionally shuffled, as a sync or async iterable.
 *
 * Shuffles are reproducible: the order of epoch e depends only on (seed, e), never on what ran
 * before, so a run resumed at epoch e (setEpoch) sees exactly the batches the original run saw.
 * Each iteration over the loader is one epoch and advances the epoch counter.
 */
import { Generator, defaultGenerator } from '../random.js';
import { Tensor, formatShape, type TensorData } from '../tensor.js';
import { Subset, TensorDataset, isDataset, type Dataset } from './dataset.js';
import type { Transform } from './transforms.js';

export interface Batch {
  /** The inputs stacked along a new first dimension: [B, ...sample shape]. */
  inputs: Tensor;
  /** int32 [B] for class indices; [B, ...] for tensor targets (same dtype as the samples'). */
  targets: Tensor;
}

export interface DataLoaderOptions {
  /** Samples per batch (default 32). */
  batchSize?: number;
  /** A new random order every epoch (default false). */
  shuffle?: boolean;
  /** Skip the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Seeds the shuffles and the transforms' randomness; default: drawn from the default generator. */
  seed?: number;
  /** Applied to each batch of inputs (see transforms.ts). */
  transform?: Transform;
}

/** murmur3's finalizer: spreads every input bit over the 32-bit result. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Rows of a TensorDataset, possibly seen through nested Subsets: the fast path's view. */
interface Rows {
  base: TensorDataset;
  /** index in the loader's dataset -> row of base; null for the identity. */
  map: Int32Array | null;
}

function resolveRows(dataset: Dataset): Rows | null {
  if (dataset instanceof TensorDataset) return { base: dataset, map: null };
  if (dataset instanceof Subset) {
    const inner = resolveRows(dataset.dataset);
    if (inner === null) return null;
    if (inner.map === null) return { base: inner.base, map: dataset.indices };
    const map = new Int32Array(dataset.indices.length);
    for (let i = 0; i < map.length; i++) map[i] = inner.map[dataset.indices[i]];
    return { base: inner.base, map };
  }
  return null;
}

function allocLike(data: TensorData, n: number): TensorData {
  return data instanceof Int32Array ? new Int32Array(n) : new Float32Array(n);
}

function gatherRows(src: Tensor, rowSize: number, rows: ArrayLike<number>): Tensor {
  const b = rows.length;
  const out = allocLike(src.data, b * rowSize);
  const data = src.data;
  if (rowSize === 1) {
    for (let i = 0; i < b; i++) out[i] = data[rows[i]];
  } else {
    for (let i = 0; i < b; i++) {
      const r = rows[i] * rowSize;
      out.set(data.subarray(r, r + rowSize), i * rowSize);
    }
  }
  return new Tensor(out, [b, ...src.shape.slice(1)]);
}

export class DataLoader implements Iterable<Batch>, AsyncIterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  readonly transform: Transform | null;
  private nextEpoch = 0;
  private readonly rows: Rows | null;

  constructor(dataset: Dataset, opts: DataLoaderOptions = {}) {
    if (!isDataset(dataset)) {
      throw new TypeError(
        'DataLoader: dataset must be a Dataset (an object with length and get(i))',
      );
    }
    const batchSize = opts.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(
        `DataLoader: opts.batchSize must be a positive integer, got ${batchSize}`,
      );
    }
    if (opts.seed !== undefined && !Number.isFinite(opts.seed)) {
      throw new RangeError(`DataLoader: opts.seed must be a finite number, got ${opts.seed}`);
    }
    if (opts.transform !== undefined && typeof opts.transform !== 'function') {
      throw new TypeError(
        `DataLoader: opts.transform must be a function, got ${typeof opts.transform}`,
      );
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.seed = opts.seed ?? defaultGenerator.nextUint32();
    this.transform = opts.transform ?? null;
    this.rows = resolveRows(dataset);
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The epoch the next iteration will run (0 for a new loader). */
  get epoch(): number {
    return this.nextEpoch;
  }

  /** Makes the next iteration run epoch `epoch`, e.g. to resume training from a checkpoint. */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new RangeError(
        `DataLoader.setEpoch: epoch must be a non-negative integer, got ${epoch}`,
      );
    }
    this.nextEpoch = epoch;
  }

  /** The generator for one stream (0: order, 1: transforms) of one epoch. */
  private generatorFor(epoch: number, stream: number): Generator {
    const seedBits = new Generator(this.seed).nextUint32();
    return new Generator(fmix32(seedBits ^ fmix32(epoch * 2 + stream + 0x9e3779b9)));
  }

  /** The sample order of epoch `epoch` (the identity when shuffle is off). */
  order(epoch: number): Int32Array {
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new RangeError(`DataLoader.order: epoch must be a non-negative integer, got ${epoch}`);
    }
    const n = this.dataset.length;
    if (this.shuffle) return this.generatorFor(epoch, 0).permutation(n);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return p;
  }

  *[Symbol.iterator](): Iterator<Batch> {
    const epoch = this.nextEpoch++;
    const order = this.order(epoch);
    const transformGen = this.generatorFor(epoch, 1);
    const count = this.length;
    for (let b = 0; b < count; b++) {
      const idx = order.subarray(
        b * this.batchSize,
        Math.min((b + 1) * this.batchSize, order.length),
      );
      const batch = this.collate(idx);
      if (this.transform !== null) {
        const out = this.transform(batch.inputs, { generator: transformGen });
        if (!(out instanceof Tensor) || out.shape[0] !== idx.length) {
          throw new TypeError(
            `DataLoader: opts.transform must return a Tensor of ${idx.length} samples, got ${out instanceof Tensor ? `shape ${formatShape(out.shape)}` : typeof out}`,
          );
        }
        batch.inputs = out;
      }
      yield batch;
    }
  }

  /** The same batches, yielding to the event loop between them so a server stays responsive. */
  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    for (const batch of this) {
      yield batch;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private collate(idx: Int32Array): Batch {
    if (this.rows !== null) {
      const { base, map } = this.rows;
      let rows: ArrayLike<number> = idx;
      if (map !== null) {
        const r = new Int32Array(idx.length);
        for (let i = 0; i < idx.length; i++) r[i] = map[idx[i]];
        rows = r;
      }
      return {
        inputs: gatherRows(base.inputs, base.inputRowSize, rows),
        targets: gatherRows(base.targets, base.targetRowSize, rows),
      };
    }
    return collateSamples(this.dataset, idx);
  }
}

/** Stacks samples from any Dataset; every sample must have the first one's shapes. */
function collateSamples(dataset: Dataset, idx: Int32Array): Batch {
  const b = idx.length;
  let inputs: TensorData | null = null;
  let targets: TensorData | null = null;
  let inShape: readonly number[] = [];
  let tShape: readonly number[] = [];
  let targetKind: 'number' | 'tensor' | null = null;
  for (let i = 0; i < b; i++) {
    const { input, target } = dataset.get(idx[i]);
    if (!(input instanceof Tensor)) {
      throw new TypeError(
        `DataLoader: sample ${idx[i]}: input must be a Tensor, got ${typeof input}`,
      );
    }
    if (inputs === null) {
      inShape = input.shape;
      inputs = allocLike(input.data, b * input.size);
    } else if (formatShape(input.shape) !== formatShape(inShape)) {
      throw new RangeError(
        `DataLoader: sample ${idx[i]} has input shape ${formatShape(input.shape)}, but the batch has ${formatShape(inShape)}`,
      );
    }
    inputs.set(input.data, i * input.size);
    const kind = typeof target === 'number' ? 'number' : target instanceof Tensor ? 'tensor' : null;
    if (kind === null) {
      throw new TypeError(
        `DataLoader: sample ${idx[i]}: target must be a number or a Tensor, got ${typeof target}`,
      );
    }
    if (targetKind !== null && kind !== targetKind) {
      throw new TypeError(
        `DataLoader: sample ${idx[i]} has a ${kind} target, but the batch has ${targetKind} targets`,
      );
    }
    if (typeof target === 'number') {
      if (!Number.isInteger(target)) {
        throw new TypeError(
          `DataLoader: sample ${idx[i]}: a number target must be an integer class index, got ${target}`,
        );
      }
      targets ??= new Int32Array(b);
      targets[i] = target;
    } else {
      const t = target as Tensor;
      if (targets === null) {
        tShape = t.shape;
        targets = allocLike(t.data, b * t.size);
      } else if (formatShape(t.shape) !== formatShape(tShape)) {
        throw new RangeError(
          `DataLoader: sample ${idx[i]} has target shape ${formatShape(t.shape)}, but the batch has ${formatShape(tShape)}`,
        );
      }
      targets.set(t.data, i * t.size);
    }
    targetKind = kind;
  }
  return {
    inputs: new Tensor(inputs ?? new Float32Array(0), [b, ...inShape]),
    targets: new Tensor(targets ?? new Int32Array(0), [b, ...tShape]),
  };
}
