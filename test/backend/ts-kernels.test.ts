/**
 * The TypeScript kernels against the naive float64 references in ./reference.ts, on the awkward
 * shapes named there plus seeded random ones. Outputs are prefilled with NaN to prove that every
 * kernel overwrites them.
 */
import { describe, expect, it } from 'vitest';
import { conv2dGeometry, pool2dGeometry } from '../../lib/backend/geometry.js';
import type { BiasGeometry, GemmParams, RowsGeometry } from '../../lib/backend/kernels.js';
import { tsKernels as K } from '../../lib/backend/ts/index.js';
import { expectClose, expectEqualInts, maxAbs, nanArray, Rng } from '../helpers.js';
import {
  adamCases,
  adamStepOf,
  channelShapes,
  convCases,
  gemmCases,
  poolCases,
  refAdam,
  refAdd,
  refAxpy,
  refBatchNormBackward,
  refBatchNormInference,
  refBatchNormTraining,
  refGlobalAvgPool,
  refGlobalAvgPoolBackward,
  refAvgPool2d,
  refAvgPool2dBackward,
  refBiasAdd,
  refBiasAddBackward,
  refConv2d,
  refConv2dBackwardInput,
  refConv2dBackwardWeight,
  refGemm,
  refLeakyRelu,
  refLeakyReluBackward,
  refLogSoftmax,
  refLogSoftmaxBackward,
  refMaxPool2d,
  refMaxPool2dBackward,
  refRelu,
  refReluBackward,
  refSigmoid,
  refSigmoidBackward,
  refSoftmax,
  refSoftmaxBackward,
  refTanh,
  refTanhBackward,
} from './reference.js';

/** TS sums in double and rounds per block, so it sits within a few float32 ulps of the reference. */
function closeToRef(
  actual: Float32Array,
  expected: Float64Array,
  terms: number,
  label: string,
): void {
  expectClose(
    actual,
    expected,
    1e-5,
    1e-6 * Math.sqrt(Math.max(terms, 1)) * Math.max(1, maxAbs(expected)),
    label,
  );
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe('ts gemm', () => {
  gemmCases().forEach(({ name, p }, idx) => {
    it(name, () => {
      const rng = new Rng(1000 + idx);
      const a = rng.array(p.m * p.k);
      const b = rng.array(p.k * p.n);
      const c = p.beta === 0 ? nanArray(p.m * p.n) : rng.array(p.m * p.n);
      const a0 = a.slice();
      const b0 = b.slice();
      const expected = refGemm(p, a, b, c);
      K.gemm(p, a, b, c);
      closeToRef(c, expected, p.k, 'C');
      expect(a).toEqual(a0);
      expect(b).toEqual(b0);
    });
  });

  // Shapes that cross the TS GEMM's own blocks (MC 128, KC 512, NC 256, split into near-equal
  // parts) and its 2x4 register tile, with every transpose and an odd k (the micro-kernel's
  // k-steps go in pairs).
  const blockShapes: [number, number, number][] = [
    [131, 7, 5],
    [3, 515, 1],
    [9, 6, 1031],
    [257, 258, 513],
  ];
  blockShapes.forEach(([m, n, k], idx) => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`TS blocking: ${m}x${n}x${k} ${transA ? 'A^T' : 'A'} ${transB ? 'B^T' : 'B'}`, () => {
          const p: GemmParams = { transA, transB, m, n, k, alpha: 0.75, beta: 0.5 };
          const rng = new Rng(5000 + idx);
          const a = rng.array(m * k);
          const b = rng.array(k * n);
          const c = rng.array(m * n);
          const expected = refGemm(p, a, b, c);
          K.gemm(p, a, b, c);
          closeToRef(c, expected, k, 'C');
        });
      }
    }
  });

  it('beta = 0 ignores NaN and Infinity already in C', () => {
    const rng = new Rng(7);
    const p: GemmParams = { transA: false, transB: true, m: 3, n: 4, k: 5, alpha: 1, beta: 0 };
    const a = rng.array(15);
    const b = rng.array(20);
    const c = new Float32Array([NaN, Infinity, -Infinity, NaN, 1, 2, 3, NaN, NaN, NaN, NaN, NaN]);
    K.gemm(p, a, b, c);
    closeToRef(c, refGemm(p, a, b, c), 5, 'C');
  });

  it('k = 0 leaves beta * C (and zeros it when beta is 0)', () => {
    const c = new Float32Array([1, 2, 3, 4, 5, 6]);
    K.gemm(
      { transA: false, transB: false, m: 2, n: 3, k: 0, alpha: 1, beta: 0.5 },
      new Float32Array(0),
      new Float32Array(0),
      c,
    );
    expect(Array.from(c)).toEqual([0.5, 1, 1.5, 2, 2.5, 3]);
    c.fill(NaN);
    K.gemm(
      { transA: true, transB: true, m: 2, n: 3, k: 0, alpha: 1, beta: 0 },
      new Float32Array(0),
      new Float32Array(0),
      c,
    );
    expect(Array.from(c)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('m = 0 or n = 0 writes nothing', () => {
    const c = new Float32Array([9]);
    K.gemm(
      { transA: false, transB: false, m: 0, n: 1, k: 3, alpha: 1, beta: 0 },
      new Float32Array(0),
      new Float32Array(3),
      c,
    );
    K.gemm(
      { transA: false, transB: false, m: 1, n: 0, k: 3, alpha: 1, beta: 0 },
      new Float32Array(3),
      new Float32Array(0),
      c,
    );
    expect(c[0]).toBe(9);
  });

  it('a hand-computed product with both transposes', () => {
    // A^T = [[1,2],[3,4]] stored as A = [[1,3],[2,4]]; B^T = [[5,6],[7,8]] stored as B = [[5,7],[6,8]].
    const c = new Float32Array([1, 1, 1, 1]);
    K.gemm(
      { transA: true, transB: true, m: 2, n: 2, k: 2, alpha: 2, beta: -1 },
      new Float32Array([1, 3, 2, 4]),
      new Float32Array([5, 7, 6, 8]),
      c,
    );
    // [[1,2],[3,4]] * [[5,6],[7,8]] = [[19,22],[43,50]]
    expect(Array.from(c)).toEqual([37, 43, 85, 99]);
  });

  it('rejects arrays shorter than the shape needs', () => {
    expect(() =>
      K.gemm(
        { transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 1, beta: 0 },
        new Float32Array(4),
        new Float32Array(3),
        new Float32Array(4),
      ),
    ).toThrow(/gemm: b must have at least 4 elements, got 3/);
  });
});

describe('reference convolution is self-consistent', () => {
  // <conv(x, w), dy> = <x, dconv/dx(dy)> = <w, dconv/dw(dy)>: the references are adjoint.
  convCases(new Rng(5), 4).forEach(({ name, g }, idx) => {
    it(name, () => {
      const rng = new Rng(2000 + idx);
      const x = rng.array(g.batch * g.inChannels * g.inHeight * g.inWidth);
      const w = rng.array(g.outChannels * (g.inChannels / g.groups) * g.kernelH * g.kernelW);
      const dy = rng.array(g.batch * g.outChannels * g.outHeight * g.outWidth);
      const lhs = dot(refConv2d(g, x, w, null), dy);
      expect(dot(x, refConv2dBackwardInput(g, dy, w))).toBeCloseTo(lhs, 9);
      expect(dot(w, refConv2dBackwardWeight(g, x, dy).dw)).toBeCloseTo(lhs, 9);
    });
  });

  it('matches a hand-computed padded, strided convolution', () => {
    // x = 1..9 as 3x3, w = [[1,0],[0,-1]], padding 1, stride 2 -> 2x2 output, bias 10.
    const g = conv2dGeometry('t', [1, 1, 3, 3], [1, 1, 2, 2], { padding: 1, stride: 2 });
    const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const w = new Float32Array([1, 0, 0, -1]);
    // windows start at (-1,-1), (-1,1), (1,-1), (1,1): y = w00*x[ih][iw] - x[ih+1][iw+1]
    const expected = [10 + 0 - 1, 10 + 0 - 3, 10 + 0 - 7, 10 + 5 - 9];
    expect(Array.from(refConv2d(g, x, w, new Float32Array([10])))).toEqual(expected);
    const y = nanArray(4);
    K.conv2d(g, x, w, new Float32Array([10]), y);
    expect(Array.from(y)).toEqual(expected);
  });
});

describe('ts conv2d', () => {
  convCases(new Rng(42), 16).forEach(({ name, g }, idx) => {
    const Cg = g.inChannels / g.groups;
    const K3 = Cg * g.kernelH * g.kernelW;
    const P = g.outHeight * g.outWidth;
    const xSize = g.batch * g.inChannels * g.inHeight * g.inWidth;
    const wSize = g.outChannels * K3;
    const ySize = g.batch * g.outChannels * P;

    it(`${name}: forward, with and without bias`, () => {
      const rng = new Rng(3000 + idx);
      const x = rng.array(xSize);
      const w = rng.array(wSize);
      const bias = rng.array(g.outChannels);
      const x0 = x.slice();
      const w0 = w.slice();
      const y = nanArray(ySize);
      K.conv2d(g, x, w, bias, y);
      closeToRef(y, refConv2d(g, x, w, bias), K3, 'y (bias)');
      y.fill(NaN);
      K.conv2d(g, x, w, null, y);
      closeToRef(y, refConv2d(g, x, w, null), K3, 'y (no bias)');
      expect(x).toEqual(x0);
      expect(w).toEqual(w0);
    });

    it(`${name}: backward input`, () => {
      const rng = new Rng(4000 + idx);
      const dy = rng.array(ySize);
      const w = rng.array(wSize);
      const dx = nanArray(xSize);
      K.conv2dBackwardInput(g, dy, w, dx);
      closeToRef(dx, refConv2dBackwardInput(g, dy, w), g.outChannels * g.kernelH * g.kernelW, 'dx');
    });

    it(`${name}: backward weight and bias`, () => {
      const rng = new Rng(5000 + idx);
      const x = rng.array(xSize);
      const dy = rng.array(ySize);
      const ref = refConv2dBackwardWeight(g, x, dy);
      const dw = nanArray(wSize);
      const dbias = nanArray(g.outChannels);
      K.conv2dBackwardWeight(g, x, dy, dw, dbias);
      closeToRef(dw, ref.dw, g.batch * P, 'dw');
      closeToRef(dbias, ref.dbias, g.batch * P, 'dbias');
      dw.fill(NaN);
      K.conv2dBackwardWeight(g, x, dy, dw, null);
      closeToRef(dw, ref.dw, g.batch * P, 'dw (no dbias)');
    });
  });

  it('rejects a weight array that does not match the geometry', () => {
    const g = conv2dGeometry('t', [1, 2, 4, 4], [3, 2, 3, 3]);
    expect(() =>
      K.conv2d(g, new Float32Array(32), new Float32Array(53), null, new Float32Array(12)),
    ).toThrow(/conv2d: w must have at least 54 elements, got 53/);
  });
});

describe('ts pooling', () => {
  poolCases(new Rng(77), 16).forEach(({ name, g }, idx) => {
    const xSize = g.batch * g.channels * g.inHeight * g.inWidth;
    const ySize = g.batch * g.channels * g.outHeight * g.outWidth;

    it(`${name}: max forward (argmax exact) and backward`, () => {
      const rng = new Rng(6000 + idx);
      // All-negative, tie-free input: a padding value of 0 would win if padding took part.
      const x = rng.distinct(xSize, -3, -0.5);
      const ref = refMaxPool2d(g, x);
      const y = nanArray(ySize);
      const argmax = new Int32Array(ySize).fill(-7);
      K.maxPool2d(g, x, y, argmax);
      expectClose(y, ref.y, 0, 0, 'y');
      expectEqualInts(argmax, ref.argmax, 'argmax');
      const dy = rng.array(ySize);
      const dx = nanArray(xSize);
      K.maxPool2dBackward(g, dy, argmax, dx);
      closeToRef(dx, refMaxPool2dBackward(g, dy, ref.argmax), g.kernelH * g.kernelW, 'dx');
    });

    it(`${name}: average forward and backward`, () => {
      const rng = new Rng(7000 + idx);
      const x = rng.array(xSize);
      const y = nanArray(ySize);
      K.avgPool2d(g, x, y);
      closeToRef(y, refAvgPool2d(g, x), g.kernelH * g.kernelW, 'y');
      const dy = rng.array(ySize);
      const dx = nanArray(xSize);
      K.avgPool2dBackward(g, dy, dx);
      closeToRef(dx, refAvgPool2dBackward(g, dy), g.kernelH * g.kernelW, 'dx');
    });
  });

  it('matches hand-computed results with padding', () => {
    // 3x3 input, 2x2 windows, stride 2, padding 1: windows are the corners' 1x1, 1x2, 2x1, 2x2 parts.
    const x = new Float32Array([-1, -2, -3, -4, -5, -6, -7, -8, -9]);
    const g = pool2dGeometry('t', [1, 1, 3, 3], 2, { padding: 1 });
    const y = nanArray(4);
    const argmax = new Int32Array(4);
    K.maxPool2d(g, x, y, argmax);
    expect(Array.from(y)).toEqual([-1, -2, -4, -5]);
    expect(Array.from(argmax)).toEqual([0, 1, 3, 4]);
    K.avgPool2d(g, x, y);
    expect(Array.from(y)).toEqual([-1 / 4, -5 / 4, -11 / 4, -28 / 4]);
    K.avgPool2d({ ...g, countIncludePad: false }, x, y);
    expect(Array.from(y)).toEqual([-1, -2.5, -5.5, -7]);
    const dx = nanArray(9);
    K.maxPool2dBackward(g, new Float32Array([1, 2, 3, 4]), new Int32Array([4, 4, 4, 0]), dx);
    expect(Array.from(dx)).toEqual([4, 0, 0, 0, 6, 0, 0, 0, 0]);
  });

  it('max pooling keeps the first of equal maxima', () => {
    const g = pool2dGeometry('t', [1, 1, 2, 2], 2);
    const y = new Float32Array(1);
    const argmax = new Int32Array(1);
    K.maxPool2d(g, new Float32Array([1, 3, 3, 2]), y, argmax);
    expect([y[0], argmax[0]]).toEqual([3, 1]);
  });

  it('2x2 stride-2 max pooling (its own fast path) scans windows like the generic loop', () => {
    // Ties, signed zeros, infinities and NaNs, on odd sizes (the last row and column are dropped).
    const pick = [0, -0, 1, -1, 2, Infinity, -Infinity, NaN];
    const rng = new Rng(31);
    for (const [n, c, h, w] of [
      [2, 3, 6, 8],
      [1, 2, 7, 9],
      [3, 1, 2, 2],
    ]) {
      const g = pool2dGeometry('t', [n, c, h, w], 2);
      const x = new Float32Array(n * c * h * w).map(() => pick[rng.int(0, pick.length - 1)]);
      const size = n * c * g.outHeight * g.outWidth;
      const y = nanArray(size);
      const argmax = new Int32Array(size).fill(-7);
      K.maxPool2d(g, x, y, argmax);
      let o = 0;
      for (let p = 0; p < n * c; p++) {
        for (let oh = 0; oh < g.outHeight; oh++) {
          for (let ow = 0; ow < g.outWidth; ow++, o++) {
            // The generic loop: strict '>' keeps the first of equal maxima; every NaN takes over.
            let best = -Infinity;
            let bestIdx = 2 * oh * w + 2 * ow;
            for (const idx of [0, 1, w, w + 1].map((d) => 2 * oh * w + 2 * ow + d)) {
              const v = x[p * h * w + idx];
              if (v > best || Number.isNaN(v)) {
                best = v;
                bestIdx = idx;
              }
            }
            expect(argmax[o]).toBe(bestIdx);
            expect(Object.is(y[o], best)).toBe(true);
          }
        }
      }
    }
  });
});

describe('ts elementwise', () => {
  const n = 1003;
  const make = (seed: number): { x: Float32Array; dy: Float32Array } => {
    const rng = new Rng(seed);
    const x = rng.array(n, -6, 6);
    x[0] = 0;
    x[1] = -0;
    x[2] = 30;
    x[3] = -30;
    return { x, dy: rng.array(n) };
  };
  const forward: [
    string,
    (x: Float32Array, y: Float32Array) => void,
    (x: Float32Array) => Float64Array,
  ][] = [
    ['relu', (x, y) => K.relu(x, y), refRelu],
    ['leakyRelu 0.01', (x, y) => K.leakyRelu(x, y, 0.01), (x) => refLeakyRelu(x, 0.01)],
    ['leakyRelu 0.2', (x, y) => K.leakyRelu(x, y, 0.2), (x) => refLeakyRelu(x, 0.2)],
    ['sigmoid', (x, y) => K.sigmoid(x, y), refSigmoid],
    ['tanh', (x, y) => K.tanh(x, y), refTanh],
  ];
  forward.forEach(([name, kernel, ref], idx) => {
    it(`${name}: out of place and in place`, () => {
      const { x } = make(8000 + idx);
      const expected = ref(x);
      const y = nanArray(n);
      kernel(x, y);
      expectClose(y, expected, 1e-6, 1e-7, name);
      kernel(x, x);
      expectClose(x, expected, 1e-6, 1e-7, `${name} in place`);
    });
  });

  const backward: [
    string,
    (x: Float32Array) => Float32Array,
    (v: Float32Array, dy: Float32Array, dx: Float32Array) => void,
    (v: Float32Array, dy: Float32Array) => Float64Array,
  ][] = [
    ['reluBackward', (x) => x, (v, dy, dx) => K.reluBackward(v, dy, dx), refReluBackward],
    [
      'leakyReluBackward',
      (x) => x,
      (v, dy, dx) => K.leakyReluBackward(v, dy, dx, 0.1),
      (v, dy) => refLeakyReluBackward(v, dy, 0.1),
    ],
    [
      'sigmoidBackward',
      (x) => Float32Array.from(refSigmoid(x)),
      (v, dy, dx) => K.sigmoidBackward(v, dy, dx),
      refSigmoidBackward,
    ],
    [
      'tanhBackward',
      (x) => Float32Array.from(refTanh(x)),
      (v, dy, dx) => K.tanhBackward(v, dy, dx),
      refTanhBackward,
    ],
  ];
  backward.forEach(([name, saved, kernel, ref], idx) => {
    it(`${name}: out of place and in place (dx = dy)`, () => {
      const { x, dy } = make(8100 + idx);
      const v = saved(x);
      const expected = ref(v, dy);
      const dx = nanArray(n);
      kernel(v, dy, dx);
      expectClose(dx, expected, 1e-6, 1e-7, name);
      kernel(v, dy, dy);
      expectClose(dy, expected, 1e-6, 1e-7, `${name} in place`);
    });
  });

  it('relu of zero is zero and relu propagates NaN', () => {
    const y = nanArray(3);
    K.relu(new Float32Array([-0, -1, NaN]), y);
    expect(Object.is(y[0], 0)).toBe(true);
    expect(y[1]).toBe(0);
    expect(y[2]).toBeNaN();
  });

  it('relu and reluBackward are exact on infinities, NaN and signed zeros', () => {
    const x = new Float32Array([-Infinity, Infinity, NaN, -0, 0, -2, 3, 1e-45, -1e-45]);
    const y = nanArray(x.length);
    K.relu(x, y);
    expect(Array.from(y)).toEqual([0, Infinity, NaN, 0, 0, 0, 3, x[7], 0]);
    for (let i = 0; i < y.length; i++) if (y[i] === 0) expect(Object.is(y[i], 0)).toBe(true);
    const dy = new Float32Array([Infinity, -Infinity, NaN, NaN, -Infinity, NaN, -5, NaN, -7]);
    const dx = nanArray(x.length);
    K.reluBackward(x, dy, dx);
    expect(Array.from(dx)).toEqual([0, -Infinity, 0, 0, 0, 0, -5, NaN, 0]);
    for (let i = 0; i < dx.length; i++) if (dx[i] === 0) expect(Object.is(dx[i], 0)).toBe(true);
  });

  it('rejects mismatched lengths', () => {
    expect(() => K.relu(new Float32Array(3), new Float32Array(2))).toThrow(
      /relu: y must have as many elements as x \(3\), got 2/,
    );
  });
});

describe('ts biasAdd', () => {
  const shapes: BiasGeometry[] = [
    { outer: 3, channels: 4, inner: 5 },
    { outer: 7, channels: 10, inner: 1 },
    { outer: 1, channels: 1, inner: 9 },
    { outer: 2, channels: 6, inner: 49 },
  ];
  shapes.forEach((g, idx) => {
    it(`[${g.outer}, ${g.channels}, ${g.inner}]: forward (also in place) and backward`, () => {
      const rng = new Rng(9000 + idx);
      const size = g.outer * g.channels * g.inner;
      const x = rng.array(size);
      const bias = rng.array(g.channels);
      const expected = refBiasAdd(g, x, bias);
      const y = nanArray(size);
      K.biasAdd(g, x, bias, y);
      expectClose(y, expected, 1e-6, 1e-7, 'y');
      K.biasAdd(g, x, bias, x);
      expectClose(x, expected, 1e-6, 1e-7, 'y in place');
      const dy = rng.array(size);
      const db = nanArray(g.channels);
      K.biasAddBackward(g, dy, db);
      closeToRef(db, refBiasAddBackward(g, dy), g.outer * g.inner, 'dbias');
    });
  });
});

describe('ts softmax and logSoftmax', () => {
  const shapes: RowsGeometry[] = [
    { rows: 1, cols: 1 },
    { rows: 5, cols: 10 },
    { rows: 3, cols: 257 },
    { rows: 16, cols: 2 },
  ];
  shapes.forEach((g, idx) => {
    it(`[${g.rows}, ${g.cols}]: forward (also in place) and backward`, () => {
      const rng = new Rng(9500 + idx);
      const size = g.rows * g.cols;
      const x = rng.array(size, -8, 8);
      const dy = rng.array(size);

      const sm = refSoftmax(g, x);
      const y = nanArray(size);
      K.softmax(g, x, y);
      expectClose(y, sm, 1e-6, 1e-8, 'softmax');
      const dx = nanArray(size);
      K.softmaxBackward(g, y, dy, dx);
      expectClose(dx, refSoftmaxBackward(g, y, dy), 1e-5, 1e-7, 'softmaxBackward');

      const lsm = refLogSoftmax(g, x);
      const ly = nanArray(size);
      K.logSoftmax(g, x, ly);
      expectClose(ly, lsm, 1e-6, 1e-6, 'logSoftmax');
      K.logSoftmaxBackward(g, ly, dy, dx);
      expectClose(dx, refLogSoftmaxBackward(g, ly, dy), 1e-5, 1e-6, 'logSoftmaxBackward');

      const inPlace = x.slice();
      K.softmax(g, inPlace, inPlace);
      expectClose(inPlace, sm, 1e-6, 1e-8, 'softmax in place');
      const inPlaceLog = x.slice();
      K.logSoftmax(g, inPlaceLog, inPlaceLog);
      expectClose(inPlaceLog, lsm, 1e-6, 1e-6, 'logSoftmax in place');
    });
  });

  it('is exact and finite for logits of +-1e4', () => {
    const g: RowsGeometry = { rows: 3, cols: 3 };
    const x = new Float32Array([1e4, 0, -1e4, -1e4, -1e4, -1e4, 1e4, 1e4, -1e4]);
    const y = nanArray(9);
    K.softmax(g, x, y);
    expect(Array.from(y)).toEqual([1, 0, 0, 1 / 3, 1 / 3, 1 / 3, 0.5, 0.5, 0].map(Math.fround));
    K.logSoftmax(g, x, y);
    const third = Math.fround(-Math.log(3));
    const half = Math.fround(-Math.log(2));
    expect(Array.from(y)).toEqual([
      0,
      -1e4,
      -2e4,
      third,
      third,
      third,
      half,
      half,
      Math.fround(-2e4 - Math.log(2)),
    ]);
  });
});

describe('ts batch norm', () => {
  const eps = 1e-5;
  const momentum = 0.1;
  channelShapes.forEach((g, idx) => {
    const M = g.outer * g.inner;
    for (const affine of [true, false]) {
      const label = `[${g.outer}, ${g.channels}, ${g.inner}]${affine ? '' : ', no affine'}`;
      it(`${label}: training forward, running statistics and backward (also dx = dy)`, () => {
        const rng = new Rng(9700 + idx);
        const size = g.outer * g.channels * g.inner;
        const x = rng.array(size, -2, 3);
        const gamma = affine ? rng.array(g.channels, 0.5, 1.5) : null;
        const beta = affine ? rng.array(g.channels) : null;
        const rm = rng.array(g.channels);
        const rv = rng.array(g.channels, 0.5, 2);
        const ref = refBatchNormTraining(g, x, gamma, beta, rm, rv, eps, momentum);
        const y = nanArray(size);
        const mean = nanArray(g.channels);
        const invStd = nanArray(g.channels);
        const runMean = rm.slice();
        const runVar = rv.slice();
        K.batchNormTraining(g, x, gamma, beta, y, mean, invStd, runMean, runVar, eps, momentum);
        expectClose(y, ref.y, 1e-5, 1e-5, 'y');
        expectClose(mean, ref.mean, 1e-6, 1e-7, 'mean');
        expectClose(invStd, ref.invStd, 1e-6, 1e-7, 'invStd');
        expectClose(runMean, ref.runningMean, 1e-6, 1e-7, 'runningMean');
        if (M > 1) expectClose(runVar, ref.runningVar, 1e-6, 1e-7, 'runningVar');
        else expect(Number.isNaN(runVar[0])).toBe(true);

        // Without running statistics: the same output, nothing else touched.
        const y2 = nanArray(size);
        K.batchNormTraining(g, x, gamma, beta, y2, mean, invStd, null, null, eps, momentum);
        expectClose(y2, ref.y, 1e-5, 1e-5, 'y (no running statistics)');
        const inPlace = x.slice();
        K.batchNormTraining(g, inPlace, gamma, beta, inPlace, mean, invStd, null, null, eps, 0);
        expectClose(inPlace, ref.y, 1e-5, 1e-5, 'y in place');

        const dy = rng.array(size);
        const want = refBatchNormBackward(g, x, dy, mean, invStd, gamma, true);
        const dx = nanArray(size);
        const dgamma = nanArray(g.channels);
        const dbeta = nanArray(g.channels);
        K.batchNormBackward(g, x, dy, mean, invStd, gamma, dx, dgamma, dbeta, true);
        expectClose(dx, want.dx, 1e-4, 1e-5, 'dx');
        closeToRef(dgamma, want.dgamma, M, 'dgamma');
        closeToRef(dbeta, want.dbeta, M, 'dbeta');
        const dyCopy = dy.slice();
        K.batchNormBackward(g, x, dyCopy, mean, invStd, gamma, dyCopy, null, null, true);
        expectClose(dyCopy, want.dx, 1e-4, 1e-5, 'dx in place (dx = dy)');
      });

      it(`${label}: inference forward and backward`, () => {
        const rng = new Rng(9750 + idx);
        const size = g.outer * g.channels * g.inner;
        const x = rng.array(size, -2, 3);
        const gamma = affine ? rng.array(g.channels, 0.5, 1.5) : null;
        const beta = affine ? rng.array(g.channels) : null;
        const rm = rng.array(g.channels);
        const rv = rng.array(g.channels, 0.5, 2);
        const y = nanArray(size);
        K.batchNormInference(g, x, gamma, beta, rm, rv, y, eps);
        expectClose(y, refBatchNormInference(g, x, gamma, beta, rm, rv, eps), 1e-5, 1e-6, 'y');
        const invStd = Float32Array.from(rv, (v) => 1 / Math.sqrt(v + eps));
        const dy = rng.array(size);
        const want = refBatchNormBackward(g, x, dy, rm, invStd, gamma, false);
        const dx = nanArray(size);
        const dgamma = nanArray(g.channels);
        const dbeta = nanArray(g.channels);
        K.batchNormBackward(g, x, dy, rm, invStd, gamma, dx, dgamma, dbeta, false);
        expectClose(dx, want.dx, 1e-5, 1e-6, 'dx');
        closeToRef(dgamma, want.dgamma, M, 'dgamma');
        closeToRef(dbeta, want.dbeta, M, 'dbeta');
      });
    }
  });

  it('keeps full precision when |mean| >> std (two-pass variance)', () => {
    const g = { outer: 64, channels: 2, inner: 10 };
    const rng = new Rng(9800);
    const x = rng.array(1280, -0.01, 0.01).map((v) => v + 1000);
    const ref = refBatchNormTraining(g, x, null, null, [0, 0], [1, 1], 1e-10, 1);
    const y = nanArray(1280);
    const mean = nanArray(2);
    const invStd = nanArray(2);
    K.batchNormTraining(g, x, null, null, y, mean, invStd, null, null, 1e-10, 1);
    // float32 x near 1000 carries ~3e-5 absolute error; y is relative to a std of ~6e-3.
    expectClose(y, ref.y, 0, 1e-3, 'y');
  });

  it('rejects bad scalars and a lone running statistic', () => {
    const g = { outer: 2, channels: 1, inner: 2 };
    const f = (n: number): Float32Array => new Float32Array(n);
    expect(() =>
      K.batchNormTraining(g, f(4), null, null, f(4), f(1), f(1), null, null, -1, 0.1),
    ).toThrow(/^batchNormTraining: eps must be >= 0, got -1$/);
    expect(() =>
      K.batchNormTraining(g, f(4), null, null, f(4), f(1), f(1), null, null, 0, 2),
    ).toThrow(/^batchNormTraining: momentum must be in \[0, 1\], got 2$/);
    expect(() =>
      K.batchNormTraining(g, f(4), null, null, f(4), f(1), f(1), f(1), null, 0, 0.1),
    ).toThrow(/^batchNormTraining: runningVar must be a Float32Array when runningMean is given/);
    expect(() =>
      K.batchNormTraining(
        { outer: 0, channels: 1, inner: 3 },
        f(0),
        null,
        null,
        f(0),
        f(1),
        f(1),
        null,
        null,
        0,
        0.1,
      ),
    ).toThrow(/^batchNormTraining: each channel needs at least 1 value/);
    expect(() =>
      K.batchNormBackward(g, f(4), f(3), f(1), f(1), null, f(4), null, null, true),
    ).toThrow(/^batchNormBackward: dy must have at least 4 elements, got 3$/);
  });
});

describe('ts global average pooling', () => {
  const shapes: RowsGeometry[] = [
    { rows: 1, cols: 1 },
    { rows: 6, cols: 49 },
    { rows: 5, cols: 3 },
  ];
  shapes.forEach((g, idx) => {
    it(`[${g.rows}, ${g.cols}]: forward and backward`, () => {
      const rng = new Rng(9900 + idx);
      const x = rng.array(g.rows * g.cols);
      const y = nanArray(g.rows);
      K.globalAvgPool(g, x, y);
      closeToRef(y, refGlobalAvgPool(g, x), g.cols, 'y');
      const dy = rng.array(g.rows);
      const dx = nanArray(g.rows * g.cols);
      K.globalAvgPoolBackward(g, dy, dx);
      expectClose(dx, refGlobalAvgPoolBackward(g, dy), 1e-6, 1e-8, 'dx');
    });
  });

  it('rejects planes of zero elements', () => {
    expect(() =>
      K.globalAvgPool({ rows: 2, cols: 0 }, new Float32Array(0), new Float32Array(2)),
    ).toThrow(/^globalAvgPool: g\.cols must be an integer >= 1/);
  });
});

describe('ts add and axpy', () => {
  const n = 1003;
  it('add: out of place and into either input', () => {
    const rng = new Rng(9950);
    const a = rng.array(n);
    const b = rng.array(n);
    const want = refAdd(a, b);
    const out = nanArray(n);
    K.add(a, b, out);
    expectClose(out, want, 1e-6, 1e-7, 'a + b');
    const a2 = a.slice();
    K.add(a2, b, a2);
    expectClose(a2, want, 1e-6, 1e-7, 'a += b');
    const b2 = b.slice();
    K.add(a, b2, b2);
    expectClose(b2, want, 1e-6, 1e-7, 'b += a');
  });

  it('axpy: y += alpha * x for alpha 1 and -0.5', () => {
    const rng = new Rng(9951);
    const x = rng.array(n);
    for (const alpha of [1, -0.5]) {
      const y = rng.array(n);
      const want = refAxpy(x, y, alpha);
      K.axpy(x, y, alpha);
      expectClose(y, want, 1e-6, 1e-7, `axpy alpha ${alpha}`);
    }
  });

  it('rejects mismatched lengths and a non-finite alpha', () => {
    expect(() => K.add(new Float32Array(3), new Float32Array(2), new Float32Array(3))).toThrow(
      /^add: b must have as many elements as a \(3\), got 2$/,
    );
    expect(() => K.axpy(new Float32Array(3), new Float32Array(3), NaN)).toThrow(
      /^axpy: alpha must be a finite number, got NaN$/,
    );
  });
});

describe('ts adamUpdate', () => {
  adamCases.forEach((h, idx) => {
    const label = `${h.decoupled ? 'AdamW' : 'Adam'} t=${h.t} wd=${h.weightDecay}${h.amsgrad ? ' amsgrad' : ''}${h.maximize ? ' maximize' : ''}`;
    it(`${label}: matches torch's algorithm`, () => {
      const rng = new Rng(9960 + idx);
      const n = 1003;
      const w = rng.array(n);
      const g = rng.array(n);
      const m = rng.array(n, -0.1, 0.1);
      const v = rng.array(n, 0, 0.01);
      const vMax = h.amsgrad ? rng.array(n, 0, 0.012) : null;
      const want = refAdam(h, w, g, m, v, vMax);
      K.adamUpdate(adamStepOf(h), w, g, m, v, vMax);
      expectClose(w, want.w, 1e-6, 1e-7, 'w');
      expectClose(m, want.m, 1e-6, 1e-8, 'm');
      expectClose(v, want.v, 1e-6, 1e-9, 'v');
      if (vMax !== null) expectClose(vMax, want.vMax!, 1e-6, 1e-9, 'vMax');
    });
  });

  it('rejects mismatched lengths and bad scalars', () => {
    const p = adamStepOf(adamCases[0]);
    const f = (n: number): Float32Array => new Float32Array(n);
    expect(() => K.adamUpdate(p, f(4), f(4), f(3), f(4), null)).toThrow(
      /^adamUpdate: m must have as many elements as w \(4\), got 3$/,
    );
    expect(() => K.adamUpdate({ ...p, eps: NaN }, f(4), f(4), f(4), f(4), null)).toThrow(
      /^adamUpdate: p\.eps must be a finite number, got NaN$/,
    );
    expect(() => K.adamUpdate({ ...p, bias2Sqrt: 0 }, f(4), f(4), f(4), f(4), null)).toThrow(
      /^adamUpdate: p\.bias2Sqrt must be > 0, got 0$/,
    );
  });
});
