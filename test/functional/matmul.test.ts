import { afterAll, describe, expect, it } from 'vitest';
import { nativeAvailable, setBackend, type BackendName } from '../../lib/backend/index.js';
import { matmul } from '../../lib/functional/matmul.js';
import { Generator } from '../../lib/random.js';
import { Tensor, randn, shapeSize } from '../../lib/tensor.js';

const gen = new Generator(21);

/** Independent float64 batched matmul on already-promoted 2-D-or-more shapes, batch dims broadcast by modulo. */
function refMatmul(
  a: Tensor,
  aShape: number[],
  b: Tensor,
  bShape: number[],
): { data: Float64Array; batch: number[] } {
  const m = aShape.at(-2)!;
  const k = aShape.at(-1)!;
  const n = bShape.at(-1)!;
  const ab = aShape.slice(0, -2);
  const bb = bShape.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const pa = [...new Array(rank - ab.length).fill(1), ...ab];
  const pb = [...new Array(rank - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const count = shapeSize(batch);
  const out = new Float64Array(count * m * n);
  for (let t = 0; t < count; t++) {
    let r = t;
    const idx: number[] = [];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = r % batch[d];
      r = Math.floor(r / batch[d]);
    }
    const ai = idx.reduce((p, v, d) => p * pa[d] + (v % pa[d]), 0);
    const bi = idx.reduce((p, v, d) => p * pb[d] + (v % pb[d]), 0);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++)
          s += a.data[ai * m * k + i * k + q] * b.data[bi * k * n + q * n + j];
        out[t * m * n + i * n + j] = s;
      }
  }
  return { data: out, batch };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(expected[i])),
    );
  }
}

/** [aShape, bShape, expected output shape] */
const CASES: [number[], number[], number[]][] = [
  [[5], [5], []],
  [
    [3, 4],
    [4, 5],
    [3, 5],
  ],
  [[4], [4, 5], [5]],
  [[3, 4], [4], [3]],
  [
    [2, 3, 4],
    [4, 5],
    [2, 3, 5],
  ],
  [
    [2, 3, 4],
    [2, 4, 5],
    [2, 3, 5],
  ],
  [
    [2, 1, 3, 4],
    [3, 4, 5],
    [2, 3, 3, 5],
  ],
  [
    [3, 4],
    [2, 4, 5],
    [2, 3, 5],
  ],
  [[4], [2, 4, 5], [2, 5]],
  [[2, 3, 4], [4], [2, 3]],
  [
    [1, 3, 4],
    [1, 4, 2],
    [1, 3, 2],
  ],
  [
    [3, 0],
    [0, 2],
    [3, 2],
  ],
  [
    [2, 0, 4],
    [2, 4, 3],
    [2, 0, 3],
  ],
];

const backends: BackendName[] = ['ts', 'native'];

describe.each(backends)('matmul on the %s backend', (backend) => {
  const available = backend === 'ts' || nativeAvailable();
  afterAll(() => setBackend('ts'));

  it.skipIf(!available).each(CASES)('%j · %j = %j, with gradients', (as, bs, outShape) => {
    setBackend(backend);
    const a = randn(as, { generator: gen, requiresGrad: true });
    const b = randn(bs, { generator: gen, requiresGrad: true });
    const out = matmul(a, b);
    expect(out.shape).toEqual(outShape);
    const aP = as.length === 1 ? [1, as[0]] : as;
    const bP = bs.length === 1 ? [bs[0], 1] : bs;
    expectClose(out.data, refMatmul(a, aP, b, bP).data);

    // L(a, b) = sum(w * matmul(a, b)) is bilinear, so dL/da[e] = L(unit_e, b) and
    // dL/db[e] = L(a, unit_e): exact gradients from the float64 reference, broadcasting included.
    const w = randn(outShape, { generator: gen });
    out.backward(w);
    const gA = new Float64Array(a.size);
    const gB = new Float64Array(b.size);
    const L = (ad: Float32Array, bd: Float32Array): number => {
      const r = refMatmul(new Tensor(ad, a.shape), aP, new Tensor(bd, b.shape), bP).data;
      let s = 0;
      for (let i = 0; i < r.length; i++) s += r[i] * w.data[i];
      return s;
    };
    for (let e = 0; e < a.size; e++) {
      const unit = new Float32Array(a.size);
      unit[e] = 1;
      gA[e] = L(unit, b.data as Float32Array);
    }
    for (let e = 0; e < b.size; e++) {
      const unit = new Float32Array(b.size);
      unit[e] = 1;
      gB[e] = L(a.data as Float32Array, unit);
    }
    expect(a.grad!.shape).toEqual(as);
    expect(b.grad!.shape).toEqual(bs);
    expectClose(a.grad!.data, gA);
    expectClose(b.grad!.data, gB);
  });

  it.skipIf(!available)('a larger product crosses the kernel blocking', () => {
    setBackend(backend);
    const a = randn([70, 300], { generator: gen });
    const b = randn([300, 40], { generator: gen });
    expectClose(matmul(a, b).data, refMatmul(a, [70, 300], b, [300, 40]).data, 1e-4);
  });
});

describe('matmul argument checks', () => {
  it('names both shapes', () => {
    const a = randn([2, 3], { generator: gen });
    expect(() => matmul(a, randn([4, 5], { generator: gen }))).toThrow(
      'matmul: inner dimensions differ: a [2,3] has 3 columns but b [4,5] has 4 rows',
    );
    expect(() =>
      matmul(randn([2, 2, 3], { generator: gen }), randn([3, 3, 1], { generator: gen })),
    ).toThrow('matmul: cannot broadcast the batch dimensions of shapes [2,2,3] and [3,3,1]');
    expect(() => matmul(randn([], { generator: gen }), a)).toThrow(
      'matmul: both operands need at least 1 dimension, got shapes [] and [2,3]; use mul for scalars',
    );
    expect(() => matmul(a, 'b' as never)).toThrow('matmul: b must be a Tensor, got string');
  });
});
