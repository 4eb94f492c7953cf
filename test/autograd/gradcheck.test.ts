import { afterAll, describe, expect, it } from 'vitest';
import { recordOp } from '../../lib/autograd/engine.js';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import { nativeAvailable, setBackend, type BackendName } from '../../lib/backend/index.js';
import * as E from '../../lib/functional/elementwise.js';
import * as M from '../../lib/functional/matmul.js';
import * as R from '../../lib/functional/reduce.js';
import * as S from '../../lib/functional/shape.js';
import { Generator } from '../../lib/random.js';
import { Tensor, fromArray, rand, randn } from '../../lib/tensor.js';

const F = { ...E, ...R, ...S, ...M };
const gen = new Generator(1234);
const normal = (shape: number[]): Tensor => randn(shape, { generator: gen, requiresGrad: true });
const positive = (shape: number[]): Tensor =>
  rand(shape, { generator: gen, low: 0.5, high: 2, requiresGrad: true });
/** Values at least 0.2 away from 0 (abs, clamp at 0 and sign-sensitive rules have a kink there). */
const awayFromZero = (shape: number[]): Tensor => {
  const t = randn(shape, { generator: gen, requiresGrad: true });
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] += d[i] >= 0 ? 0.2 : -0.2;
  return t;
};

type Case = [string, (...xs: Tensor[]) => Tensor, () => Tensor[]];

const ELEMENTWISE: Case[] = [
  ['add same shape', F.add, () => [normal([3, 4]), normal([3, 4])]],
  ['add row broadcast', F.add, () => [normal([3, 4]), normal([4])]],
  ['add outer broadcast', F.add, () => [normal([3, 1]), normal([1, 4])]],
  ['add 3-D broadcast', F.add, () => [normal([2, 1, 4]), normal([3, 1])]],
  ['add scalar number', (x) => F.add(x, 2.5), () => [normal([5])]],
  ['add 0-d tensor', F.add, () => [normal([2, 3]), normal([])]],
  ['sub broadcast both ways', F.sub, () => [normal([4, 1]), normal([2, 1, 3])]],
  ['sub number minus tensor', (x) => F.sub(1, x), () => [normal([3])]],
  ['mul same shape', F.mul, () => [normal([3, 4]), normal([3, 4])]],
  ['mul broadcast', F.mul, () => [normal([2, 3, 4]), normal([3, 1])]],
  ['mul size-1 tensor', F.mul, () => [normal([1]), normal([2, 3])]],
  ['mul tensor by itself', (x) => F.mul(x, x), () => [normal([4])]],
  ['div same shape', F.div, () => [normal([3, 4]), awayFromZero([3, 4])]],
  ['div broadcast', F.div, () => [normal([2, 3]), awayFromZero([3])]],
  ['div number by tensor', (x) => F.div(2, x), () => [awayFromZero([5])]],
  ['pow by 2', (x) => F.pow(x, 2), () => [normal([5])]],
  ['pow by 3', (x) => F.pow(x, 3), () => [normal([5])]],
  ['pow by 0.5', (x) => F.pow(x, 0.5), () => [positive([5])]],
  ['pow by -1.5', (x) => F.pow(x, -1.5), () => [positive([5])]],
  ['pow tensor by tensor, broadcast', F.pow, () => [positive([2, 3]), normal([3])]],
  ['pow number by tensor', (x) => F.pow(1.7, x), () => [normal([4])]],
  ['maximum', F.maximum, () => [normal([3, 4]), normal([4])]],
  ['minimum', F.minimum, () => [normal([3, 1]), normal([3, 4])]],
  ['maximum with number', (x) => F.maximum(x, 0.1), () => [awayFromZero([6])]],
  ['neg', F.neg, () => [normal([2, 3])]],
  ['exp', F.exp, () => [normal([2, 3])]],
  ['log', F.log, () => [positive([2, 3])]],
  ['sqrt', F.sqrt, () => [positive([2, 3])]],
  ['abs', F.abs, () => [awayFromZero([2, 3])]],
  ['square', F.square, () => [normal([2, 3])]],
  ['clamp both bounds', (x) => F.clamp(x, -0.1, 0.15), () => [awayFromZero([10])]],
  ['clamp min only', (x) => F.clamp(x, 0), () => [awayFromZero([10])]],
];

const REDUCTIONS: Case[] = [
  ['sum all', (x) => F.sum(x), () => [normal([3, 4])]],
  ['sum axis 0', (x) => F.sum(x, 0), () => [normal([3, 4])]],
  ['sum axes [0, 2] keepDims', (x) => F.sum(x, [0, 2], true), () => [normal([2, 3, 4])]],
  ['mean all', (x) => F.mean(x), () => [normal([3, 4])]],
  ['mean axis -1', (x) => F.mean(x, -1), () => [normal([2, 3, 4])]],
  ['max all', (x) => F.max(x), () => [normal([3, 4])]],
  ['max axis 1', (x) => F.max(x, 1), () => [normal([3, 4])]],
  ['min axes [0, 2]', (x) => F.min(x, [0, 2]), () => [normal([2, 3, 4])]],
  ['variance all', (x) => F.variance(x), () => [normal([3, 4])]],
  [
    'variance axis 0, population',
    (x) => F.variance(x, 0, { correction: 0 }),
    () => [normal([5, 3])],
  ],
  [
    'variance axes [1, 2] keepDims',
    (x) => F.variance(x, [1, 2], { keepDims: true }),
    () => [normal([2, 3, 4])],
  ],
  ['logsumexp all', (x) => F.logsumexp(x), () => [normal([3, 4])]],
  ['logsumexp axis 1', (x) => F.logsumexp(x, 1), () => [normal([3, 4])]],
];

const SHAPES: Case[] = [
  ['reshape', (x) => F.reshape(x, [4, -1]), () => [normal([2, 6])]],
  ['view', (x) => F.view(x, [12]), () => [normal([3, 4])]],
  ['flatten', (x) => F.flatten(x, 1), () => [normal([2, 3, 4])]],
  ['squeeze', (x) => F.squeeze(x), () => [normal([1, 3, 1])]],
  ['unsqueeze', (x) => F.unsqueeze(x, 1), () => [normal([3, 2])]],
  ['transpose 2-D', (x) => F.transpose(x), () => [normal([3, 4])]],
  ['transpose dims 0, 2', (x) => F.transpose(x, 0, 2), () => [normal([2, 3, 4])]],
  ['permute', (x) => F.permute(x, [2, 0, 1]), () => [normal([2, 3, 4])]],
  ['concat axis 1', (a, b) => F.concat([a, b], 1), () => [normal([2, 3]), normal([2, 2])]],
  ['stack axis -1', (a, b) => F.stack([a, b], -1), () => [normal([2, 3]), normal([2, 3])]],
  ['slice', (x) => F.slice(x, 1, 1, -1), () => [normal([3, 5])]],
  ['narrow', (x) => F.narrow(x, 0, 1, 2), () => [normal([4, 2])]],
  ['indexSelect with repeats', (x) => F.indexSelect(x, 0, [2, 0, 2, 1]), () => [normal([3, 4])]],
  ['indexSelect axis 1', (x) => F.indexSelect(x, 1, [1, 1]), () => [normal([2, 3, 2])]],
  ['expand', (x) => F.expand(x, [2, -1, 3]), () => [normal([4, 1])]],
  ['broadcastTo', (x) => F.broadcastTo(x, [3, 4]), () => [normal([4])]],
];

const COMPOSED: Case[] = [
  [
    'a two-layer network with a logsumexp loss',
    (x, w1, b1, w2) =>
      F.mean(F.logsumexp(F.matmul(F.maximum(F.add(F.matmul(x, w1), b1), 0), w2), 1)),
    () => [normal([4, 3]), normal([3, 5]), normal([5]), normal([5, 2])],
  ],
];

describe.each([
  ['elementwise', ELEMENTWISE],
  ['reductions', REDUCTIONS],
  ['shape ops', SHAPES],
  ['composed', COMPOSED],
] as const)('gradcheck passes for %s', (_group, cases) => {
  it.each(cases)('%s', (_name, fn, make) => {
    expect(gradcheck(fn, make())).toBe(true);
  });
});

const MATMUL_SHAPES: [number[], number[]][] = [
  [[5], [5]],
  [
    [3, 4],
    [4, 2],
  ],
  [[4], [4, 3]],
  [[3, 4], [4]],
  [
    [2, 3, 4],
    [4, 2],
  ],
  [
    [2, 3, 4],
    [2, 4, 2],
  ],
  [
    [2, 1, 3, 4],
    [3, 4, 2],
  ],
  [
    [3, 4],
    [2, 4, 2],
  ],
];

describe.each(['ts', 'native'] as BackendName[])(
  'gradcheck of matmul on the %s backend',
  (backend) => {
    afterAll(() => setBackend('ts'));
    it.skipIf(backend === 'native' && !nativeAvailable()).each(MATMUL_SHAPES)(
      '%j · %j',
      (as, bs) => {
        setBackend(backend);
        expect(gradcheck(F.matmul, [normal(as), normal(bs)])).toBe(true);
      },
    );
  },
);

/** x², with a backward rule supplied by the test. */
function squareWith(rule: (x: Float32Array, g: Float32Array) => Float32Array) {
  return (x: Tensor): Tensor => {
    const d = x.data as Float32Array;
    const out = new Tensor(
      d.map((v) => v * v),
      x.shape,
    );
    return recordOp(out, 'badSquare', [x], (g) => [rule(d, g)]);
  };
}

describe('gradcheck rejects wrong gradient rules', () => {
  it('a missing factor 2', () => {
    const bad = squareWith((x, g) => x.map((v, i) => v * g[i]));
    const x = normal([2, 3]);
    expect(() => gradcheck(bad, [x])).toThrow(
      /^gradcheck: gradient mismatch for input 0 \(shape \[2,3\]\) at element \d+ \(index \[\d,\d\]\): analytic -?[\d.e-]+, numeric -?[\d.e-]+, \|difference\| [\d.e-]+ > tolerance [\d.e-]+; \d+ of 6 elements differ/,
    );
    // The correct rule passes through the same machinery.
    expect(
      gradcheck(
        squareWith((x, g) => x.map((v, i) => 2 * v * g[i])),
        [x],
      ),
    ).toBe(true);
  });

  it('a wrong sign', () => {
    const bad = squareWith((x, g) => x.map((v, i) => -2 * v * g[i]));
    expect(() => gradcheck(bad, [awayFromZero([4])])).toThrow(/gradient mismatch for input 0/);
  });

  it('a broadcast gradient that is not summed over the broadcast axis', () => {
    // a [2,3] + b [3]: b's gradient must sum the 2 rows; this rule takes only the first.
    const badAdd = (a: Tensor, b: Tensor): Tensor => {
      const out = F.add(a.detach(), b.detach());
      return recordOp(out, 'badAdd', [a, b], (g) => [g, g.slice(0, 3)]);
    };
    const a = normal([2, 3]);
    const b = normal([3]);
    expect(() => gradcheck(badAdd, [a, b])).toThrow(
      /gradient mismatch for input 1 \(shape \[3\]\) at element 0 \(index \[0\]\)/,
    );
  });

  it('an input that backward() left without a gradient', () => {
    const dropsB = (a: Tensor, b: Tensor): Tensor => {
      const out = F.mul(a.detach(), b.detach());
      return recordOp(out, 'dropsB', [a, b], (g) => [
        F.mul(new Tensor(g, a.shape), b.detach()).data as Float32Array,
        null,
      ]);
    };
    expect(() => gradcheck(dropsB, [normal([3]), awayFromZero([3])])).toThrow(
      /input 1 .*; backward\(\) gave this input no gradient/,
    );
  });
});

describe('gradcheck leaves its inputs as it found them', () => {
  it('restores data and grads after success and after a mismatch', () => {
    const x = normal([2, 3]);
    x.grad = fromArray([1, 2, 3, 4, 5, 6]).reshape([2, 3]);
    const before = Array.from(x.data);
    const gradBefore = x.grad;
    gradcheck((t) => F.exp(t), [x]);
    expect(Array.from(x.data)).toEqual(before);
    expect(x.grad).toBe(gradBefore);
    expect(() =>
      gradcheck(
        squareWith((_x, g) => g.slice()),
        [x],
      ),
    ).toThrow(/mismatch/);
    expect(Array.from(x.data)).toEqual(before);
    expect(x.grad).toBe(gradBefore);
  });

  it('restores data when fn throws during a perturbed run', () => {
    const x = normal([4]);
    const before = Array.from(x.data);
    let calls = 0;
    const flaky = (t: Tensor): Tensor => {
      if (++calls === 4) throw new Error('boom');
      return F.square(t);
    };
    expect(() => gradcheck(flaky, [x])).toThrow('boom');
    expect(Array.from(x.data)).toEqual(before);
  });
});

describe('gradcheck arguments', () => {
  it('checks its arguments', () => {
    const x = normal([2]);
    expect(() => gradcheck(F.exp, [fromArray([1, 2])])).toThrow(
      'gradcheck: no input has requiresGrad=true; nothing to check',
    );
    expect(() => gradcheck(F.exp, [x], { eps: 0 })).toThrow(
      'gradcheck: opts.eps must be a positive finite number, got 0',
    );
    expect(() => gradcheck(F.exp, [x], { atol: -1 })).toThrow(
      'gradcheck: opts.atol must be a non-negative finite number, got -1',
    );
    expect(() => gradcheck(() => fromArray([1]), [x])).toThrow(
      'gradcheck: the output of fn does not require a gradient (is it computed from the inputs?)',
    );
    expect(() => gradcheck(F.exp, x as never)).toThrow(
      'gradcheck: inputs must be an array of Tensors',
    );
  });

  it('is reproducible: the same seed gives the same verdict and message', () => {
    const bad = squareWith((x, g) => x.map((v, i) => 1.9 * v * g[i]));
    const x = normal([3]);
    const msg = (seed: number): string => {
      try {
        gradcheck(bad, [x], { seed });
        return 'passed';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(msg(3)).toBe(msg(3));
    expect(msg(3)).toMatch(/mismatch/);
  });
});
