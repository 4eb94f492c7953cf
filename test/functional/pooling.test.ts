import { describe, expect, it } from 'vitest';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import {
  adaptiveAvgPool2d,
  avgPool2d,
  globalAvgPool2d,
  maxPool2d,
} from '../../lib/functional/pooling.js';
import { Generator } from '../../lib/random.js';
import { randn, tensor, type Tensor } from '../../lib/tensor.js';
import { expectClose, Rng } from '../helpers.js';
import { BACKENDS, useBackend } from './backends.js';

/** A tensor of distinct values (max pooling has no ties, so its gradient is well defined). */
function distinct(shape: number[], seed: number, requiresGrad = false): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(new Rng(seed).distinct(n, -2, 2), shape, { requiresGrad });
}

type Reducer = 'max' | 'avgIncl' | 'avgExcl';

/** Sliding-window pooling from the definition, in float64. */
function refPool(
  x: Tensor,
  k: [number, number],
  s: [number, number],
  p: [number, number],
  mode: Reducer,
): number[] {
  const [N, C, H, W] = x.shape;
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1;
  const OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1;
  const out: number[] = [];
  for (let nc = 0; nc < N * C; nc++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        let m = -Infinity;
        let sum = 0;
        let count = 0;
        for (let a = 0; a < k[0]; a++) {
          for (let b = 0; b < k[1]; b++) {
            const h = i * s[0] - p[0] + a;
            const w = j * s[1] - p[1] + b;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const v = x.data[nc * H * W + h * W + w];
            m = Math.max(m, v);
            sum += v;
            count++;
          }
        }
        out.push(mode === 'max' ? m : mode === 'avgExcl' ? sum / count : sum / (k[0] * k[1]));
      }
    }
  }
  return out;
}

/** torch's adaptive pooling windows: [floor(i*L/out), ceil((i+1)*L/out)). */
function refAdaptive(x: Tensor, OH: number, OW: number): number[] {
  const [N, C, H, W] = x.shape;
  const out: number[] = [];
  for (let nc = 0; nc < N * C; nc++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const h0 = Math.floor((i * H) / OH);
        const h1 = Math.ceil(((i + 1) * H) / OH);
        const w0 = Math.floor((j * W) / OW);
        const w1 = Math.ceil(((j + 1) * W) / OW);
        let s = 0;
        for (let h = h0; h < h1; h++)
          for (let w = w0; w < w1; w++) s += x.data[nc * H * W + h * W + w];
        out.push(s / ((h1 - h0) * (w1 - w0)));
      }
    }
  }
  return out;
}

describe.each(BACKENDS)('pooling on the %s backend', (backend) => {
  useBackend(backend);

  it('maxPool2d with overlapping, padded windows matches the reference and passes gradcheck', () => {
    const x = distinct([2, 3, 7, 6], 1, true);
    const y = maxPool2d(x, 3, { stride: 2, padding: 1 });
    expect(y.shape).toEqual([2, 3, 4, 3]);
    expectClose(y.data, refPool(x, [3, 3], [2, 2], [1, 1], 'max'), 0, 0);
    expect(gradcheck((t) => maxPool2d(t, 3, { stride: 2, padding: 1 }), [x])).toBe(true);
  });

  it('maxPool2d routes overlapping gradients to every window winner, added up', () => {
    // One plane [[1, 2, 3], [4, 9, 5], [6, 7, 8]]: 2x2 windows at stride 1 all pick the 9.
    const x = tensor([1, 2, 3, 4, 9, 5, 6, 7, 8], [1, 1, 3, 3], { requiresGrad: true });
    const y = maxPool2d(x, 2, { stride: 1 });
    expect(Array.from(y.data)).toEqual([9, 9, 9, 9]);
    y.backward(new Float32Array([1, 2, 3, 4]));
    expect(Array.from(x.grad!.data)).toEqual([0, 0, 0, 0, 10, 0, 0, 0, 0]);
  });

  it('maxPool2d with the default stride (= kernel) and a rectangular kernel', () => {
    const x = distinct([1, 2, 6, 6], 2, true);
    const y = maxPool2d(x, [2, 3]);
    expect(y.shape).toEqual([1, 2, 3, 2]);
    expectClose(y.data, refPool(x, [2, 3], [2, 3], [0, 0], 'max'), 0, 0);
    expect(gradcheck((t) => maxPool2d(t, [2, 3]), [x])).toBe(true);
  });

  it('avgPool2d counts the padding by default and not with countIncludePad=false', () => {
    const x = randn([2, 2, 5, 6], { generator: new Generator(3), requiresGrad: true });
    const incl = avgPool2d(x, 3, { stride: 2, padding: 1 });
    const excl = avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false });
    expect(incl.shape).toEqual([2, 2, 3, 3]);
    expectClose(
      incl.data,
      refPool(x, [3, 3], [2, 2], [1, 1], 'avgIncl'),
      1e-5,
      1e-6,
      'include pad',
    );
    expectClose(
      excl.data,
      refPool(x, [3, 3], [2, 2], [1, 1], 'avgExcl'),
      1e-5,
      1e-6,
      'exclude pad',
    );
    expect(gradcheck((t) => avgPool2d(t, 3, { stride: 2, padding: 1 }), [x])).toBe(true);
    expect(
      gradcheck((t) => avgPool2d(t, 3, { stride: 2, padding: 1, countIncludePad: false }), [x]),
    ).toBe(true);
  });

  it('avgPool2d with overlapping windows', () => {
    const x = randn([1, 3, 6, 5], { generator: new Generator(4), requiresGrad: true });
    const y = avgPool2d(x, [3, 2], { stride: 1 });
    expectClose(y.data, refPool(x, [3, 2], [1, 1], [0, 0], 'avgIncl'), 1e-5, 1e-6);
    expect(gradcheck((t) => avgPool2d(t, [3, 2], { stride: 1 }), [x])).toBe(true);
  });

  it("adaptiveAvgPool2d with uneven, overlapping windows matches torch's formula", () => {
    const x = randn([2, 3, 5, 7], { generator: new Generator(5), requiresGrad: true });
    const y = adaptiveAvgPool2d(x, [3, 4]);
    expect(y.shape).toEqual([2, 3, 3, 4]);
    expectClose(y.data, refAdaptive(x, 3, 4), 1e-5, 1e-6);
    expect(gradcheck((t) => adaptiveAvgPool2d(t, [3, 4]), [x])).toBe(true);
  });

  it('adaptiveAvgPool2d with evenly divisible sizes, a null entry and output larger than input', () => {
    const x = randn([1, 2, 6, 4], { generator: new Generator(6), requiresGrad: true });
    expectClose(adaptiveAvgPool2d(x, [3, 2]).data, refAdaptive(x, 3, 2), 1e-5, 1e-6, 'divisible');
    const keepW = adaptiveAvgPool2d(x, [2, null]);
    expect(keepW.shape).toEqual([1, 2, 2, 4]);
    expectClose(keepW.data, refAdaptive(x, 2, 4), 1e-5, 1e-6, 'null keeps width');
    expectClose(adaptiveAvgPool2d(x, 1).data, refAdaptive(x, 1, 1), 1e-5, 1e-6, 'to 1x1');
    const up = adaptiveAvgPool2d(x, [8, 5]);
    expectClose(up.data, refAdaptive(x, 8, 5), 1e-5, 1e-6, 'upsampling');
    expect(gradcheck((t) => adaptiveAvgPool2d(t, [3, 2]), [x])).toBe(true);
    expect(gradcheck((t) => adaptiveAvgPool2d(t, [8, 5]), [x])).toBe(true);
  });

  it('globalAvgPool2d averages each plane to [N, C] (or [N, C, 1, 1] with keepDims)', () => {
    const x = randn([2, 3, 4, 5], { generator: new Generator(7), requiresGrad: true });
    const y = globalAvgPool2d(x);
    expect(y.shape).toEqual([2, 3]);
    expectClose(y.data, refAdaptive(x, 1, 1), 1e-5, 1e-6);
    expect(globalAvgPool2d(x, { keepDims: true }).shape).toEqual([2, 3, 1, 1]);
    expect(gradcheck((t) => globalAvgPool2d(t), [x])).toBe(true);
  });
});

describe('pooling argument errors', () => {
  const x = randn([1, 2, 6, 6]);
  it('names the function and what was wrong', () => {
    expect(() => maxPool2d(randn([2, 6, 6]), 2)).toThrow(
      'maxPool2d: input must be 4-D NCHW, got shape [2,6,6]',
    );
    expect(() => maxPool2d(x, 0)).toThrow(/maxPool2d: kernelSize must be an integer >= 1/);
    expect(() => maxPool2d(x, 2, { padding: 2 })).toThrow(
      /maxPool2d: padding must be at most half the kernel size/,
    );
    expect(() => avgPool2d(x, 7)).toThrow(/avgPool2d: kernel 7x7 does not fit input 6x6/);
    expect(() => avgPool2d(x, 2, { countIncludePad: 1 as unknown as boolean })).toThrow(
      'avgPool2d: countIncludePad must be a boolean, got 1',
    );
    expect(() => adaptiveAvgPool2d(x, 0)).toThrow(
      /adaptiveAvgPool2d: outputSize must be a positive integer/,
    );
    expect(() => adaptiveAvgPool2d(x, [2, 2, 2] as unknown as [number, number])).toThrow(
      /adaptiveAvgPool2d: outputSize/,
    );
    expect(() => globalAvgPool2d(randn([2, 3]))).toThrow(
      'globalAvgPool2d: input must be 4-D NCHW, got shape [2,3]',
    );
  });
});
