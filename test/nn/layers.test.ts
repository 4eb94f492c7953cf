import { describe, expect, it } from 'vitest';
import { conv2d } from '../../lib/functional/conv.js';
import { leakyRelu, logSoftmax, softmax } from '../../lib/functional/activation.js';
import {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  l1Loss,
  mseLoss,
  nllLoss,
} from '../../lib/functional/loss.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../../lib/functional/pooling.js';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  BCEWithLogitsLoss,
  Conv2d,
  CrossEntropyLoss,
  Dropout,
  Flatten,
  GlobalAvgPool2d,
  Identity,
  L1Loss,
  LeakyReLU,
  Linear,
  LogSoftmax,
  MaxPool2d,
  ModuleList,
  MSELoss,
  NLLLoss,
  ReLU,
  Sequential,
  Sigmoid,
  Softmax,
  Tanh,
} from '../../lib/nn/index.js';
import { Generator } from '../../lib/random.js';
import { rand, randn, tensor, type Tensor } from '../../lib/tensor.js';
import { expectClose } from '../helpers.js';

const labels = (v: number[]): Tensor => tensor(Int32Array.from(v));

function stats(d: ArrayLike<number>): { min: number; max: number; std: number; mean: number } {
  let s = 0;
  let ss = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < d.length; i++) {
    s += d[i];
    ss += d[i] * d[i];
    min = Math.min(min, d[i]);
    max = Math.max(max, d[i]);
  }
  const mean = s / d.length;
  return { min, max, mean, std: Math.sqrt(ss / d.length - mean * mean) };
}

describe('Conv2d', () => {
  it('has torch-shaped parameters initialised uniformly within ±1/sqrt(fanIn)', () => {
    const conv = new Conv2d(16, 32, 3, { generator: new Generator(1) });
    expect(conv.weight.shape).toEqual([32, 16, 3, 3]);
    expect(conv.bias!.shape).toEqual([32]);
    const bound = 1 / Math.sqrt(16 * 9);
    const w = stats(conv.weight.data);
    expect(w.max).toBeLessThanOrEqual(bound);
    expect(w.min).toBeGreaterThanOrEqual(-bound);
    // U(-b, b) has standard deviation b / sqrt(3); 4608 samples pin it to about 1%.
    expect(w.std).toBeCloseTo(bound / Math.sqrt(3), 3);
    const b = stats(conv.bias!.data);
    expect(Math.max(-b.min, b.max)).toBeLessThanOrEqual(bound);
    const grouped = new Conv2d(4, 6, [3, 1], { groups: 2, bias: false });
    expect(grouped.weight.shape).toEqual([6, 2, 3, 1]);
    expect(grouped.bias).toBeNull();
    expect(grouped.namedParameters().map(([n]) => n)).toEqual(['weight']);
  });

  it('is reproducible from a generator and computes conv2d with its options', () => {
    const a = new Conv2d(2, 4, 3, {
      stride: 2,
      padding: 1,
      dilation: 1,
      generator: new Generator(7),
    });
    const b = new Conv2d(2, 4, 3, { stride: 2, padding: 1, generator: new Generator(7) });
    expect(Array.from(a.weight.data)).toEqual(Array.from(b.weight.data));
    const x = randn([2, 2, 7, 7], { generator: new Generator(8) });
    const y = a.call(x);
    expect(y.shape).toEqual([2, 4, 4, 4]);
    expect(Array.from(y.data)).toEqual(
      Array.from(conv2d(x, a.weight, a.bias, { stride: 2, padding: 1 }).data),
    );
    expect(new Conv2d(2, 4, 4, { padding: 'same' }).call(x).shape).toEqual([2, 4, 7, 7]);
  });

  it('validates options and input with clear messages', () => {
    expect(() => new Conv2d(0, 4, 3)).toThrow(
      'Conv2d: inChannels must be a positive integer, got 0',
    );
    expect(() => new Conv2d(3, 4, 0)).toThrow(
      'Conv2d: kernelSize must be an integer >= 1 or a pair of them, got 0',
    );
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(
      'Conv2d: inChannels (3) must be divisible by groups (2)',
    );
    expect(() => new Conv2d(4, 3, 3, { groups: 2 })).toThrow(
      'Conv2d: outChannels (3) must be divisible by groups (2)',
    );
    expect(() => new Conv2d(3, 4, 3, { strides: 2 } as object)).toThrow(
      "Conv2d: unknown option 'strides' (known options: stride, padding, dilation, groups, bias, generator)",
    );
    expect(() => new Conv2d(3, 4, 3, { padding: 'same', stride: 2 })).toThrow(
      "Conv2d: padding 'same' needs stride 1, got stride [2, 2]",
    );
    expect(() => new Conv2d(3, 4, 3, { padding: -1 })).toThrow(
      'Conv2d: padding must be an integer >= 0',
    );
    expect(() => new Conv2d(3, 4, 3, { bias: 'no' as unknown as boolean })).toThrow(
      'Conv2d: bias must be a boolean, got "no"',
    );
    const conv = new Conv2d(3, 16, 3);
    expect(() => conv.call(randn([8, 1, 28, 28]))).toThrow(
      'Conv2d(3->16): expected input with 3 channels, got shape [8,1,28,28]',
    );
    expect(() => conv.call(randn([3, 28, 28]))).toThrow(
      'Conv2d(3->16): expected 4-D NCHW input, got shape [3,28,28]',
    );
  });
});

describe('Linear', () => {
  it('initialises like torch and computes x · wᵀ + b', () => {
    const lin = new Linear(100, 7, { generator: new Generator(2) });
    const bound = 0.1;
    const w = stats(lin.weight.data);
    expect(w.max).toBeLessThanOrEqual(bound);
    expect(w.min).toBeGreaterThanOrEqual(-bound);
    expect(w.std).toBeCloseTo(bound / Math.sqrt(3), 2);
    const x = randn([3, 100], { generator: new Generator(3) });
    const y = lin.call(x);
    const ref: number[] = [];
    for (let r = 0; r < 3; r++) {
      for (let o = 0; o < 7; o++) {
        let s = lin.bias!.data[o];
        for (let i = 0; i < 100; i++) s += x.data[r * 100 + i] * lin.weight.data[o * 100 + i];
        ref.push(s);
      }
    }
    expectClose(y.data, ref, 1e-5, 1e-5);
    expect(new Linear(3, 2, { bias: false }).bias).toBeNull();
  });

  it('validates options and input with clear messages', () => {
    expect(() => new Linear(784, 0)).toThrow(
      'Linear: outFeatures must be a positive integer, got 0',
    );
    expect(() => new Linear(784, 10, { bais: false } as object)).toThrow(
      "Linear: unknown option 'bais'",
    );
    expect(() => new Linear(784, 10).call(randn([8, 100]))).toThrow(
      'Linear(784->10): expected input with last dimension 784, got shape [8,100]',
    );
  });
});

describe('pooling layers', () => {
  const x = randn([2, 3, 7, 6], { generator: new Generator(4) });
  it('compute the functional ops with their options', () => {
    expect(Array.from(new MaxPool2d(3, { stride: 2, padding: 1 }).call(x).data)).toEqual(
      Array.from(maxPool2d(x, 3, { stride: 2, padding: 1 }).data),
    );
    expect(
      Array.from(new AvgPool2d(2, { countIncludePad: false, padding: 1 }).call(x).data),
    ).toEqual(Array.from(avgPool2d(x, 2, { padding: 1, countIncludePad: false }).data));
    expect(Array.from(new AdaptiveAvgPool2d([3, 4]).call(x).data)).toEqual(
      Array.from(adaptiveAvgPool2d(x, [3, 4]).data),
    );
    expect(new AdaptiveAvgPool2d([null, 2]).call(x).shape).toEqual([2, 3, 7, 2]);
    expect(new GlobalAvgPool2d().call(x).shape).toEqual([2, 3]);
    expect(new GlobalAvgPool2d({ keepDims: true }).call(x).shape).toEqual([2, 3, 1, 1]);
  });

  it('validate options and input', () => {
    expect(() => new MaxPool2d(2, { padding: 2 })).toThrow(
      'MaxPool2d: padding must be at most half the kernel size, got padding [2, 2] for kernel [2, 2]',
    );
    expect(() => new MaxPool2d(2, { dilation: 2 } as object)).toThrow(
      "MaxPool2d: unknown option 'dilation' (known options: stride, padding)",
    );
    expect(() => new AvgPool2d([2, 2, 2] as unknown as number)).toThrow(
      'AvgPool2d: kernelSize must be an integer >= 1 or a pair of them',
    );
    expect(() => new AdaptiveAvgPool2d(0)).toThrow(
      'AdaptiveAvgPool2d: outputSize must be a positive integer or a pair of them, got 0',
    );
    expect(() => new MaxPool2d(2).call(randn([3, 4]))).toThrow(
      'MaxPool2d: expected 4-D NCHW input, got shape [3,4]',
    );
  });
});

describe('BatchNorm', () => {
  it('BatchNorm2d: torch names, running statistics, num_batches_tracked, train vs eval', () => {
    const bn = new BatchNorm2d(3, { momentum: 0.5 });
    expect(bn.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    expect(bn.namedBuffers().map(([n]) => n)).toEqual([
      'running_mean',
      'running_var',
      'num_batches_tracked',
    ]);
    const x = randn([4, 3, 2, 2], { generator: new Generator(5) });
    for (let c = 0; c < 3; c++) for (let i = 0; i < 4; i++) x.data[(i * 3 + c) * 4] += 10 * (c + 1);
    const yTrain = bn.call(x);
    expect(bn.num_batches_tracked!.data[0]).toBe(1);
    // Half of each channel's batch mean moved into the running mean.
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let n = 0; n < 4; n++) for (let i = 0; i < 4; i++) s += x.data[(n * 3 + c) * 4 + i];
      expect(bn.running_mean!.data[c]).toBeCloseTo(0.5 * (s / 16), 5);
    }
    bn.eval();
    const yEval = bn.call(x);
    expect(bn.num_batches_tracked!.data[0]).toBe(1);
    expect(Array.from(yEval.data)).not.toEqual(Array.from(yTrain.data));
    const rm = bn.running_mean!.data;
    const rv = bn.running_var!.data;
    expect(yEval.data[0]).toBeCloseTo((x.data[0] - rm[0]) / Math.sqrt(rv[0] + 1e-5), 4);
  });

  it('momentum null keeps the cumulative average of batch statistics', () => {
    const bn = new BatchNorm1d(2, { momentum: null });
    const batches = [0, 1, 2].map((i) => randn([5, 2], { generator: new Generator(10 + i) }));
    const means = batches.map((b) =>
      [0, 1].map((c) => [0, 1, 2, 3, 4].reduce((s, n) => s + b.data[n * 2 + c], 0) / 5),
    );
    for (const b of batches) bn.call(b);
    for (let c = 0; c < 2; c++)
      expect(bn.running_mean!.data[c]).toBeCloseTo(
        (means[0][c] + means[1][c] + means[2][c]) / 3,
        5,
      );
    expect(bn.num_batches_tracked!.data[0]).toBe(3);
  });

  it('trackRunningStats false has no buffers and uses batch statistics in eval; affine false has no parameters', () => {
    const bn = new BatchNorm1d(3, { trackRunningStats: false, affine: false });
    expect(bn.parameters()).toEqual([]);
    expect(bn.buffers()).toEqual([]);
    expect(Object.keys(bn.stateDict())).toEqual([]);
    bn.eval();
    const x = randn([6, 3, 4], { generator: new Generator(6) });
    const y = bn.call(x);
    // Batch statistics: every channel of the output has mean ~0.
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let n = 0; n < 6; n++) for (let i = 0; i < 4; i++) s += y.data[(n * 3 + c) * 4 + i];
      expect(Math.abs(s / 24)).toBeLessThan(1e-5);
    }
  });

  it('validates options and input', () => {
    expect(() => new BatchNorm2d(0)).toThrow(
      'BatchNorm2d: numFeatures must be a positive integer, got 0',
    );
    expect(() => new BatchNorm2d(3, { momentum: 1.5 })).toThrow(
      'BatchNorm2d: momentum must be a number in [0, 1] or null, got 1.5',
    );
    expect(() => new BatchNorm2d(3, { eps: 0 })).toThrow(
      'BatchNorm2d: eps must be a positive number, got 0',
    );
    expect(() => new BatchNorm1d(3, { affine: 1 } as object)).toThrow(
      'BatchNorm1d: affine must be a boolean, got 1',
    );
    expect(() => new BatchNorm2d(16).call(randn([8, 3, 4, 4]))).toThrow(
      'BatchNorm2d(16): expected input with 16 channels, got shape [8,3,4,4]',
    );
    expect(() => new BatchNorm2d(3).call(randn([8, 3]))).toThrow(
      'BatchNorm2d(3): expected 4-D NCHW input, got shape [8,3]',
    );
    expect(() => new BatchNorm1d(3).call(randn([8, 3, 2, 2]))).toThrow(
      'BatchNorm1d(3): expected 2-D [N, C] or 3-D [N, C, L] input, got shape [8,3,2,2]',
    );
  });
});

describe('Dropout, Flatten, activations', () => {
  it('Dropout drops in training and passes through in eval', () => {
    const d = new Dropout(0.5, { generator: new Generator(1) });
    const x = rand([50, 20], { low: 1, high: 2 });
    const y = d.call(x);
    const zerosCount = Array.from(y.data).filter((v) => v === 0).length;
    expect(zerosCount).toBeGreaterThan(400);
    expect(zerosCount).toBeLessThan(600);
    d.eval();
    expect(d.call(x)).toBe(x);
    expect(() => new Dropout(1)).toThrow('Dropout: p must be a probability in [0, 1), got 1');
    expect(new Dropout(0.25).toString()).toBe('Dropout(p=0.25)');
  });

  it('Flatten keeps the batch dimension by default and honours endDim', () => {
    const x = randn([2, 3, 4, 5], { requiresGrad: true });
    expect(new Flatten().call(x).shape).toEqual([2, 60]);
    expect(new Flatten(1, 2).call(x).shape).toEqual([2, 12, 5]);
    expect(new Flatten(0).call(x).shape).toEqual([120]);
    expect(() => new Flatten(2, 1)).toThrow('Flatten: startDim (2) must not come after endDim (1)');
    expect(() => new Flatten(3).call(randn([2, 3]))).toThrow(
      'Flatten(startDim=3, endDim=-1): cannot flatten input of shape [2,3]',
    );
    const y = new Flatten().call(x);
    y.backward(new Float32Array(120).fill(2));
    expect(Array.from(x.grad!.data).every((v) => v === 2)).toBe(true);
  });

  it('activation layers compute their functions', () => {
    const x = randn([3, 4], { generator: new Generator(2) });
    const xs = Array.from(x.data);
    expectClose(
      new ReLU().call(x).data,
      xs.map((v) => Math.max(0, v)),
      0,
      0,
      'ReLU',
    );
    expect(Array.from(new LeakyReLU(0.2).call(x).data)).toEqual(Array.from(leakyRelu(x, 0.2).data));
    expectClose(
      new Sigmoid().call(x).data,
      xs.map((v) => 1 / (1 + Math.exp(-v))),
      1e-5,
      1e-6,
      'Sigmoid',
    );
    expectClose(new Tanh().call(x).data, xs.map(Math.tanh), 1e-5, 1e-6, 'Tanh');
    expect(new Identity().call(x)).toBe(x);
    expect(Array.from(new Softmax(0).call(x).data)).toEqual(Array.from(softmax(x, 0).data));
    expect(Array.from(new LogSoftmax().call(x).data)).toEqual(Array.from(logSoftmax(x, -1).data));
    expect(new LeakyReLU().toString()).toBe('LeakyReLU(negativeSlope=0.01)');
    expect(() => new LeakyReLU(Infinity)).toThrow(
      'LeakyReLU: negativeSlope must be a finite number, got Infinity',
    );
    expect(() => new Softmax(0.5)).toThrow('Softmax: axis must be an integer, got 0.5');
    expect(() => new ReLU().call([1, 2] as unknown as Tensor)).toThrow(
      'ReLU: input must be a Tensor, got object',
    );
  });
});

describe('loss modules', () => {
  const x = randn([4, 3], { generator: new Generator(3) });
  const t = labels([0, 2, 1, 2]);
  it('equal their functional forms and keep weights as torch-named buffers', () => {
    const weight = tensor([1, 2, 0.5]);
    const ce = new CrossEntropyLoss({ weight, labelSmoothing: 0.1, ignoreIndex: 1 });
    expect(ce.call(x, t).item()).toBeCloseTo(
      crossEntropy(x, t, { weight, labelSmoothing: 0.1, ignoreIndex: 1 }).item(),
      6,
    );
    expect(Object.keys(ce.stateDict())).toEqual(['weight']);
    expect(Object.keys(new CrossEntropyLoss().stateDict())).toEqual([]);
    expect(new NLLLoss({ reduction: 'sum' }).call(logSoftmax(x), t).item()).toBeCloseTo(
      nllLoss(logSoftmax(x), t, { reduction: 'sum' }).item(),
      6,
    );
    const y = randn([4, 3], { generator: new Generator(4) });
    expect(new MSELoss().call(x, y).item()).toBeCloseTo(mseLoss(x, y).item(), 6);
    expect(Array.from(new L1Loss({ reduction: 'none' }).call(x, y).data)).toEqual(
      Array.from(l1Loss(x, y, { reduction: 'none' }).data),
    );
    const bce = new BCEWithLogitsLoss({ posWeight: tensor([1, 2, 3]) });
    const p = rand([4, 3], { generator: new Generator(5) });
    expect(bce.call(x, p).item()).toBeCloseTo(
      binaryCrossEntropyWithLogits(x, p, { posWeight: tensor([1, 2, 3]) }).item(),
      6,
    );
    expect(Object.keys(bce.stateDict())).toEqual(['pos_weight']);
    expect(ce.toString()).toBe("CrossEntropyLoss(reduction='mean', labelSmoothing=0.1)");
  });

  it('validate their options', () => {
    expect(() => new CrossEntropyLoss({ reduction: 'avg' as 'mean' })).toThrow(
      `CrossEntropyLoss: reduction must be 'mean', 'sum' or 'none', got "avg"`,
    );
    expect(() => new CrossEntropyLoss({ labelSmoothing: -0.1 })).toThrow(
      'CrossEntropyLoss: labelSmoothing must be a number in [0, 1], got -0.1',
    );
    expect(() => new CrossEntropyLoss({ weight: labels([1, 2]) })).toThrow(
      'CrossEntropyLoss: weight must be a float32 Tensor, got int32',
    );
    expect(() => new NLLLoss({ ignoreIndex: 0.5 })).toThrow(
      'NLLLoss: ignoreIndex must be an integer, got 0.5',
    );
    expect(() => new MSELoss({ reduce: true } as object)).toThrow(
      "MSELoss: unknown option 'reduce' (known options: reduction)",
    );
  });
});

describe('Sequential and ModuleList', () => {
  it('Sequential chains, indexes, grows and iterates', () => {
    const a = new Linear(4, 3);
    const seq = new Sequential(a, new ReLU());
    expect(seq[0]).toBe(a);
    expect(seq.at(-1)).toBeInstanceOf(ReLU);
    expect(seq.length).toBe(2);
    seq.add(new Linear(3, 2)).add(new Sigmoid(), 'out');
    expect(seq.length).toBe(4);
    expect([...seq].map((m) => m.typeName)).toEqual(['Linear', 'ReLU', 'Linear', 'Sigmoid']);
    expect(seq.namedParameters().map(([n]) => n)).toEqual([
      '0.weight',
      '0.bias',
      '2.weight',
      '2.bias',
    ]);
    const y = seq.call(randn([5, 4]));
    expect(y.shape).toEqual([5, 2]);
    expect(Array.from(y.data).every((v) => v > 0 && v < 1)).toBe(true);
    expect(() => seq.at(4)).toThrow('Sequential.at: index must be an integer in [-4, 3], got 4');
    expect(() => seq.add(new ReLU(), 'out')).toThrow(
      "Sequential.add: a child named 'out' already exists",
    );
    expect(() => new Sequential(new ReLU(), 3 as unknown as ReLU)).toThrow(
      'Sequential: argument 1 must be a Module, got number',
    );
  });

  it('Sequential takes named children from an object or Map', () => {
    const seq = new Sequential(
      new Map<string, Linear | ReLU>([
        ['fc', new Linear(2, 2)],
        ['act', new ReLU()],
      ]),
    );
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['fc.weight', 'fc.bias']);
    const obj = new Sequential({ conv: new Conv2d(1, 2, 3), pool: new MaxPool2d(2) });
    expect(obj.namedChildren().map(([n]) => n)).toEqual(['conv', 'pool']);
  });

  it('ModuleList registers its items and has no forward', () => {
    const list = new ModuleList([new Linear(2, 2), new Linear(2, 2)]);
    list.push(new Linear(2, 1));
    expect(list.namedParameters().map(([n]) => n)).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '2.weight',
      '2.bias',
    ]);
    expect(list.length).toBe(3);
    expect(() => (list.call as (...a: Tensor[]) => Tensor)(randn([1, 2]))).toThrow(
      'ModuleList: has no forward()',
    );
  });
});
