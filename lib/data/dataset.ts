/**
 * Datasets: anything with a length and an indexed `get`, as in torch.utils.data. TensorDataset
 * holds whole tensors, which lets the DataLoader gather batches with typed-array copies instead of
 * building one tensor per sample.
 */
import { Generator, defaultGenerator } from '../random.js';
import { Tensor, formatShape, shapeSize } from '../tensor.js';

export interface Sample {
  input: Tensor;
  /** A class index, or a tensor for other kinds of targets. */
  target: number | Tensor;
}

export interface Dataset {
  readonly length: number;
  get(index: number): Sample;
}

export function isDataset(x: unknown): x is Dataset {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as Dataset).get === 'function' &&
    Number.isInteger((x as Dataset).length)
  );
}

function checkIndex(fn: string, index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`${fn}: index must be an integer in [0, ${length}), got ${index}`);
  }
}

/** Rows of `inputs` paired with rows of `targets` (both indexed along their first dimension). */
export class TensorDataset implements Dataset {
  readonly inputs: Tensor;
  readonly targets: Tensor;
  /** Elements per sample in inputs / targets. */
  readonly inputRowSize: number;
  readonly targetRowSize: number;

  constructor(inputs: Tensor, targets: Tensor | Int32Array | readonly number[]) {
    if (!(inputs instanceof Tensor)) {
      throw new TypeError(
        `TensorDataset: inputs must be a Tensor, got ${inputs === null ? 'null' : typeof inputs}`,
      );
    }
    if (inputs.ndim < 1) {
      throw new RangeError(
        `TensorDataset: inputs must have at least 1 dimension (samples first), got shape ${formatShape(inputs.shape)}`,
      );
    }
    let t: Tensor;
    if (targets instanceof Tensor) {
      t = targets;
    } else if (targets instanceof Int32Array) {
      t = new Tensor(targets, [targets.length]);
    } else if (Array.isArray(targets) && targets.every((v) => Number.isInteger(v))) {
      t = new Tensor(Int32Array.from(targets), [targets.length]);
    } else {
      throw new TypeError(
        'TensorDataset: targets must be a Tensor, an Int32Array or an array of integers',
      );
    }
    if (t.ndim < 1 || t.shape[0] !== inputs.shape[0]) {
      throw new RangeError(
        `TensorDataset: targets must have one row per input sample (${inputs.shape[0]}), got shape ${formatShape(t.shape)}`,
      );
    }
    this.inputs = inputs;
    this.targets = t;
    this.inputRowSize = shapeSize(inputs.shape.slice(1));
    this.targetRowSize = shapeSize(t.shape.slice(1));
  }

  get length(): number {
    return this.inputs.shape[0];
  }

  /** Sample i; the input shares memory with the dataset (a view, as in PyTorch). */
  get(index: number): Sample {
    checkIndex('TensorDataset.get', index, this.length);
    const n = this.inputRowSize;
    const input = new Tensor(
      this.inputs.data.subarray(index * n, (index + 1) * n),
      this.inputs.shape.slice(1),
    );
    if (this.targets.ndim === 1) return { input, target: this.targets.data[index] };
    const m = this.targetRowSize;
    const target = new Tensor(
      this.targets.data.subarray(index * m, (index + 1) * m),
      this.targets.shape.slice(1),
    );
    return { input, target };
  }
}

/** The samples of `dataset` at `indices`, in that order. */
export class Subset implements Dataset {
  readonly dataset: Dataset;
  readonly indices: Int32Array;

  constructor(dataset: Dataset, indices: Int32Array | readonly number[]) {
    if (!isDataset(dataset)) {
      throw new TypeError('Subset: dataset must be a Dataset (an object with length and get(i))');
    }
    if (!(indices instanceof Int32Array) && !Array.isArray(indices)) {
      throw new TypeError(
        `Subset: indices must be an Int32Array or an array of integers, got ${typeof indices}`,
      );
    }
    const idx = indices instanceof Int32Array ? indices : Int32Array.from(indices);
    for (let i = 0; i < idx.length; i++) {
      if (
        idx[i] < 0 ||
        idx[i] >= dataset.length ||
        (Array.isArray(indices) && !Number.isInteger(indices[i]))
      ) {
        throw new RangeError(
          `Subset: indices[${i}] must be an integer in [0, ${dataset.length}), got ${Array.isArray(indices) ? indices[i] : idx[i]}`,
        );
      }
    }
    this.dataset = dataset;
    this.indices = idx;
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): Sample {
    checkIndex('Subset.get', index, this.length);
    return this.dataset.get(this.indices[index]);
  }
}

/**
 * Splits a dataset into non-overlapping random subsets, like torch.utils.data.random_split.
 * `lengths` are either counts that add up to the dataset's length, or fractions that add up to 1
 * (each gets floor(fraction * n), and the remainder goes one by one to the first subsets).
 * The shuffle comes from `seed`, else `generator`, else the default generator (see manualSeed).
 */
export function randomSplit(
  dataset: Dataset,
  lengths: readonly number[],
  opts: { seed?: number; generator?: Generator } = {},
): Subset[] {
  if (!isDataset(dataset)) {
    throw new TypeError(
      'randomSplit: dataset must be a Dataset (an object with length and get(i))',
    );
  }
  if (
    !Array.isArray(lengths) ||
    lengths.length === 0 ||
    !lengths.every((l) => typeof l === 'number' && l >= 0)
  ) {
    throw new TypeError(
      `randomSplit: lengths must be a non-empty array of non-negative numbers, got ${JSON.stringify(lengths)}`,
    );
  }
  const n = dataset.length;
  const sum = lengths.reduce((a, b) => a + b, 0);
  let counts: number[];
  if (lengths.every((l) => Number.isInteger(l)) && sum === n) {
    counts = [...lengths];
  } else if (lengths.every((l) => l <= 1) && Math.abs(sum - 1) < 1e-9) {
    counts = lengths.map((f) => Math.floor(f * n));
    let rest = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i]++;
  } else {
    throw new RangeError(
      `randomSplit: lengths must be counts adding up to the dataset length ${n} or fractions adding up to 1, got ${JSON.stringify(lengths)} (sum ${sum})`,
    );
  }
  if (opts.seed !== undefined && !Number.isFinite(opts.seed)) {
    throw new RangeError(`randomSplit: opts.seed must be a finite number, got ${opts.seed}`);
  }
  const gen =
    opts.seed !== undefined ? new Generator(opts.seed) : (opts.generator ?? defaultGenerator);
  const perm = gen.permutation(n);
  const out: Subset[] = [];
  let start = 0;
  for (const c of counts) {
    out.push(new Subset(dataset, perm.subarray(start, start + c)));
    start += c;
  }
  return out;
}
