import { describe, expect, it } from 'vitest';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import { logSoftmax } from '../../lib/functional/activation.js';
import {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  l1Loss,
  mseLoss,
  nllLoss,
} from '../../lib/functional/loss.js';
import { Generator } from '../../lib/random.js';
import { rand, randn, tensor, type Tensor } from '../../lib/tensor.js';
import { expectClose } from '../helpers.js';
import { BACKENDS, useBackend } from './backends.js';

const labels = (v: number[], shape?: number[]): Tensor =>
  tensor(Int32Array.from(v), shape ?? [v.length]);

/** log-softmax over the class axis of [N, C, inner] data, in float64. */
function refLogProbs(x: Tensor): number[] {
  const [N, C] = x.ndim === 1 ? [1, x.shape[0]] : [x.shape[0], x.shape[1]];
  const inner = x.size / (N * C);
  const out = new Array<number>(x.size);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < inner; j++) {
      const idx = (c: number): number => (n * C + c) * inner + j;
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, x.data[idx(c)]);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(x.data[idx(c)] - m);
      for (let c = 0; c < C; c++) out[idx(c)] = x.data[idx(c)] - m - Math.log(s);
    }
  }
  return out;
}

interface RefCeOptions {
  weight?: number[];
  smoothing?: number;
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * torch's cross_entropy with class indices, written as the smoothed target distribution
 * q = (1-s)·onehot + s/C against weighted log-probabilities; the mean divides by the summed
 * weights of the non-ignored targets.
 */
function refCrossEntropy(x: Tensor, t: number[], o: RefCeOptions): number[] {
  const lp = refLogProbs(x);
  const [N, C] = x.ndim === 1 ? [1, x.shape[0]] : [x.shape[0], x.shape[1]];
  const inner = x.size / (N * C);
  const s = o.smoothing ?? 0;
  const w = o.weight ?? new Array<number>(C).fill(1);
  const losses: number[] = [];
  let wsum = 0;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < inner; j++) {
      const tgt = t[n * inner + j];
      if (tgt === (o.ignoreIndex ?? -100)) {
        losses.push(0);
        continue;
      }
      wsum += w[tgt];
      let l = 0;
      for (let c = 0; c < C; c++) {
        const q = (c === tgt ? 1 - s : 0) + s / C;
        l -= w[c] * q * lp[(n * C + c) * inner + j];
      }
      losses.push(l);
    }
  }
  const total = losses.reduce((a, b) => a + b, 0);
  if (o.reduction === 'none') return losses;
  return [o.reduction === 'sum' ? total : total / wsum];
}

describe.each(BACKENDS)('losses on the %s backend', (backend) => {
  useBackend(backend);

  it('crossEntropy with class indices: plain, weighted, smoothed, ignored, every reduction', () => {
    const x = randn([6, 4], { generator: new Generator(1) });
    const t = [0, 3, 2, 2, 1, 3];
    const weight = [0.5, 2, 1, 1.5];
    const cases: RefCeOptions[] = [
      {},
      { weight },
      { smoothing: 0.2 },
      { weight, smoothing: 0.1 },
      { weight, smoothing: 0.3, ignoreIndex: 2 },
      { ignoreIndex: 3, reduction: 'sum' },
      { weight, smoothing: 0.1, reduction: 'none' },
      { weight, ignoreIndex: 1, reduction: 'none' },
    ];
    for (const c of cases) {
      const y = crossEntropy(x, labels(t), {
        weight: c.weight === undefined ? undefined : tensor(c.weight),
        labelSmoothing: c.smoothing,
        ignoreIndex: c.ignoreIndex,
        reduction: c.reduction,
      });
      expect(y.shape).toEqual(c.reduction === 'none' ? [6] : []);
      expectClose(y.data, refCrossEntropy(x, t, c), 1e-5, 1e-6, JSON.stringify(c));
    }
  });

  it('crossEntropy with weight and labelSmoothing passes gradcheck (mean, sum and none)', () => {
    const x = randn([5, 4], { generator: new Generator(2), requiresGrad: true });
    const t = labels([1, 0, 3, 3, 2]);
    const weight = tensor([0.5, 2, 1, 1.5]);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      expect(
        gradcheck((xx) => crossEntropy(xx, t, { weight, labelSmoothing: 0.15, reduction }), [x]),
      ).toBe(true);
    }
    expect(
      gradcheck((xx) => crossEntropy(xx, t, { weight, labelSmoothing: 0.15, ignoreIndex: 3 }), [x]),
    ).toBe(true);
  });

  it('crossEntropy is finite and exact for logits of 1e4', () => {
    const x = tensor(
      [
        [1e4, 0, -1e4],
        [0, 1e4, 1e4],
        [-1e4, -1e4, -1e4],
      ],
      undefined,
      { requiresGrad: true },
    );
    const y = crossEntropy(x, labels([1, 2, 0]), { reduction: 'none' });
    // Sample 0: target logit 1e4 below the max -> loss 1e4; sample 1: tie of two -> log 2; sample 2: uniform -> log 3.
    expectClose(y.data, [1e4, Math.LN2, Math.log(3)], 1e-6, 1e-6);
    const mean = crossEntropy(x, labels([1, 2, 0]));
    mean.backward();
    expect(Array.from(x.grad!.data).every(Number.isFinite)).toBe(true);
    // d/dlogits of the mean = (softmax - onehot) / N.
    expectClose(
      x.grad!.data,
      [1 / 3, -1 / 3, 0, 0, 1 / 6, -1 / 6, 1 / 9 - 1 / 3, 1 / 9, 1 / 9],
      1e-5,
      1e-6,
    );
  });

  it('crossEntropy accepts [N, C, d] logits with [N, d] targets and unbatched [C] logits', () => {
    const x = randn([2, 3, 4], { generator: new Generator(3), requiresGrad: true });
    const t = [0, 2, 1, 1, 2, 2, 0, 1];
    const y = crossEntropy(x, labels(t, [2, 4]), {
      labelSmoothing: 0.1,
      weight: tensor([1, 2, 3]),
    });
    expectClose(y.data, refCrossEntropy(x, t, { smoothing: 0.1, weight: [1, 2, 3] }), 1e-5, 1e-6);
    expect(
      gradcheck(
        (xx) =>
          crossEntropy(xx, labels(t, [2, 4]), { labelSmoothing: 0.1, weight: tensor([1, 2, 3]) }),
        [x],
      ),
    ).toBe(true);
    const v = randn([5], { generator: new Generator(4) });
    expectClose(
      crossEntropy(v, labels([3], [])).data,
      refCrossEntropy(v, [3], {}),
      1e-5,
      1e-6,
      'unbatched',
    );
  });

  it('crossEntropy with probability targets (torch semantics: mean over samples, smoothing mixes in uniform)', () => {
    const x = randn([4, 3], { generator: new Generator(5), requiresGrad: true });
    const q = rand([4, 3], { generator: new Generator(6), requiresGrad: true });
    const lp = refLogProbs(x);
    const w = [1, 0.5, 2];
    const s = 0.2;
    let total = 0;
    for (let n = 0; n < 4; n++) {
      for (let c = 0; c < 3; c++)
        total -= w[c] * ((1 - s) * q.data[n * 3 + c] + s / 3) * lp[n * 3 + c];
    }
    const y = crossEntropy(x, q, { weight: tensor(w), labelSmoothing: s });
    expectClose(y.data, [total / 4], 1e-5, 1e-6);
    expect(
      gradcheck((xx, qq) => crossEntropy(xx, qq, { weight: tensor(w), labelSmoothing: s }), [x, q]),
    ).toBe(true);
    // One-hot probabilities give the same loss as the class indices.
    const onehot = tensor([1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1], [4, 3]);
    expectClose(
      crossEntropy(x, onehot).data,
      crossEntropy(x, labels([0, 2, 1, 2])).data,
      1e-6,
      1e-6,
      'one-hot',
    );
  });

  it('nllLoss on log-probabilities equals crossEntropy on logits, with weights and ignoreIndex', () => {
    const x = randn([5, 3], { generator: new Generator(7), requiresGrad: true });
    const t = labels([2, 0, 1, 1, 0]);
    const weight = tensor([0.2, 1, 3]);
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const a = nllLoss(logSoftmax(x), t, { weight, ignoreIndex: 0, reduction });
      const b = crossEntropy(x, t, { weight, ignoreIndex: 0, reduction });
      expectClose(a.data, b.data, 1e-6, 1e-6, reduction);
    }
    const lp = randn([5, 3], { generator: new Generator(8), requiresGrad: true });
    // From the definition: -sum w[t]·lp[t] / sum w[t] over samples 1-4 (ignoreIndex 2 drops sample 0).
    const y = nllLoss(lp, t, { weight, ignoreIndex: 2 });
    const num = -(0.2 * lp.data[3] + 1 * lp.data[7] + 1 * lp.data[10] + 0.2 * lp.data[12]);
    expectClose(y.data, [num / 2.4], 1e-5, 1e-6);
    expect(gradcheck((l) => nllLoss(l, t, { weight, ignoreIndex: 2 }), [lp])).toBe(true);
  });

  it('mseLoss and l1Loss match their definitions and pass gradcheck for input and target', () => {
    const gen = new Generator(9);
    const a = randn([3, 4], { generator: gen, requiresGrad: true });
    const b = randn([3, 4], { generator: gen, requiresGrad: true });
    const d = Array.from(a.data).map((v, i) => v - b.data[i]);
    expectClose(
      mseLoss(a, b).data,
      [d.reduce((s, v) => s + v * v, 0) / 12],
      1e-5,
      1e-6,
      'mse mean',
    );
    expectClose(
      mseLoss(a, b, { reduction: 'sum' }).data,
      [d.reduce((s, v) => s + v * v, 0)],
      1e-5,
      1e-6,
      'mse sum',
    );
    expectClose(
      mseLoss(a, b, { reduction: 'none' }).data,
      d.map((v) => v * v),
      1e-5,
      1e-6,
      'mse none',
    );
    expectClose(
      l1Loss(a, b).data,
      [d.reduce((s, v) => s + Math.abs(v), 0) / 12],
      1e-5,
      1e-6,
      'l1 mean',
    );
    expectClose(l1Loss(a, b, { reduction: 'none' }).data, d.map(Math.abs), 1e-5, 1e-6, 'l1 none');
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      expect(gradcheck((x, y) => mseLoss(x, y, { reduction }), [a, b])).toBe(true);
      expect(gradcheck((x, y) => l1Loss(x, y, { reduction }), [a, b])).toBe(true);
    }
  });

  it('binaryCrossEntropyWithLogits matches -[p·y·log σ(x) + (1-y)·log(1-σ(x))]·w and passes gradcheck', () => {
    const gen = new Generator(10);
    const x = randn([4, 3], { generator: gen, requiresGrad: true });
    const y = rand([4, 3], { generator: gen, requiresGrad: true });
    const w = rand([4, 1], { generator: gen, low: 0.5, high: 1.5 });
    const pw = tensor([0.5, 2, 3]);
    const ref: number[] = [];
    for (let i = 0; i < 12; i++) {
      const sig = 1 / (1 + Math.exp(-x.data[i]));
      const p = pw.data[i % 3];
      ref.push(
        -(p * y.data[i] * Math.log(sig) + (1 - y.data[i]) * Math.log(1 - sig)) *
          w.data[Math.floor(i / 3)],
      );
    }
    const none = binaryCrossEntropyWithLogits(x, y, {
      weight: w,
      posWeight: pw,
      reduction: 'none',
    });
    expectClose(none.data, ref, 1e-5, 1e-6, 'none');
    const mean = binaryCrossEntropyWithLogits(x, y, { weight: w, posWeight: pw });
    expectClose(mean.data, [ref.reduce((a, b) => a + b, 0) / 12], 1e-5, 1e-6, 'mean');
    expect(
      gradcheck((a, b) => binaryCrossEntropyWithLogits(a, b, { weight: w, posWeight: pw }), [x, y]),
    ).toBe(true);
    expect(
      gradcheck((a, b) => binaryCrossEntropyWithLogits(a, b, { reduction: 'sum' }), [x, y]),
    ).toBe(true);
  });

  it('binaryCrossEntropyWithLogits is finite and exact for logits of ±1e4', () => {
    const x = tensor([1e4, -1e4, 1e4, -1e4], undefined, { requiresGrad: true });
    const y = tensor([1, 0, 0, 1]);
    const l = binaryCrossEntropyWithLogits(x, y, { reduction: 'none' });
    expectClose(l.data, [0, 0, 1e4, 1e4], 1e-6, 1e-6);
    binaryCrossEntropyWithLogits(x, y, { reduction: 'sum' }).backward();
    expectClose(x.grad!.data, [0, 0, 1, -1], 1e-6, 1e-6);
  });
});

describe('loss argument errors', () => {
  const x = randn([3, 4]);
  it('names the function, the argument, what was expected and what was given', () => {
    expect(() => crossEntropy(x, labels([0, 1]))).toThrow(
      'crossEntropy: target of class indices must have shape [3] to match the input, got [2]',
    );
    expect(() => crossEntropy(x, tensor([0, 1, 2]))).toThrow(
      'crossEntropy: target must be an int32 tensor of class indices with shape [3] (or float32 probabilities shaped like the input), got float32 of shape [3]',
    );
    expect(() => crossEntropy(x, labels([0, 4, 1]))).toThrow(
      'crossEntropy: target values must be class indices in [0, 3] or ignoreIndex (-100), got 4 at flat position 1',
    );
    expect(() => crossEntropy(x, labels([0, 1, 2]), { labelSmoothing: 1.5 })).toThrow(
      'crossEntropy: labelSmoothing must be a number in [0, 1], got 1.5',
    );
    expect(() => crossEntropy(x, labels([0, 1, 2]), { weight: tensor([1, 2]) })).toThrow(
      'crossEntropy: weight must have shape [4] (one weight per class), got shape [2]',
    );
    expect(() => crossEntropy(x, labels([0, 1, 2]), { reduction: 'avg' as 'mean' })).toThrow(
      `crossEntropy: reduction must be 'mean', 'sum' or 'none', got "avg"`,
    );
    expect(() => crossEntropy(x, randn([3, 4]), { ignoreIndex: 1 })).toThrow(
      'crossEntropy: ignoreIndex is only supported for class-index targets',
    );
    expect(() => nllLoss(randn([]), labels([0]))).toThrow(
      'nllLoss: input must be [C], [N, C] or [N, C, d1, ...], got a 0-d tensor',
    );
    expect(() => mseLoss(x, randn([4, 3]))).toThrow(
      'mseLoss: target must have the same shape as input [3,4], got [4,3]',
    );
    expect(() => l1Loss(x, labels([1]))).toThrow('l1Loss: target must be a float32 tensor');
    expect(() =>
      binaryCrossEntropyWithLogits(x, randn([3, 4]), { posWeight: tensor([1, 2, 3]) }),
    ).toThrow(
      "binaryCrossEntropyWithLogits: posWeight of shape [3] cannot broadcast to the input's shape [3,4]",
    );
  });
});
