import { describe, expect, it } from 'vitest';
import { mul } from '../../lib/functional/elementwise.js';
import { sum } from '../../lib/functional/reduce.js';
import {
  broadcastShapes,
  broadcastTo,
  concat,
  expand,
  flatten,
  indexSelect,
  narrow,
  permute,
  reshape,
  slice,
  squeeze,
  stack,
  sumToShape,
  transpose,
  unsqueeze,
  view,
} from '../../lib/functional/shape.js';
import { Generator } from '../../lib/random.js';
import { Tensor, arange, fromArray, randn, shapeSize, tensor } from '../../lib/tensor.js';

const gen = new Generator(9);

/** Row-major flat index of idx in shape. */
const flatIndex = (idx: number[], shape: readonly number[]): number =>
  idx.reduce((p, v, d) => p * shape[d] + v, 0);
const unravel = (i: number, shape: readonly number[]): number[] => {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
};

/** A gradient seed with distinct values, so a misplaced gradient is visible. */
const seed = (shape: readonly number[]): Tensor =>
  arange(1, shapeSize(shape) + 1).reshape([...shape]);

describe('views share data', () => {
  const x = arange(6);
  it('reshape infers -1 and shares the data array', () => {
    const r = reshape(x, [2, -1]);
    expect(r.shape).toEqual([2, 3]);
    expect(r.data).toBe(x.data);
    expect(view(x, [3, 2]).data).toBe(x.data);
    expect(reshape(x, [1, 6, 1]).shape).toEqual([1, 6, 1]);
    expect(reshape(fromArray(5), []).shape).toEqual([]);
  });

  it('reshape errors name both shapes', () => {
    expect(() => reshape(x, [4])).toThrow(
      'reshape: cannot reshape tensor of shape [6] (6 elements) into [4] (4 elements)',
    );
    expect(() => reshape(x, [4, -1])).toThrow(
      'reshape: cannot reshape tensor of shape [6] (6 elements) into [4,-1]',
    );
    expect(() => reshape(x, [-1, -1])).toThrow(
      'reshape: only one dimension can be -1, got [-1,-1]',
    );
    expect(() => view(x, [2.5] as never)).toThrow(
      'view: shape must be an array of integers >= -1, got [2.5]',
    );
  });

  it('flatten, squeeze and unsqueeze', () => {
    const t = randn([2, 3, 4, 5], { generator: gen });
    expect(flatten(t).shape).toEqual([120]);
    expect(flatten(t, 1).shape).toEqual([2, 60]);
    expect(flatten(t, 1, 2).shape).toEqual([2, 12, 5]);
    expect(flatten(t, -2).shape).toEqual([2, 3, 20]);
    expect(flatten(fromArray(3)).shape).toEqual([1]);
    expect(flatten(t, 1).data).toBe(t.data);
    expect(() => flatten(t, 2, 1)).toThrow(
      'flatten: startDim (2) must not come after endDim (1) for shape [2,3,4,5]',
    );
    const s = randn([1, 3, 1, 2], { generator: gen });
    expect(squeeze(s).shape).toEqual([3, 2]);
    expect(squeeze(s, 2).shape).toEqual([1, 3, 2]);
    expect(squeeze(s, [0, -2]).shape).toEqual([3, 2]);
    expect(squeeze(s, 1).shape).toEqual([1, 3, 1, 2]);
    expect(unsqueeze(s, 0).shape).toEqual([1, 1, 3, 1, 2]);
    expect(unsqueeze(s, -1).shape).toEqual([1, 3, 1, 2, 1]);
    expect(unsqueeze(s, 4).shape).toEqual([1, 3, 1, 2, 1]);
    expect(() => unsqueeze(s, 5)).toThrow(
      'unsqueeze: axis must be an integer in [-5, 4] for a 5-D tensor, got 5',
    );
  });

  it('views pass the gradient through unchanged', () => {
    const t = randn([2, 3], { generator: gen, requiresGrad: true });
    const y = unsqueeze(flatten(reshape(t, [3, 2])), 1);
    y.backward(seed([6, 1]));
    expect(t.grad!.shape).toEqual([2, 3]);
    expect(Array.from(t.grad!.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('permute and transpose', () => {
  it('transpose defaults to the last two axes (the matrix transpose for 2-D)', () => {
    const m = fromArray([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(transpose(m).toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    const b = randn([2, 3, 4], { generator: gen });
    const bt = transpose(b);
    expect(bt.shape).toEqual([2, 4, 3]);
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 4; k++)
          expect(bt.data[flatIndex([i, k, j], bt.shape)]).toBe(
            b.data[flatIndex([i, j, k], b.shape)],
          );
    expect(transpose(b, 0, 2).shape).toEqual([4, 3, 2]);
    expect(() => transpose(fromArray([1, 2]))).toThrow(
      'transpose: swapping the last two dimensions needs at least 2, got shape [2]',
    );
  });

  it('a large 2-D transpose (blocked path) matches the definition', () => {
    const m = randn([70, 45], { generator: gen });
    const t = transpose(m);
    for (let i = 0; i < 70; i++)
      for (let j = 0; j < 45; j++) expect(t.data[j * 70 + i]).toBe(m.data[i * 45 + j]);
  });

  it.each([
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [2, 3, 4, 5],
      [3, 1, 0, 2],
    ],
    [
      [2, 3, 4, 5],
      [0, 2, 1, 3],
    ],
    [
      [4, 5],
      [-1, 0],
    ],
  ])('permute %j by %j matches the definition, and so does its gradient', (shape, dims) => {
    const x = randn(shape, { generator: gen, requiresGrad: true });
    const p = permute(x, dims);
    const perm = dims.map((d) => (d < 0 ? d + shape.length : d));
    expect(p.shape).toEqual(perm.map((d) => shape[d]));
    for (let o = 0; o < p.size; o++) {
      const oi = unravel(o, p.shape);
      const xi: number[] = [];
      perm.forEach((d, i) => (xi[d] = oi[i]));
      expect(p.data[o]).toBe(x.data[flatIndex(xi, shape)]);
    }
    const g = seed(p.shape);
    p.backward(g);
    for (let o = 0; o < p.size; o++) {
      const oi = unravel(o, p.shape);
      const xi: number[] = [];
      perm.forEach((d, i) => (xi[d] = oi[i]));
      expect(x.grad!.data[flatIndex(xi, shape)]).toBe(g.data[o]);
    }
  });

  it('permute rejects a non-permutation', () => {
    const x = randn([2, 3], { generator: gen });
    expect(() => permute(x, [0, 0])).toThrow(
      'permute: dims must not repeat a dimension, got [0,0]',
    );
    expect(() => permute(x, [0])).toThrow(
      'permute: dims must list all 2 dimensions of shape [2,3], got [0]',
    );
  });
});

describe('concat and stack', () => {
  const a = fromArray([
    [1, 2],
    [3, 4],
  ]);
  const b = fromArray([[5, 6]]);
  it('concat along axis 0 and 1', () => {
    expect(concat([a, b]).toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(concat([a, fromArray([[7], [8]])], 1).toArray()).toEqual([
      [1, 2, 7],
      [3, 4, 8],
    ]);
    expect(concat([a, fromArray([[7], [8]])], -1).shape).toEqual([2, 3]);
    const i = concat([tensor(new Int32Array([1])), tensor(new Int32Array([2, 3]))]);
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.data)).toEqual([1, 2, 3]);
  });

  it('concat splits the gradient back', () => {
    const x = fromArray([[1], [2]], { requiresGrad: true });
    const y = fromArray(
      [
        [3, 4],
        [5, 6],
      ],
      { requiresGrad: true },
    );
    concat([x, y], 1).backward(seed([2, 3]));
    expect(Array.from(x.grad!.data)).toEqual([1, 4]);
    expect(Array.from(y.grad!.data)).toEqual([2, 3, 5, 6]);
  });

  it('concat errors', () => {
    expect(() => concat([a, fromArray([[7], [8]])], 0)).toThrow(
      "concat: tensors[1] has shape [2,1], which does not match tensors[0]'s [2,2] outside axis 0",
    );
    expect(() => concat([])).toThrow(
      'concat: tensors must be a non-empty array of Tensors, got an array of length 0',
    );
    expect(() => concat([a, tensor(new Int32Array(2), [1, 2])])).toThrow(
      'concat: tensors[1] is int32 but tensors[0] is float32',
    );
  });

  it('stack adds an axis and routes gradients', () => {
    const x = fromArray([1, 2], { requiresGrad: true });
    const y = fromArray([3, 4], { requiresGrad: true });
    expect(stack([x, y]).toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    const s = stack([x, y], 1);
    expect(s.toArray()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    s.backward(seed([2, 2]));
    expect(Array.from(x.grad!.data)).toEqual([1, 3]);
    expect(Array.from(y.grad!.data)).toEqual([2, 4]);
    expect(() => stack([x, fromArray([1, 2, 3])])).toThrow(
      'stack: all tensors must have the same shape; tensors[1] is [3], tensors[0] is [2]',
    );
  });
});

describe('slice, narrow and indexSelect', () => {
  const x = arange(12).reshape([3, 4]);
  it('slice follows Python slicing, with clamping and negative positions', () => {
    expect(slice(x, 1, 1, 3).toArray()).toEqual([
      [1, 2],
      [5, 6],
      [9, 10],
    ]);
    expect(slice(x, 0, -1).toArray()).toEqual([[8, 9, 10, 11]]);
    expect(slice(x, 0, 1, 100).shape).toEqual([2, 4]);
    expect(slice(x, 1, 3, 1).shape).toEqual([3, 0]);
    expect(slice(x, -1, -2, -1).toArray()).toEqual([[2], [6], [10]]);
  });

  it('narrow is strict', () => {
    expect(narrow(x, 0, 1, 2).toArray()).toEqual([
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    expect(() => narrow(x, 0, 2, 2)).toThrow(
      'narrow: length must be an integer in [0, 1] for start 2 on axis 0 of shape [3,4], got 2',
    );
    expect(() => narrow(x, 2, 0, 1)).toThrow(
      'narrow: axis must be an integer in [-2, 1] for a 2-D tensor, got 2',
    );
  });

  it('slice gradients land in the sliced positions', () => {
    const t = randn([3, 4], { generator: gen, requiresGrad: true });
    slice(t, 1, 1, 3).backward(seed([3, 2]));
    expect(Array.from(t.grad!.data)).toEqual([0, 1, 2, 0, 0, 3, 4, 0, 0, 5, 6, 0]);
    t.zeroGrad();
    narrow(t, 0, 2, 1).backward(seed([1, 4]));
    expect(Array.from(t.grad!.data)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  });

  it('indexSelect gathers a batch; repeated indices accumulate gradients', () => {
    expect(indexSelect(x, 0, [2, 0, 2]).toArray()).toEqual([
      [8, 9, 10, 11],
      [0, 1, 2, 3],
      [8, 9, 10, 11],
    ]);
    expect(indexSelect(x, 1, tensor(new Int32Array([3, 0]))).toArray()).toEqual([
      [3, 0],
      [7, 4],
      [11, 8],
    ]);
    const t = randn([3, 2], { generator: gen, requiresGrad: true });
    indexSelect(t, 0, new Int32Array([2, 0, 2])).backward(seed([3, 2]));
    expect(Array.from(t.grad!.data)).toEqual([3, 4, 0, 0, 1 + 5, 2 + 6]);
    expect(() => indexSelect(x, 0, [3])).toThrow(
      'indexSelect: indices[0] = 3 is out of range for an axis of size 3',
    );
    expect(() => indexSelect(x, 0, fromArray([1]))).toThrow(
      'indexSelect: indices must be a 1-D int32 tensor, got float32 of shape [1]',
    );
  });
});

describe('broadcasting helpers and expand', () => {
  it('broadcastShapes follows NumPy and names the op', () => {
    expect(broadcastShapes('f', [2, 1, 3], [4, 1])).toEqual([2, 4, 3]);
    expect(broadcastShapes('f', [], [3])).toEqual([3]);
    expect(broadcastShapes('f', [0], [1])).toEqual([0]);
    expect(() => broadcastShapes('add', [2, 3], [4])).toThrow(
      'add: cannot broadcast shapes [2,3] and [4]',
    );
  });

  it('sumToShape sums over broadcast axes (against a float64 loop)', () => {
    const g = randn([4, 2, 3], { generator: gen });
    for (const to of [[2, 1], [1, 3], [3], [4, 1, 1], [1], [2, 3]]) {
      const out = sumToShape(g.data, g.shape, to);
      const lead = 3 - to.length;
      const ref = new Float64Array(shapeSize(to));
      for (let i = 0; i < g.size; i++) {
        const idx = unravel(i, g.shape).slice(lead);
        ref[
          flatIndex(
            idx.map((v, d) => (to[d] === 1 ? 0 : v)),
            to,
          )
        ] += g.data[i];
      }
      expect(out.length).toBe(ref.length);
      ref.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 5));
    }
  });

  it('expand and broadcastTo copy values; their gradient sums back', () => {
    const b = fromArray([[1], [2]], { requiresGrad: true });
    const e = expand(b, [3, -1, 4]);
    expect(e.shape).toEqual([3, 2, 4]);
    expect(Array.from(e.data)).toEqual([
      ...[1, 1, 1, 1, 2, 2, 2, 2],
      ...[1, 1, 1, 1, 2, 2, 2, 2],
      ...[1, 1, 1, 1, 2, 2, 2, 2],
    ]);
    sum(mul(e, seed([3, 2, 4]))).backward();
    // b[0] collects seeds 1-4, 9-12, 17-20; b[1] collects 5-8, 13-16, 21-24.
    expect(Array.from(b.grad!.data)).toEqual([10 + 42 + 74, 26 + 58 + 90]);
    expect(broadcastTo(fromArray([1, 2]), [2, 2]).toArray()).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(() => expand(fromArray([[1, 2, 3]]), [2, 4])).toThrow(
      'expand: cannot expand shape [1,3] to [2,4]',
    );
    expect(() => broadcastTo(fromArray([1]), [-1])).toThrow(
      'broadcastTo: shape must be an array of non-negative integers, got [-1]',
    );
    expect(() => expand(fromArray([1]), [-1, 1])).toThrow(
      'expand: cannot expand shape [1] to [-1,1]',
    );
  });
});
