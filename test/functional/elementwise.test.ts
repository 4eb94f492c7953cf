import { describe, expect, it } from 'vitest';
import { noGrad } from '../../lib/autograd/engine.js';
import {
  abs,
  add,
  clamp,
  div,
  eq,
  exp,
  ge,
  gt,
  le,
  log,
  lt,
  maximum,
  minimum,
  mul,
  ne,
  neg,
  pow,
  sqrt,
  square,
  sub,
} from '../../lib/functional/elementwise.js';
import { sum } from '../../lib/functional/reduce.js';
import { Generator } from '../../lib/random.js';
import { Tensor, fromArray, randn, shapeSize, tensor } from '../../lib/tensor.js';

const gen = new Generator(11);
const rnd = (shape: number[], requiresGrad = false): Tensor =>
  randn(shape, { generator: gen, requiresGrad });

/** Independent float64 broadcasting: each output index maps to input indices by modulo. */
function refBinary(
  a: Tensor,
  b: Tensor,
  outShape: number[],
  f: (x: number, y: number) => number,
): Float64Array {
  const out = new Float64Array(shapeSize(outShape));
  const idxOf = (t: Tensor, outIdx: number[]): number => {
    let flat = 0;
    const lead = outShape.length - t.ndim;
    for (let d = 0; d < t.ndim; d++) flat = flat * t.shape[d] + (outIdx[d + lead] % t.shape[d]);
    return flat;
  };
  for (let i = 0; i < out.length; i++) {
    const idx: number[] = [];
    let r = i;
    for (let d = outShape.length - 1; d >= 0; d--) {
      idx[d] = r % outShape[d];
      r = Math.floor(r / outShape[d]);
    }
    out[i] = f(a.data[idxOf(a, idx)], b.data[idxOf(b, idx)]);
  }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    if (Number.isNaN(e)) expect(actual[i]).toBeNaN();
    else expect(Math.abs(actual[i] - e)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e)));
  }
}

const BROADCASTS: [number[], number[], number[]][] = [
  [
    [2, 3],
    [2, 3],
    [2, 3],
  ],
  [[2, 3], [3], [2, 3]],
  [[2, 3], [1], [2, 3]],
  [[2, 3], [], [2, 3]],
  [
    [2, 1],
    [1, 3],
    [2, 3],
  ],
  [
    [4, 1, 3],
    [2, 1],
    [4, 2, 3],
  ],
  [
    [3, 1, 5],
    [3, 4, 1],
    [3, 4, 5],
  ],
  [[1], [2, 2], [2, 2]],
  [[2, 0], [1], [2, 0]],
];

describe('binary ops with broadcasting', () => {
  const ops: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
    ['add', add, (x, y) => x + y],
    ['sub', sub, (x, y) => x - y],
    ['mul', mul, (x, y) => x * y],
    ['div', div, (x, y) => x / y],
    ['maximum', maximum, Math.max],
    ['minimum', minimum, Math.min],
    ['pow', (a, b) => pow(abs(a), b), (x, y) => Math.abs(x) ** y],
  ];
  for (const [name, op, f] of ops) {
    it.each(BROADCASTS)(`${name}: %j with %j gives %j`, (as, bs, outShape) => {
      const a = rnd(as);
      const b = rnd(bs);
      const out = op(a, b);
      expect(out.shape).toEqual(outShape);
      expect(out.dtype).toBe('float32');
      expectClose(out.data, refBinary(a, b, outShape, f), 1e-5);
    });
  }

  it('accepts numbers on either side', () => {
    const x = fromArray([1, 2, 4]);
    expect(Array.from(sub(1, x).data)).toEqual([0, -1, -3]);
    expect(Array.from(sub(x, 1).data)).toEqual([0, 1, 3]);
    expect(Array.from(div(8, x).data)).toEqual([8, 4, 2]);
    expect(Array.from(div(x, 2).data)).toEqual([0.5, 1, 2]);
    expect(Array.from(pow(2, x).data)).toEqual([2, 4, 16]);
    expect(Array.from(pow(x, 2).data)).toEqual([1, 4, 16]);
    expect(Array.from(pow(x, 0.5).data)).toEqual([1, Math.SQRT2, 2].map(Math.fround));
    expect(Array.from(pow(x, 3).data)).toEqual([1, 8, 64]);
    expect(Array.from(maximum(x, 2).data)).toEqual([2, 2, 4]);
    expect(Array.from(minimum(2, x).data)).toEqual([1, 2, 2]);
    const s = add(2, 3);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(5);
  });

  it('reads int32 tensors and returns float32', () => {
    const i = tensor(new Int32Array([1, 2, 3]));
    const out = add(i, 0.5);
    expect(out.dtype).toBe('float32');
    expect(Array.from(out.data)).toEqual([1.5, 2.5, 3.5]);
  });

  it('propagates NaN through maximum and minimum', () => {
    const a = fromArray([NaN, 1, 2]);
    const b = fromArray([0, NaN, 1]);
    const mx = Array.from(maximum(a, b).data);
    expect(mx[0]).toBeNaN();
    expect(mx[1]).toBeNaN();
    expect(mx[2]).toBe(2);
    expect(Array.from(minimum(a, b).data)[2]).toBe(1);
  });

  it('names the op and both shapes when shapes do not broadcast', () => {
    expect(() => add(rnd([2, 3]), rnd([4]))).toThrow('add: cannot broadcast shapes [2,3] and [4]');
    expect(() => mul(rnd([2, 3]), rnd([3, 2]))).toThrow(
      'mul: cannot broadcast shapes [2,3] and [3,2]',
    );
    expect(() => add(rnd([2]), 'x' as never)).toThrow(
      'add: b must be a Tensor or a number, got string',
    );
    expect(() => lt(null as never, 1)).toThrow('lt: a must be a Tensor or a number, got null');
  });
});

describe('gradients reduce to each input shape', () => {
  it('add/sub: the broadcast operand gets the sum over broadcast axes', () => {
    const a = fromArray(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { requiresGrad: true },
    );
    const b = fromArray([10, 20, 30], { requiresGrad: true });
    const c = fromArray([[100], [200]], { requiresGrad: true });
    sum(
      mul(
        sub(add(a, b), c),
        fromArray([
          [1, 2, 3],
          [4, 5, 6],
        ]),
      ),
    ).backward();
    expect(Array.from(a.grad!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.grad!.shape).toEqual([3]);
    expect(Array.from(b.grad!.data)).toEqual([5, 7, 9]);
    expect(c.grad!.shape).toEqual([2, 1]);
    expect(Array.from(c.grad!.data)).toEqual([-6, -15]);
  });

  it('mul/div against hand-derived rules', () => {
    const a = fromArray(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    const b = fromArray([2, 4], { requiresGrad: true });
    sum(div(a, b)).backward();
    expect(Array.from(a.grad!.data)).toEqual([0.5, 0.25, 0.5, 0.25]);
    // d/db sum(a/b) = -sum_rows(a) / b^2
    expect(Array.from(b.grad!.data)).toEqual([-(1 + 3) / 4, -(2 + 4) / 16]);
    const s = fromArray([3], { requiresGrad: true });
    sum(mul(a.detach(), s)).backward();
    expect(Array.from(s.grad!.data)).toEqual([10]);
  });

  it('pow: both the base and the exponent', () => {
    const a = fromArray([2, 3], { requiresGrad: true });
    const b = fromArray([3, 2], { requiresGrad: true });
    sum(pow(a, b)).backward();
    expect(Array.from(a.grad!.data)).toEqual([12, 6]);
    expectClose(b.grad!.data, [8 * Math.log(2), 9 * Math.log(3)]);
    const z = fromArray([0, 1], { requiresGrad: true });
    const e = fromArray([2, 2], { requiresGrad: true });
    sum(pow(z, e)).backward();
    expect(Array.from(e.grad!.data)).toEqual([0, 0]);
    const x = fromArray([1.5], { requiresGrad: true });
    sum(pow(2, x)).backward();
    expectClose(x.grad!.data, [2 ** 1.5 * Math.LN2]);
  });

  it('maximum/minimum route the gradient to the winner and split ties', () => {
    const a = fromArray([1, 5, 3], { requiresGrad: true });
    const b = fromArray([2, 4, 3], { requiresGrad: true });
    sum(maximum(a, b)).backward();
    expect(Array.from(a.grad!.data)).toEqual([0, 1, 0.5]);
    expect(Array.from(b.grad!.data)).toEqual([1, 0, 0.5]);
    a.zeroGrad();
    sum(minimum(a, 2)).backward();
    expect(Array.from(a.grad!.data)).toEqual([1, 0, 0]);
  });

  it('records nothing under noGrad', () => {
    const a = rnd([3], true);
    const y = noGrad(() => mul(a, a));
    expect(y.requiresGrad).toBe(false);
  });
});

describe('comparisons', () => {
  const a = fromArray([1, 2, 3]);
  const b = fromArray([3, 2, 1]);
  it.each([
    ['eq', eq, [0, 1, 0]],
    ['ne', ne, [1, 0, 1]],
    ['lt', lt, [1, 0, 0]],
    ['le', le, [1, 1, 0]],
    ['gt', gt, [0, 0, 1]],
    ['ge', ge, [0, 1, 1]],
  ] as const)('%s', (_name, op, expected) => {
    const out = op(a, b);
    expect(out.dtype).toBe('float32');
    expect(Array.from(out.data)).toEqual(expected);
  });

  it('broadcast and take numbers on both sides without recording a graph', () => {
    const x = fromArray([[1], [2]], { requiresGrad: true });
    const out = lt(x, fromArray([1, 2, 3]));
    expect(out.shape).toEqual([2, 3]);
    expect(Array.from(out.data)).toEqual([0, 1, 1, 0, 0, 1]);
    expect(out.requiresGrad).toBe(false);
    expect(Array.from(gt(2, a).data)).toEqual([1, 0, 0]);
    expect(Array.from(le(2, a).data)).toEqual([0, 1, 1]);
    expect(Array.from(ge(a, 2).data)).toEqual([0, 1, 1]);
    expect(Array.from(eq(2, a).data)).toEqual([0, 1, 0]);
  });

  it('compare int32 labels with int32 predictions', () => {
    const pred = tensor(new Int32Array([0, 2, 1]));
    const labels = tensor(new Int32Array([0, 1, 1]));
    expect(Array.from(eq(pred, labels).data)).toEqual([1, 0, 1]);
  });
});

describe('unary ops', () => {
  const xs = [-2.5, -0.5, 0, 0.25, 3];
  const pos = [0.1, 0.5, 1, 2, 9];
  it.each([
    ['neg', neg, xs, (v: number) => -v],
    ['exp', exp, xs, Math.exp],
    ['log', log, pos, Math.log],
    ['sqrt', sqrt, pos, Math.sqrt],
    ['abs', abs, xs, Math.abs],
    ['square', square, xs, (v: number) => v * v],
  ] as const)('%s matches Math', (_name, op, input, f) => {
    const out = op(fromArray([...input]));
    expectClose(out.data, input.map(f));
  });

  it('log and sqrt follow IEEE outside their domain', () => {
    const out = Array.from(log(fromArray([0, -1])).data);
    expect(out[0]).toBe(-Infinity);
    expect(out[1]).toBeNaN();
    expect(sqrt(fromArray([-1])).data[0]).toBeNaN();
  });

  it('unary gradients by hand', () => {
    const x = fromArray([-2, 0, 0.5, 4], { requiresGrad: true });
    sum(abs(x)).backward();
    expect(Array.from(x.grad!.data)).toEqual([-1, 0, 1, 1]);
    x.zeroGrad();
    sum(square(x)).backward();
    expect(Array.from(x.grad!.data)).toEqual([-4, 0, 1, 8]);
    x.zeroGrad();
    sum(neg(x)).backward();
    expect(Array.from(x.grad!.data)).toEqual([-1, -1, -1, -1]);
    const p = fromArray([0.25, 4], { requiresGrad: true });
    sum(sqrt(p)).backward();
    expect(Array.from(p.grad!.data)).toEqual([1, 0.25]);
    p.zeroGrad();
    sum(log(p)).backward();
    expect(Array.from(p.grad!.data)).toEqual([4, 0.25]);
    p.zeroGrad();
    sum(exp(p)).backward();
    expectClose(p.grad!.data, [Math.exp(0.25), Math.exp(4)]);
  });

  it('clamp: values, one-sided bounds and a gradient that passes inside [min, max] inclusive', () => {
    const x = fromArray([-3, -1, 0, 1, 3], { requiresGrad: true });
    expect(Array.from(clamp(x, -1, 1).data)).toEqual([-1, -1, 0, 1, 1]);
    expect(Array.from(clamp(x, 0).data)).toEqual([0, 0, 0, 1, 3]);
    expect(Array.from(clamp(x, undefined, 0).data)).toEqual([-3, -1, 0, 0, 0]);
    sum(clamp(x, -1, 1)).backward();
    expect(Array.from(x.grad!.data)).toEqual([0, 1, 1, 1, 0]);
    expect(() => clamp(x)).toThrow('clamp: at least one of min and max must be given, got neither');
    expect(() => clamp(x, 'a' as never)).toThrow('clamp: min must be a number, got string');
    expect(() => exp([1, 2] as never)).toThrow('exp: x must be a Tensor, got an array of length 2');
  });
});

describe('add: large same-size operands', () => {
  it('equal element counts with broadcasting shapes still broadcast', async () => {
    const { add } = await import('../../lib/functional/elementwise.js');
    const { tensor } = await import('../../lib/tensor.js');
    const n = 3000;
    const a = tensor(
      Float32Array.from({ length: n }, (_, i) => i),
      [1, n],
    );
    const b = tensor(
      Float32Array.from({ length: n }, (_, i) => -i),
      [n, 1],
    );
    const c = add(a, b);
    expect(c.shape).toEqual([n, n]);
    expect(c.data[1 * n + 5]).toBe(5 - 1);
    const same = add(
      a,
      tensor(
        Float32Array.from({ length: n }, () => 1),
        [1, n],
      ),
    );
    expect(same.data[2999]).toBe(3000);
  });
});
