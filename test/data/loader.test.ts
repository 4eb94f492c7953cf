import { describe, expect, it } from 'vitest';

import {
  Subset,
  TensorDataset,
  randomSplit,
  type Dataset,
  type Sample,
} from '../../lib/data/dataset.js';
import { DataLoader, type Batch } from '../../lib/data/loader.js';
import { Tensor } from '../../lib/tensor.js';

/** n samples of shape [2,3]: sample i holds 100*i + 0..5; target i % 4. */
function makeDataset(n: number): TensorDataset {
  const x = new Float32Array(n * 6);
  for (let i = 0; i < n; i++) for (let j = 0; j < 6; j++) x[i * 6 + j] = 100 * i + j;
  const y = new Int32Array(n).map((_, i) => i % 4);
  return new TensorDataset(new Tensor(x, [n, 2, 3]), new Tensor(y, [n]));
}

/** The sample ids in a batch, recovered from the inputs (sample i starts with 100*i). */
const ids = (b: Batch): number[] =>
  Array.from({ length: b.inputs.shape[0] }, (_, k) => b.inputs.data[k * 6] / 100);

/** The same data behind the generic (per-sample) path. */
class PlainDataset implements Dataset {
  constructor(private readonly inner: TensorDataset) {}
  get length(): number {
    return this.inner.length;
  }
  get(i: number): Sample {
    const s = this.inner.get(i);
    return { input: s.input.clone(), target: s.target };
  }
}

describe('TensorDataset / Subset', () => {
  it('get returns the row and the class index', () => {
    const ds = makeDataset(5);
    const s = ds.get(3);
    expect(s.input.shape).toEqual([2, 3]);
    expect([...s.input.data]).toEqual([300, 301, 302, 303, 304, 305]);
    expect(s.target).toBe(3);
    expect(() => ds.get(5)).toThrow('TensorDataset.get: index must be an integer in [0, 5), got 5');
  });

  it('tensor targets of rank > 1 come back as tensors', () => {
    const ds = new TensorDataset(
      new Tensor(new Float32Array(4), [2, 2]),
      new Tensor(Float32Array.of(1, 2, 3, 4), [2, 2]),
    );
    const t = ds.get(1).target as Tensor;
    expect([...t.data]).toEqual([3, 4]);
  });

  it('checks its arguments', () => {
    expect(() => new TensorDataset(new Tensor(new Float32Array(6), [3, 2]), [0, 1])).toThrow(
      'TensorDataset: targets must have one row per input sample (3), got shape [2]',
    );
    expect(() => new TensorDataset(new Tensor(new Float32Array(1), []), [0])).toThrow(
      /at least 1 dimension/,
    );
    expect(() => new Subset(makeDataset(3), [0, 3])).toThrow(
      'Subset: indices[1] must be an integer in [0, 3), got 3',
    );
    expect(() => new Subset(makeDataset(3), [0.5])).toThrow(
      /Subset: indices\[0\] must be an integer/,
    );
  });

  it('Subset maps indices', () => {
    const sub = new Subset(makeDataset(10), [7, 2]);
    expect(sub.length).toBe(2);
    expect(sub.get(0).input.data[0]).toBe(700);
    expect(sub.get(1).target).toBe(2);
  });
});

describe('randomSplit', () => {
  it('splits by counts into disjoint subsets covering everything, reproducibly', () => {
    const ds = makeDataset(10);
    const [a, b] = randomSplit(ds, [7, 3], { seed: 5 });
    expect([a.length, b.length]).toEqual([7, 3]);
    const all = [...a.indices, ...b.indices].sort((x, y) => x - y);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [a2] = randomSplit(ds, [7, 3], { seed: 5 });
    expect([...a2.indices]).toEqual([...a.indices]);
    const [a3] = randomSplit(ds, [7, 3], { seed: 6 });
    expect([...a3.indices]).not.toEqual([...a.indices]);
  });

  it('splits by fractions, giving the remainder to the first subsets', () => {
    // floor(0.5*11)=5, floor(0.3*11)=3, floor(0.2*11)=2: one left over, to the first.
    const parts = randomSplit(makeDataset(11), [0.5, 0.3, 0.2], { seed: 1 });
    expect(parts.map((p) => p.length)).toEqual([6, 3, 2]);
  });

  it('rejects lengths that fit neither rule', () => {
    expect(() => randomSplit(makeDataset(10), [5, 4])).toThrow(
      'randomSplit: lengths must be counts adding up to the dataset length 10 or fractions adding up to 1, got [5,4] (sum 9)',
    );
    expect(() => randomSplit(makeDataset(10), [])).toThrow(/non-empty array/);
  });
});

describe('DataLoader', () => {
  it('batches in order without shuffle, with a short last batch', () => {
    const loader = new DataLoader(makeDataset(10), { batchSize: 4 });
    const batches = [...loader];
    expect(loader.length).toBe(3);
    expect(batches.map(ids)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(batches[0].inputs.shape).toEqual([4, 2, 3]);
    expect([...batches[0].inputs.data.subarray(6, 12)]).toEqual([100, 101, 102, 103, 104, 105]);
    expect(batches[2].targets.dtype).toBe('int32');
    expect([...batches[2].targets.data]).toEqual([0, 1]);
    expect(batches[2].targets.shape).toEqual([2]);
  });

  it('dropLast drops the short batch', () => {
    const loader = new DataLoader(makeDataset(10), { batchSize: 4, dropLast: true });
    expect(loader.length).toBe(2);
    expect([...loader].map(ids)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(new DataLoader(makeDataset(3), { batchSize: 4, dropLast: true }).length).toBe(0);
  });

  it('shuffles into a permutation, new each epoch, the same for the same seed', () => {
    const ds = makeDataset(20);
    const run = (seed: number, epochs: number): number[][] => {
      const loader = new DataLoader(ds, { batchSize: 8, shuffle: true, seed });
      const out: number[][] = [];
      for (let e = 0; e < epochs; e++) out.push([...loader].flatMap(ids));
      return out;
    };
    const [e0, e1] = run(42, 2);
    expect([...e0].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(e0).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(e1).not.toEqual(e0);
    expect(run(42, 2)).toEqual([e0, e1]);
    expect(run(43, 1)[0]).not.toEqual(e0);
  });

  it('targets follow their inputs through the shuffle', () => {
    for (const b of new DataLoader(makeDataset(13), { batchSize: 5, shuffle: true, seed: 3 })) {
      expect([...b.targets.data]).toEqual(ids(b).map((i) => i % 4));
    }
  });

  it('setEpoch resumes with the same order as an uninterrupted run', () => {
    const ds = makeDataset(16);
    const a = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 9 });
    const epochs = [0, 1, 2].map(() => [...a].flatMap(ids));
    expect(a.epoch).toBe(3);
    const b = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 9 });
    b.setEpoch(2);
    expect([...b].flatMap(ids)).toEqual(epochs[2]);
    expect([...b.order(1)]).toEqual(epochs[1]);
    expect(() => b.setEpoch(-1)).toThrow(
      'DataLoader.setEpoch: epoch must be a non-negative integer, got -1',
    );
  });

  it('gathers the same batches through Subsets (the fast path) as through a plain Dataset', () => {
    const ds = makeDataset(30);
    const [train] = randomSplit(ds, [20, 10], { seed: 2 });
    const nested = new Subset(train, [19, 0, 5, 5, 11]);
    for (const d of [train, nested]) {
      const fast = [...new DataLoader(d, { batchSize: 3, shuffle: true, seed: 8 })];
      const slow = [
        ...new DataLoader(new PlainDataset(d as unknown as TensorDataset), {
          batchSize: 3,
          shuffle: true,
          seed: 8,
        }),
      ];
      expect(fast.length).toBe(slow.length);
      fast.forEach((b, k) => {
        expect(b.inputs.shape).toEqual(slow[k].inputs.shape);
        expect([...b.inputs.data]).toEqual([...slow[k].inputs.data]);
        expect([...b.targets.data]).toEqual([...slow[k].targets.data]);
      });
    }
    expect([...new DataLoader(nested, { batchSize: 5 })].flatMap(ids)).toEqual(
      [19, 0, 5, 5, 11].map((i) => train.indices[i]),
    );
  });

  it('stacks tensor targets and rejects ragged samples on the generic path', () => {
    const samples: Sample[] = [
      {
        input: new Tensor(Float32Array.of(1, 2), [2]),
        target: new Tensor(Float32Array.of(0.5), [1]),
      },
      {
        input: new Tensor(Float32Array.of(3, 4), [2]),
        target: new Tensor(Float32Array.of(1.5), [1]),
      },
    ];
    const ds: Dataset = { length: 2, get: (i) => samples[i] };
    const [b] = [...new DataLoader(ds, { batchSize: 2 })];
    expect(b.targets.shape).toEqual([2, 1]);
    expect(b.targets.dtype).toBe('float32');
    expect([...b.targets.data]).toEqual([0.5, 1.5]);

    const ragged: Dataset = {
      length: 2,
      get: (i) => ({ input: new Tensor(new Float32Array(i + 1), [i + 1]), target: 0 }),
    };
    expect(() => [...new DataLoader(ragged, { batchSize: 2 })]).toThrow(
      'DataLoader: sample 1 has input shape [2], but the batch has [1]',
    );
    const mixed: Dataset = {
      length: 2,
      get: (i) => ({
        input: new Tensor(new Float32Array(1), [1]),
        target: i === 0 ? 1 : new Tensor(new Float32Array(1), [1]),
      }),
    };
    expect(() => [...new DataLoader(mixed, { batchSize: 2 })]).toThrow(
      /sample 1 has a tensor target, but the batch has number targets/,
    );
  });

  it('iterates asynchronously with the same batches', async () => {
    const ds = makeDataset(10);
    const sync = [...new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 1 })].map(ids);
    const got: number[][] = [];
    for await (const b of new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 1 }))
      got.push(ids(b));
    expect(got).toEqual(sync);
  });

  it('applies the transform to each batch with a per-epoch generator', () => {
    const ds = makeDataset(6);
    const seen: number[] = [];
    const loader = new DataLoader(ds, {
      batchSize: 3,
      seed: 4,
      transform: (x, ctx) => {
        seen.push(ctx!.generator!.nextUint32());
        return new Tensor(
          x.f32.map((v) => -v),
          x.shape,
        );
      },
    });
    const [b] = [...loader];
    expect(b.inputs.data[6]).toBe(-100);
    const epoch0 = [...seen];
    seen.length = 0;
    loader.setEpoch(0);
    expect([...loader]).toHaveLength(2);
    expect(seen).toEqual(epoch0); // same epoch, same randomness
    expect([...loader]).toHaveLength(2);
    expect(seen.slice(2)).not.toEqual(epoch0);
  });

  it('checks its options', () => {
    const ds = makeDataset(4);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(
      'DataLoader: opts.batchSize must be a positive integer, got 0',
    );
    expect(() => new DataLoader(ds, { seed: NaN })).toThrow(
      /DataLoader: opts.seed must be a finite number/,
    );
    expect(() => new DataLoader({} as Dataset)).toThrow(/DataLoader: dataset must be a Dataset/);
    expect(() => new DataLoader(ds, { transform: 3 as never })).toThrow(
      /opts.transform must be a function/,
    );
    const dropsSamples = new DataLoader(ds, {
      batchSize: 2,
      transform: (x) => new Tensor(x.f32.subarray(0, 6), [1, 2, 3]),
    });
    expect(() => [...dropsSamples]).toThrow(
      'DataLoader: opts.transform must return a Tensor of 2 samples, got shape [1,2,3]',
    );
  });
});
