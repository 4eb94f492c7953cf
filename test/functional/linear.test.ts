import { describe, expect, it } from 'vitest';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import { linear } from '../../lib/functional/linear.js';
import { Generator } from '../../lib/random.js';
import { randn, tensor, type Tensor } from '../../lib/tensor.js';
import { expectClose } from '../helpers.js';
import { BACKENDS, useBackend } from './backends.js';

/** y[r, o] = sum_i x[r, i] * w[o, i] + b[o] in float64. */
function refLinear(x: Tensor, w: Tensor, b: Tensor | null): number[] {
  const [O, I] = w.shape;
  const rows = x.size / I;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < O; o++) {
      let s = b === null ? 0 : b.data[o];
      for (let i = 0; i < I; i++) s += x.data[r * I + i] * w.data[o * I + i];
      out.push(s);
    }
  }
  return out;
}

describe.each(BACKENDS)('linear on the %s backend', (backend) => {
  useBackend(backend);

  it('computes x · wᵀ + b for [N, in] input and passes gradcheck', () => {
    const gen = new Generator(1);
    const x = randn([5, 7], { generator: gen, requiresGrad: true });
    const w = randn([3, 7], { generator: gen, requiresGrad: true });
    const b = randn([3], { generator: gen, requiresGrad: true });
    const y = linear(x, w, b);
    expect(y.shape).toEqual([5, 3]);
    expectClose(y.data, refLinear(x, w, b), 1e-5, 1e-5);
    // Linear in each element: a larger step is exact and keeps rounding noise small.
    expect(gradcheck((a, c, d) => linear(a, c, d), [x, w, b], { eps: 1e-2 })).toBe(true);
  });

  it('accepts [..., in] input and 1-D input, and no bias', () => {
    const gen = new Generator(2);
    const x = randn([2, 3, 4], { generator: gen, requiresGrad: true });
    const w = randn([6, 4], { generator: gen, requiresGrad: true });
    const y = linear(x, w);
    expect(y.shape).toEqual([2, 3, 6]);
    expectClose(y.data, refLinear(x, w, null), 1e-5, 1e-5);
    expect(gradcheck((a, c) => linear(a, c), [x, w], { eps: 1e-2 })).toBe(true);
    const v = randn([4], { generator: gen });
    const yv = linear(v, w);
    expect(yv.shape).toEqual([6]);
    expectClose(yv.data, refLinear(v, w, null), 1e-5, 1e-5);
  });

  it('fills only the gradients that are required', () => {
    const gen = new Generator(3);
    const x = randn([4, 3], { generator: gen });
    const w = randn([2, 3], { generator: gen, requiresGrad: true });
    const b = randn([2], { generator: gen });
    linear(x, w, b).backward(new Float32Array(8).fill(1));
    // dw[o, i] = sum over rows of x[r, i].
    const colSums = [0, 1, 2].map((i) => [0, 1, 2, 3].reduce((s, r) => s + x.data[r * 3 + i], 0));
    expectClose(w.grad!.data, [...colSums, ...colSums], 1e-5, 1e-5);
    expect(x.grad).toBeNull();
  });
});

describe('linear argument errors', () => {
  it('names the function, the argument and the shapes', () => {
    const w = randn([3, 4]);
    expect(() => linear(randn([2, 5]), w)).toThrow(
      'linear: input must have shape [..., 4] to match weight [3,4], got shape [2,5]',
    );
    expect(() => linear(randn([2, 4]), randn([3, 4, 1]))).toThrow(
      'linear: weight must be 2-D [outFeatures, inFeatures], got shape [3,4,1]',
    );
    expect(() => linear(randn([2, 4]), w, randn([4]))).toThrow(
      'linear: bias must have shape [3] (one value per output feature), got shape [4]',
    );
    expect(() => linear(tensor(new Int32Array(8), [2, 4]), w)).toThrow(
      'linear: input must be a float32 tensor',
    );
    expect(() => linear([1, 2] as unknown as Tensor, w)).toThrow('linear: input must be a Tensor');
  });
});
