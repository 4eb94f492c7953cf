import { describe, expect, it } from 'vitest';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import {
  leakyRelu,
  logSoftmax,
  relu,
  sigmoid,
  softmax,
  tanh,
} from '../../lib/functional/activation.js';
import { Generator } from '../../lib/random.js';
import { randn, tensor, type Tensor } from '../../lib/tensor.js';
import { expectClose } from '../helpers.js';
import { BACKENDS, useBackend } from './backends.js';

/** Values spread over [-3, 3] but at least 0.05 away from 0, the kink of relu and leakyRelu. */
function awayFromZero(shape: number[], seed: number): Tensor {
  const t = randn(shape, { generator: new Generator(seed), requiresGrad: true });
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) if (Math.abs(d[i]) < 0.05) d[i] = d[i] < 0 ? -0.5 : 0.5;
  return t;
}

/** log-softmax along `axis` in float64, from the definition with the max subtracted. */
function refLogSoftmax(x: Tensor, axis: number): number[] {
  const shape = x.shape;
  const ax = axis < 0 ? axis + shape.length : axis;
  const n = shape[ax];
  const inner = shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, ax).reduce((a, b) => a * b, 1);
  const out = new Array<number>(x.size);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, x.data[(o * n + k) * inner + j]);
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(x.data[(o * n + k) * inner + j] - m);
      for (let k = 0; k < n; k++)
        out[(o * n + k) * inner + j] = x.data[(o * n + k) * inner + j] - m - Math.log(s);
    }
  }
  return out;
}

describe.each(BACKENDS)('activations on the %s backend', (backend) => {
  useBackend(backend);

  it('relu, leakyRelu, sigmoid and tanh match Math and pass gradcheck', () => {
    const x = awayFromZero([3, 7], 1);
    const xs = Array.from(x.data);
    expectClose(
      relu(x).data,
      xs.map((v) => Math.max(v, 0)),
      0,
      0,
      'relu',
    );
    expectClose(
      leakyRelu(x).data,
      xs.map((v) => (v > 0 ? v : 0.01 * v)),
      1e-6,
      1e-7,
      'leakyRelu default',
    );
    expectClose(
      leakyRelu(x, 0.2).data,
      xs.map((v) => (v > 0 ? v : 0.2 * v)),
      1e-6,
      1e-7,
      'leakyRelu 0.2',
    );
    expectClose(
      sigmoid(x).data,
      xs.map((v) => 1 / (1 + Math.exp(-v))),
      1e-5,
      1e-6,
      'sigmoid',
    );
    expectClose(tanh(x).data, xs.map(Math.tanh), 1e-5, 1e-6, 'tanh');
    expect(gradcheck(relu, [x])).toBe(true);
    expect(gradcheck((t) => leakyRelu(t, 0.2), [x])).toBe(true);
    expect(gradcheck(sigmoid, [x])).toBe(true);
    expect(gradcheck(tanh, [x])).toBe(true);
  });

  it('sigmoid and tanh saturate without NaN for huge inputs', () => {
    const x = tensor([-1e4, -100, 100, 1e4]);
    expect(Array.from(sigmoid(x).data)).toEqual([0, expect.closeTo(0, 40), 1, 1]);
    expect(Array.from(tanh(x).data)).toEqual([-1, -1, 1, 1]);
  });

  for (const axis of [-1, 0, 1]) {
    it(`softmax and logSoftmax along axis ${axis} of a 3-D tensor match the reference and pass gradcheck`, () => {
      const x = randn([3, 4, 5], { generator: new Generator(10 + axis), requiresGrad: true });
      const ref = refLogSoftmax(x, axis);
      expectClose(logSoftmax(x, axis).data, ref, 1e-5, 1e-5, 'logSoftmax');
      expectClose(softmax(x, axis).data, ref.map(Math.exp), 1e-5, 1e-6, 'softmax');
      expect(gradcheck((t) => softmax(t, axis), [x])).toBe(true);
      expect(gradcheck((t) => logSoftmax(t, axis), [x])).toBe(true);
    });
  }

  it('softmax defaults to the last axis and is stable for logits of 1e4', () => {
    const x = tensor(
      [
        [1e4, 0, -1e4],
        [1e4, 1e4 - 1, 1e4 - 2],
      ],
      undefined,
      { requiresGrad: true },
    );
    const ls = logSoftmax(x);
    expect(Array.from(ls.data).every(Number.isFinite)).toBe(true);
    expectClose(ls.data, refLogSoftmax(x, -1), 1e-5, 1e-4, 'huge logits');
    const p = softmax(x);
    expectClose(p.data, [1, 0, 0, ...refLogSoftmax(x, -1).slice(3).map(Math.exp)], 1e-5, 1e-6);
  });
});

describe('activation argument errors', () => {
  it('names the function and argument', () => {
    expect(() => relu(tensor(new Int32Array(3)))).toThrow('relu: input must be a float32 tensor');
    expect(() => leakyRelu(randn([2]), NaN)).toThrow(
      'leakyRelu: slope must be a finite number, got NaN',
    );
    expect(() => softmax(randn([2, 3]), 2)).toThrow(
      /softmax: axis must be an integer in \[-2, 1\]/,
    );
    expect(() => logSoftmax(randn([2, 3]), 0.5)).toThrow(/logSoftmax: axis must be an integer/);
    expect(() => sigmoid(null as unknown as Tensor)).toThrow(
      'sigmoid: input must be a Tensor, got null',
    );
  });
});
