import { describe, expect, it } from 'vitest';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import { batchNorm } from '../../lib/functional/normalization.js';
import { Generator } from '../../lib/random.js';
import { full, ones, randn, rand, tensor, zeros, type Tensor } from '../../lib/tensor.js';
import { expectClose } from '../helpers.js';
import { BACKENDS, useBackend } from './backends.js';

/** Per-channel mean and biased / unbiased variance of x viewed as [N, C, inner], in float64. */
function channelStats(x: Tensor): { mean: number[]; biased: number[]; unbiased: number[] } {
  const [N, C] = x.shape;
  const inner = x.size / (N * C);
  const mean: number[] = [];
  const biased: number[] = [];
  const unbiased: number[] = [];
  for (let c = 0; c < C; c++) {
    const vals: number[] = [];
    for (let n = 0; n < N; n++)
      for (let i = 0; i < inner; i++) vals.push(x.data[(n * C + c) * inner + i]);
    const m = vals.reduce((a, b) => a + b, 0) / vals.length;
    const ss = vals.reduce((a, b) => a + (b - m) ** 2, 0);
    mean.push(m);
    biased.push(ss / vals.length);
    unbiased.push(ss / (vals.length - 1));
  }
  return { mean, biased, unbiased };
}

function refNormalize(
  x: Tensor,
  mean: number[],
  variance: number[],
  g: Tensor,
  b: Tensor,
  eps: number,
): number[] {
  const [N, C] = x.shape;
  const inner = x.size / (N * C);
  const out = new Array<number>(x.size);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < inner; i++) {
        const k = (n * C + c) * inner + i;
        out[k] = ((x.data[k] - mean[c]) / Math.sqrt(variance[c] + eps)) * g.data[c] + b.data[c];
      }
    }
  }
  return out;
}

// Through the batch-norm kernels of the active backend, run under both backends all the same: results must not depend on it.
describe.each(BACKENDS)('batchNorm on the %s backend', (backend) => {
  useBackend(backend);

  for (const shape of [
    [6, 3],
    [4, 3, 5],
    [3, 2, 4, 5],
  ]) {
    it(`training on ${JSON.stringify(shape)}: batch statistics normalize, running statistics update as torch`, () => {
      const gen = new Generator(1);
      const x = randn(shape, { generator: gen });
      const C = shape[1];
      const g = rand([C], { generator: gen, low: 0.5, high: 1.5 });
      const b = randn([C], { generator: gen });
      const rm = randn([C], { generator: gen });
      const rv = rand([C], { generator: gen, low: 0.5, high: 2 });
      const rm0 = Array.from(rm.data);
      const rv0 = Array.from(rv.data);
      const s = channelStats(x);
      const y = batchNorm(x, rm, rv, g, b, { training: true, momentum: 0.2, eps: 1e-3 });
      expectClose(y.data, refNormalize(x, s.mean, s.biased, g, b, 1e-3), 1e-4, 1e-5, 'output');
      expectClose(
        rm.data,
        rm0.map((v, c) => 0.8 * v + 0.2 * s.mean[c]),
        1e-5,
        1e-6,
        'running mean',
      );
      expectClose(
        rv.data,
        rv0.map((v, c) => 0.8 * v + 0.2 * s.unbiased[c]),
        1e-5,
        1e-6,
        'running var (unbiased)',
      );
    });
  }

  it('evaluation normalizes with the running statistics and leaves them alone', () => {
    const gen = new Generator(2);
    const x = randn([5, 3, 2, 2], { generator: gen });
    const rm = randn([3], { generator: gen });
    const rv = rand([3], { generator: gen, low: 0.5, high: 2 });
    const g = randn([3], { generator: gen });
    const b = randn([3], { generator: gen });
    const before = [Array.from(rm.data), Array.from(rv.data)];
    const y = batchNorm(x, rm, rv, g, b, { training: false });
    expectClose(
      y.data,
      refNormalize(x, Array.from(rm.data), Array.from(rv.data), g, b, 1e-5),
      1e-4,
      1e-5,
    );
    expect([Array.from(rm.data), Array.from(rv.data)]).toEqual(before);
  });

  it('stays accurate when the mean is large compared with the spread', () => {
    const x = tensor([1000.001, 1000.002, 1000.003, 1000.004], [4, 1]);
    const y = batchNorm(x, null, null, null, null, { training: true, eps: 1e-12 });
    // Float32 stores the inputs with ~6e-5 error, so the normalized values are close to ±1.34, ±0.45.
    expectClose(y.data, [-1.3416, -0.4472, 0.4472, 1.3416], 0.1, 0);
  });

  it('passes gradcheck in training mode (through the batch statistics) for x, weight and bias', () => {
    const gen = new Generator(3);
    for (const shape of [
      [5, 3],
      [3, 2, 3, 3],
    ]) {
      const C = shape[1];
      const x = randn(shape, { generator: gen, requiresGrad: true });
      const g = rand([C], { generator: gen, low: 0.5, high: 1.5, requiresGrad: true });
      const b = randn([C], { generator: gen, requiresGrad: true });
      expect(
        gradcheck(
          (xx, gg, bb) => batchNorm(xx, zeros([C]), ones([C]), gg, bb, { training: true }),
          [x, g, b],
        ),
      ).toBe(true);
      expect(
        gradcheck((xx) => batchNorm(xx, null, null, null, null, { training: true }), [x]),
      ).toBe(true);
    }
  });

  it('passes gradcheck in evaluation mode', () => {
    const gen = new Generator(4);
    const x = randn([4, 3, 2, 2], { generator: gen, requiresGrad: true });
    const g = randn([3], { generator: gen, requiresGrad: true });
    const b = randn([3], { generator: gen, requiresGrad: true });
    const rm = randn([3], { generator: gen });
    const rv = full([3], 0.7);
    expect(
      gradcheck((xx, gg, bb) => batchNorm(xx, rm, rv, gg, bb, { training: false }), [x, g, b]),
    ).toBe(true);
  });

  it('rejects bad arguments with clear messages', () => {
    const x = randn([4, 3]);
    expect(() => batchNorm(randn([4]), null, null, null, null, { training: true })).toThrow(
      'batchNorm: input must be [N, C], [N, C, L] or [N, C, H, W], got shape [4]',
    );
    expect(() => batchNorm(x, zeros([2]), ones([2]))).toThrow(
      'batchNorm: runningMean must have shape [3] (one value per channel of input [4,3]), got shape [2]',
    );
    expect(() => batchNorm(x, zeros([3]), null)).toThrow(
      'batchNorm: runningMean and runningVar must be given together',
    );
    expect(() => batchNorm(x, null, null)).toThrow(
      'batchNorm: evaluation mode (training=false) needs runningMean and runningVar',
    );
    expect(() => batchNorm(randn([1, 3]), null, null, null, null, { training: true })).toThrow(
      'batchNorm: expected more than 1 value per channel when training, got input shape [1,3]',
    );
    expect(() => batchNorm(x, null, null, null, null, { training: true, momentum: 2 })).toThrow(
      'batchNorm: momentum must be a number in [0, 1], got 2',
    );
    expect(() => batchNorm(x, null, null, null, null, { training: true, eps: -1 })).toThrow(
      'batchNorm: eps must be a positive number, got -1',
    );
    expect(() => batchNorm(x, null, null, ones([4]), null, { training: true })).toThrow(
      /batchNorm: weight must have shape \[3\]/,
    );
  });
});
