import { describe, expect, it } from 'vitest';
import { Generator, manualSeed } from '../lib/random.js';
import {
  Tensor,
  arange,
  formatShape,
  fromArray,
  full,
  ones,
  onesLike,
  rand,
  randint,
  randn,
  shapeSize,
  tensor,
  zeros,
  zerosLike,
} from '../lib/tensor.js';

describe('creation', () => {
  it('zeros, ones, full and the *Like variants fill the right shape and dtype', () => {
    const z = zeros([2, 3]);
    expect(z.shape).toEqual([2, 3]);
    expect(z.dtype).toBe('float32');
    expect(Array.from(z.data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(ones([3]).data)).toEqual([1, 1, 1]);
    const f = full([2, 2], 7, { dtype: 'int32' });
    expect(f.data).toBeInstanceOf(Int32Array);
    expect(Array.from(f.data)).toEqual([7, 7, 7, 7]);
    expect(zerosLike(f).dtype).toBe('int32');
    expect(Array.from(onesLike(z).data)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(zeros([]).shape).toEqual([]);
    expect(zeros([]).size).toBe(1);
    expect(zeros([0, 4]).size).toBe(0);
  });

  it('arange follows torch.arange', () => {
    expect(Array.from(arange(4).data)).toEqual([0, 1, 2, 3]);
    expect(Array.from(arange(1, 2, 0.25).data)).toEqual([1, 1.25, 1.5, 1.75]);
    expect(Array.from(arange(5, 0, -2).data)).toEqual([5, 3, 1]);
    expect(() => arange(0, 1, 0)).toThrow(/arange: .*step non-zero/);
  });

  it('fromArray infers the shape of nested arrays', () => {
    const t = fromArray([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(fromArray(5).shape).toEqual([]);
    expect(fromArray([[1], [2]], { dtype: 'int32' }).data).toBeInstanceOf(Int32Array);
  });

  it('fromArray rejects ragged arrays with the depth and lengths', () => {
    expect(() => fromArray([[1, 2], [3]])).toThrow(
      'fromArray: ragged nested array: expected length 2 at depth 1, got 1',
    );
    expect(() => fromArray([[1, 2], 3] as never)).toThrow(/fromArray: ragged nested array/);
  });

  it('tensor() uses a typed array without copying and checks the shape', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = tensor(data, [3, 2]);
    expect(t.data).toBe(data);
    expect(t.shape).toEqual([3, 2]);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow('tensor: shape [2,2] needs 4 elements, got 3');
    expect(() => new Tensor(new Float32Array(5), [2, 3])).toThrow(
      'Tensor: shape [2,3] needs 6 elements, got 5',
    );
    expect(() => full([2, -1], 0)).toThrow(
      'full: shape must be an array of non-negative integers, got [2,-1]',
    );
    expect(() => new Tensor(new Int32Array(2), [2], true)).toThrow(
      /only float32 tensors can require gradients/,
    );
  });

  it('shapeSize and formatShape', () => {
    expect(shapeSize([2, 3, 4])).toBe(24);
    expect(shapeSize([])).toBe(1);
    expect(formatShape([2, 3])).toBe('[2,3]');
  });
});

describe('random tensors', () => {
  it('randn is reproducible under manualSeed and differs across seeds', () => {
    manualSeed(42);
    const a = randn([100]);
    manualSeed(42);
    const b = randn([100]);
    manualSeed(43);
    const c = randn([100]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
  });

  it('a private generator does not disturb the default one', () => {
    manualSeed(7);
    const a = randn([10]);
    manualSeed(7);
    randn([5], { generator: new Generator(1) });
    const b = randn([10]);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
  });

  it('randn has standard-normal moments; rand and randint stay in range', () => {
    const x = randn([20000], { generator: new Generator(3) });
    let s = 0;
    let q = 0;
    for (const v of x.data) {
      s += v;
      q += v * v;
    }
    const mean = s / x.size;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(q / x.size - mean * mean - 1)).toBeLessThan(0.05);
    const u = rand([1000], { low: -2, high: 3, generator: new Generator(4) });
    expect(Math.min(...u.data)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u.data)).toBeLessThan(3);
    const r = randint(2, 5, [1000], { generator: new Generator(5) });
    expect(r.dtype).toBe('int32');
    expect(new Set(r.data)).toEqual(new Set([2, 3, 4]));
  });
});

describe('conversion and printing', () => {
  it('item returns the one value and refuses larger tensors', () => {
    expect(fromArray([[3.5]]).item()).toBe(3.5);
    expect(() => zeros([2]).item()).toThrow(
      'item: only one-element tensors can be converted to a number, got shape [2]',
    );
  });

  it('toArray rebuilds the nested arrays', () => {
    const nested = [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ];
    expect(fromArray(nested).toArray()).toEqual(nested);
    expect(fromArray(2).toArray()).toBe(2);
  });

  it('toString is readable', () => {
    const t = fromArray([
      [1, 2],
      [3, 4.5],
    ]);
    expect(t.toString()).toBe('tensor([[1.0000, 2.0000],\n        [3.0000, 4.5000]], shape=[2,2])');
    expect(fromArray([1, 2], { dtype: 'int32' }).toString()).toBe(
      'tensor([1, 2], shape=[2], dtype=int32)',
    );
    const g = fromArray([1, 2], { requiresGrad: true });
    expect(g.toString()).toContain('requiresGrad=true');
    expect(g.mul(2).toString()).toContain('gradFn=mul');
    const big = zeros([2000]);
    expect(big.toString()).toBe(
      'tensor([0.0000, 0.0000, 0.0000, ..., 0.0000, 0.0000, 0.0000], shape=[2000])',
    );
  });
});

describe('Tensor methods delegate to the functional ops', () => {
  const x = fromArray([
    [1, -2, 3],
    [-4, 5, -6],
  ]);

  it('elementwise', () => {
    expect(x.add(1).toArray()).toEqual([
      [2, -1, 4],
      [-3, 6, -5],
    ]);
    expect(x.abs().sum().item()).toBe(21);
    expect(x.mul(x).sub(x.square()).abs().max().item()).toBe(0);
    expect(x.gt(0).toArray()).toEqual([
      [1, 0, 1],
      [0, 1, 0],
    ]);
    expect(x.clamp(-1, 1).toArray()).toEqual([
      [1, -1, 1],
      [-1, 1, -1],
    ]);
  });

  it('reductions', () => {
    expect(x.sum(0).toArray()).toEqual([-3, 3, -3]);
    expect(x.mean(1).toArray()).toEqual([2 / 3, -5 / 3].map(Math.fround));
    expect(x.max(1).toArray()).toEqual([3, 5]);
    expect(x.argmax(1).toArray()).toEqual([2, 1]);
    expect(x.argmin().item()).toBe(5);
  });

  it('shapes', () => {
    expect(x.reshape(3, 2).shape).toEqual([3, 2]);
    expect(x.reshape([-1]).shape).toEqual([6]);
    expect(x.view(6, 1).shape).toEqual([6, 1]);
    expect(x.T.toArray()).toEqual([
      [1, -4],
      [-2, 5],
      [3, -6],
    ]);
    expect(x.transpose().toArray()).toEqual(x.T.toArray());
    expect(x.permute(1, 0).toArray()).toEqual(x.T.toArray());
    expect(x.unsqueeze(0).shape).toEqual([1, 2, 3]);
    expect(x.unsqueeze(0).squeeze().shape).toEqual([2, 3]);
    expect(x.slice(1, 1).toArray()).toEqual([
      [-2, 3],
      [5, -6],
    ]);
    expect(x.indexSelect(0, [1, 1]).toArray()).toEqual([
      [-4, 5, -6],
      [-4, 5, -6],
    ]);
    expect(fromArray([1, 2]).expand(2, -1).toArray()).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(x.matmul(x.T).toArray()).toEqual([
      [14, -32],
      [-32, 77],
    ]);
    expect(() => zeros([2, 2, 2]).T).toThrow(
      'T: only 2-D tensors have a matrix transpose, got shape [2,2,2]',
    );
  });
});
