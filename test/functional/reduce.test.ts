import { describe, expect, it } from 'vitest';
import {
  argmax,
  argmin,
  logsumexp,
  max,
  mean,
  min,
  sum,
  variance,
} from '../../lib/functional/reduce.js';
import { Generator } from '../../lib/random.js';
import { Tensor, fromArray, randn, shapeSize, tensor } from '../../lib/tensor.js';

const gen = new Generator(5);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(expected[i])),
    );
  }
}

/**
 * Independent float64 reference: groups x's elements by their index with the reduced axes
 * zeroed, then applies f to each group (groups in row-major order of the kept axes).
 */
function refReduce(x: Tensor, axes: number[], f: (vals: number[]) => number): number[] {
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const groups: number[][] = Array.from({ length: shapeSize(keptShape) }, () => []);
  for (let i = 0; i < x.size; i++) {
    let r = i;
    const idx: number[] = [];
    for (let d = x.ndim - 1; d >= 0; d--) {
      idx[d] = r % x.shape[d];
      r = Math.floor(r / x.shape[d]);
    }
    let o = 0;
    for (let d = 0; d < x.ndim; d++) o = o * keptShape[d] + (axes.includes(d) ? 0 : idx[d]);
    groups[o].push(x.data[i]);
  }
  return groups.map(f);
}

const fsum = (v: number[]): number => v.reduce((p, q) => p + q, 0);
const fmean = (v: number[]): number => fsum(v) / v.length;
const fvar =
  (c: number) =>
  (v: number[]): number => {
    const m = fmean(v);
    return fsum(v.map((q) => (q - m) ** 2)) / (v.length - c);
  };
const flse = (v: number[]): number => {
  const m = Math.max(...v);
  return m + Math.log(fsum(v.map((q) => Math.exp(q - m))));
};

const CASES: [number[], number | number[] | undefined, number[]][] = [
  [[3, 4], undefined, [0, 1]],
  [[3, 4], 0, [0]],
  [[3, 4], 1, [1]],
  [[3, 4], -1, [1]],
  [
    [2, 3, 4],
    [0, 2],
    [0, 2],
  ],
  [
    [2, 3, 4],
    [-1, -2],
    [1, 2],
  ],
  [
    [2, 3, 4, 5],
    [1, 3],
    [1, 3],
  ],
  [[2, 3, 4], 1, [1]],
];

describe.each([
  ['sum', sum, fsum],
  ['mean', mean, fmean],
  ['max', max, (v: number[]) => Math.max(...v)],
  ['min', min, (v: number[]) => Math.min(...v)],
  ['logsumexp', logsumexp, flse],
  [
    'variance',
    (x: Tensor, a?: number | number[], k?: boolean) => variance(x, a, { keepDims: k }),
    fvar(1),
  ],
] as const)('%s', (_name, op, f) => {
  it.each(CASES)('shape %j axis %j', (shape, axis, axes) => {
    const x = randn(shape, { generator: gen });
    const out = op(x, axis);
    const expectedShape = shape.filter((_, i) => !axes.includes(i));
    expect(out.shape).toEqual(expectedShape);
    expect(out.dtype).toBe('float32');
    expectClose(out.data, refReduce(x, axes, f));
    const kept = op(x, axis, true);
    expect(kept.shape).toEqual(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
    expect(Array.from(kept.data)).toEqual(Array.from(out.data));
  });
});

describe('axis conventions', () => {
  const m = fromArray([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  it('axis 0 runs down the rows, axis 1 across the columns (NumPy)', () => {
    expect(Array.from(sum(m, 0).data)).toEqual([5, 7, 9]);
    expect(Array.from(sum(m, 1).data)).toEqual([6, 15]);
    expect(sum(m).shape).toEqual([]);
    expect(sum(m).item()).toBe(21);
    expect(mean(m, [0, 1], true).shape).toEqual([1, 1]);
    expect(sum(m, []).toArray()).toEqual(m.toArray());
  });

  it('sums int32 tensors into float32', () => {
    const out = sum(tensor(new Int32Array([1, 2, 3])));
    expect(out.dtype).toBe('float32');
    expect(out.item()).toBe(6);
  });

  it('rejects bad axes with the function name', () => {
    expect(() => sum(m, 2)).toThrow(
      'sum: axis must be an integer in [-2, 1] for a 2-D tensor, got 2',
    );
    expect(() => mean(m, [0, -2])).toThrow('mean: axis must not repeat an axis, got [0,-2]');
    expect(() => max(m, 0.5)).toThrow(/max: axis must be an integer/);
    expect(() => sum(m, 0, 1 as never)).toThrow('sum: keepDims must be a boolean, got 1');
    expect(() => argmax(m, [0] as never)).toThrow(
      'argmax: axis must be an integer or omitted, got an array of length 1',
    );
    expect(() => max(randn([0, 3]), 0)).toThrow(
      'max: cannot reduce over an empty axis of a tensor of shape [0,3]',
    );
    expect(() => sum('x' as never)).toThrow('sum: x must be a Tensor, got string');
  });

  it('mean of an empty axis is NaN, as in torch', () => {
    expect(mean(randn([0, 2]), 0).data[0]).toBeNaN();
  });
});

describe('max/min and argmax/argmin', () => {
  const x = fromArray([
    [1, 7, 7, 2],
    [9, 0, 9, 0],
  ]);
  it('argmax/argmin give int32 positions along the axis; ties give the first occurrence', () => {
    const a1 = argmax(x, 1);
    expect(a1.dtype).toBe('int32');
    expect(Array.from(a1.data)).toEqual([1, 0]);
    expect(Array.from(argmax(x, 0).data)).toEqual([1, 0, 1, 0]);
    expect(Array.from(argmin(x, 1).data)).toEqual([0, 1]);
    expect(Array.from(argmin(x, -2).data)).toEqual([0, 1, 0, 1]);
    expect(argmax(x).item()).toBe(4);
    expect(argmin(x).item()).toBe(5);
    expect(argmax(x, 1, true).shape).toEqual([2, 1]);
  });

  it('the gradient of max/min goes to the first occurrence of the extremum', () => {
    const t = fromArray(
      [
        [1, 7, 7, 2],
        [9, 0, 9, 0],
      ],
      { requiresGrad: true },
    );
    max(t, 1).backward(fromArray([10, 20]));
    expect(Array.from(t.grad!.data)).toEqual([0, 10, 0, 0, 20, 0, 0, 0]);
    t.zeroGrad();
    min(t, 0).backward(fromArray([1, 2, 3, 4]));
    expect(Array.from(t.grad!.data)).toEqual([1, 0, 3, 0, 0, 2, 0, 4]);
    t.zeroGrad();
    max(t).backward();
    expect(Array.from(t.grad!.data)).toEqual([0, 0, 0, 0, 1, 0, 0, 0]);
  });

  it('NaN wins, as in torch', () => {
    const n = fromArray([1, NaN, 3]);
    expect(max(n).item()).toBeNaN();
    expect(min(n).item()).toBeNaN();
    expect(argmax(n).item()).toBe(1);
  });
});

describe('variance', () => {
  const x = fromArray([
    [1, 2, 3, 4],
    [2, 4, 6, 8],
  ]);
  it('is unbiased by default like torch.var; correction and unbiased choose the divisor', () => {
    // Row 0: mean 2.5, squared deviations sum to 5.
    expectClose(variance(x, 1).data, [5 / 3, 20 / 3]);
    expectClose(variance(x, 1, { correction: 0 }).data, [5 / 4, 20 / 4]);
    expectClose(variance(x, 1, { unbiased: false }).data, [5 / 4, 20 / 4]);
    expectClose(variance(x, 1, { unbiased: true }).data, [5 / 3, 20 / 3]);
    expectClose(variance(x, 0).data, [0.5, 2, 4.5, 8]);
    expect(variance(x, 1, { keepDims: true }).shape).toEqual([2, 1]);
    expect(() => variance(x, 1, { correction: 1, unbiased: true })).toThrow(
      'variance: pass either correction or unbiased, not both',
    );
    expect(() => variance(x, 1, { correction: -1 })).toThrow(
      'variance: correction must be a non-negative number, got -1',
    );
  });

  it('of one element with correction 1 is not finite, as in torch', () => {
    expect(Number.isFinite(variance(fromArray([3])).item())).toBe(false);
  });

  it('gradient: 2 (x - mean) / (N - correction)', () => {
    const t = fromArray([1, 2, 3, 6], { requiresGrad: true });
    variance(t).backward();
    // mean 3; 2 * (x - 3) / 3
    expectClose(t.grad!.data, [-4 / 3, -2 / 3, 0, 2]);
  });
});

describe('logsumexp', () => {
  it('is stable for large values and handles -Infinity', () => {
    expectClose(logsumexp(fromArray([1000, 1000])).data, [1000 + Math.LN2]);
    expectClose(logsumexp(fromArray([-1000, -1000])).data, [-1000 + Math.LN2]);
    expect(logsumexp(fromArray([-Infinity, -Infinity])).item()).toBe(-Infinity);
    expectClose(logsumexp(fromArray([-Infinity, 0])).data, [0]);
  });

  it('gradient is the softmax', () => {
    const t = fromArray([[1, 2, 3]], { requiresGrad: true });
    logsumexp(t, 1).backward(fromArray([2]));
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    expectClose(
      t.grad!.data,
      [1, 2, 3].map((v) => (2 * Math.exp(v)) / z),
    );
    const inf = fromArray([-Infinity, -Infinity], { requiresGrad: true });
    logsumexp(inf).backward();
    expect(Array.from(inf.grad!.data)).toEqual([0, 0]);
  });
});

describe('sum and mean gradients broadcast back', () => {
  it('over one axis, several axes and everything', () => {
    const t = randn([2, 3, 4], { generator: gen, requiresGrad: true });
    sum(t, [0, 2]).backward(fromArray([1, 2, 3]));
    const expected = refReduce(t, [], () => 0).map((_, i) => [1, 2, 3][Math.floor(i / 4) % 3]);
    expect(Array.from(t.grad!.data)).toEqual(expected);
    t.zeroGrad();
    mean(t, 1, true).backward(
      fromArray([
        [3, 6, 9, 12],
        [15, 18, 21, 24],
      ]),
    );
    const em = Array.from(
      { length: 24 },
      (_, i) => (3 * ((i % 4) + 1) + 12 * Math.floor(i / 12)) / 3,
    );
    expectClose(t.grad!.data, em);
    t.zeroGrad();
    mean(t).backward();
    expectClose(t.grad!.data, new Array(24).fill(1 / 24));
  });
});
