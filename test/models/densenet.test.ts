import { describe, expect, it } from 'vitest';
import { noGrad } from '../../lib/autograd/engine.js';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import { ReLU } from '../../lib/nn/activation.js';
import type { Module } from '../../lib/nn/module.js';
import { BatchNorm2d } from '../../lib/nn/normalization.js';
import { DenseBlock, DenseLayer, Transition } from '../../lib/models/densenet-blocks.js';
import { DenseNet, densenet121, densenetStats } from '../../lib/models/densenet.js';
import { countMacs } from '../../lib/models/flops.js';
import { manualSeed } from '../../lib/random.js';
import { randn, Tensor } from '../../lib/tensor.js';
import { expectClose, Rng } from '../helpers.js';
import { BACKENDS, useBackend } from '../functional/backends.js';

function input(shape: number[], seed: number): Tensor {
  const rng = new Rng(seed);
  return new Tensor(
    rng.array(
      shape.reduce((a, b) => a * b, 1),
      -1,
      1,
    ),
    shape,
  );
}

/** The smallest |x| that any ReLU of the module sees in one forward pass. */
function smallestReluInput(m: Module, run: () => unknown): number {
  let smallest = Infinity;
  const removers = m
    .modules()
    .filter((c) => c instanceof ReLU)
    .map((c) =>
      c.registerForwardHook((_, inputs) => {
        for (const v of inputs[0].data) smallest = Math.min(smallest, Math.abs(v));
      }),
    );
  try {
    noGrad(run);
  } finally {
    for (const r of removers) r();
  }
  return smallest;
}

function randomizeNorms(m: Module, r: Rng): void {
  for (const mod of m.modules()) {
    if (mod instanceof BatchNorm2d) {
      for (let i = 0; i < mod.numFeatures; i++) {
        (mod.weight as Tensor).data[i] = r.uniform(0.6, 1.4);
        (mod.bias as Tensor).data[i] = r.uniform(-0.3, 0.3);
      }
    }
  }
}

describe('DenseNet pieces', () => {
  it('DenseLayer concatenates its inputs and returns growthRate new channels', () => {
    const l = new DenseLayer(6, { growthRate: 3, bnSize: 2 });
    expect(l.conv1.weight.shape).toEqual([6, 6, 1, 1]);
    expect(l.conv2.weight.shape).toEqual([3, 6, 3, 3]);
    const a = randn([2, 4, 5, 5]);
    const b = randn([2, 2, 5, 5]);
    expect(l.call(a, b).shape).toEqual([2, 3, 5, 5]);
    expect(() => l.call(a)).toThrow(/DenseLayer\(6->3\): expected 6 input channels in all, got 4/);
  });

  it("DenseBlock passes its input through unchanged in the first channels, then each layer's features", () => {
    manualSeed(2);
    const blk = new DenseBlock(3, 4, { growthRate: 2, bnSize: 2 });
    expect(blk.outChannels).toBe(10);
    expect(blk.namedChildren().map(([n]) => n)).toEqual([
      'denselayer1',
      'denselayer2',
      'denselayer3',
    ]);
    const x = randn([2, 4, 3, 3]);
    const layerOuts: Tensor[] = [];
    for (const l of blk.children()) l.registerForwardHook((_, __, out) => layerOuts.push(out));
    const y = blk.call(x);
    expect(y.shape).toEqual([2, 10, 3, 3]);
    const parts = [x, ...layerOuts];
    for (let n = 0; n < 2; n++) {
      let c0 = 0;
      for (const p of parts) {
        const c = p.shape[1];
        const got = y.data.subarray((n * 10 + c0) * 9, (n * 10 + c0 + c) * 9);
        expect(Array.from(got)).toEqual(Array.from(p.data.subarray(n * c * 9, (n + 1) * c * 9)));
        c0 += c;
      }
    }
    // Layer i sees 4 + 2 (i - 1) channels.
    expect((blk.children()[2] as DenseLayer).norm1.numFeatures).toBe(8);
  });

  it('Transition compresses channels and halves the resolution', () => {
    const t = new Transition(8, 4);
    expect(t.call(randn([2, 8, 6, 7])).shape).toEqual([2, 4, 3, 3]);
    expect(t.namedParameters().map(([n]) => n)).toEqual([
      'norm.weight',
      'norm.bias',
      'conv.weight',
    ]);
  });

  it('checks its arguments', () => {
    expect(() => new DenseLayer(4, { growthRate: 0 })).toThrow(
      /DenseLayer: growthRate must be a positive integer, got 0/,
    );
    expect(() => new DenseLayer(4, { dropRate: 1 })).toThrow(
      /DenseLayer: dropRate must be a number in \[0, 1\), got 1/,
    );
    expect(() => new DenseBlock(0, 4)).toThrow(
      /DenseBlock: numLayers must be a positive integer, got 0/,
    );
    expect(() => new DenseLayer(4).call()).toThrow(
      /DenseLayer\(4->32\): expected at least one input tensor, got none/,
    );
    expect(() => densenet121({ zeroInitResidual: true } as never)).toThrow(
      /densenet121: unknown option\(s\) zeroInitResidual/,
    );
    expect(() => new DenseNet({ blockConfig: [] })).toThrow(
      /DenseNet: blockConfig must be a non-empty array of positive integers, got \[\]/,
    );
  });
});

describe('DenseNet (torchvision layout)', () => {
  it('has torchvision state-dict names', () => {
    const m = densenet121({ numClasses: 10 });
    const keys = Object.keys(m.stateDict());
    // 58 dense layers (2 convs, 2 norms each), 3 transitions (1 conv, 1 norm), conv0, norm0, norm5, classifier.
    const convs = 58 * 2 + 3 + 1;
    const norms = 58 * 2 + 3 + 2;
    expect(keys.length).toBe(convs + norms * 5 + 2);
    expect(keys.slice(0, 2)).toEqual(['features.conv0.weight', 'features.norm0.weight']);
    expect(keys).toEqual(
      expect.arrayContaining([
        'features.denseblock1.denselayer1.norm1.weight',
        'features.denseblock1.denselayer6.conv2.weight',
        'features.transition1.norm.running_mean',
        'features.transition1.conv.weight',
        'features.denseblock4.denselayer16.norm2.num_batches_tracked',
        'features.norm5.running_var',
        'classifier.weight',
        'classifier.bias',
      ]),
    );
    expect(m.classifier.weight.shape).toEqual([10, 1024]);
    expect(Array.from(m.classifier.bias!.data).every((v) => v === 0)).toBe(true);
    // Transition 1: 64 + 6 * 32 = 256 channels in, 128 out.
    expect(m.stateDict()['features.transition1.conv.weight'].shape).toEqual([128, 256, 1, 1]);
  });

  it('maps inputs of several sizes to [N, numClasses], with either stem', () => {
    const m = new DenseNet({
      growthRate: 4,
      blockConfig: [2, 2, 2],
      numInitFeatures: 8,
      numClasses: 5,
    });
    noGrad(() => {
      for (const hw of [32, 40, 57]) expect(m.call(randn([2, 3, hw, hw])).shape).toEqual([2, 5]);
    });
    const c = new DenseNet({
      growthRate: 4,
      blockConfig: [2, 2],
      numInitFeatures: 8,
      numClasses: 3,
      stem: 'cifar',
      inChannels: 1,
    });
    expect(c.features.namedChildren().map(([n]) => n)).toEqual([
      'conv0',
      'norm0',
      'relu0',
      'denseblock1',
      'transition1',
      'denseblock2',
      'norm5',
    ]);
    for (const hw of [28, 32]) expect(c.call(randn([2, 1, hw, hw])).shape).toEqual([2, 3]);
  });

  it('densenetStats tallies what the built model holds and computes', () => {
    const configs = [
      { growthRate: 4, blockConfig: [2, 3, 2], numInitFeatures: 8, bnSize: 2, numClasses: 5 },
      {
        growthRate: 3,
        blockConfig: [1, 2],
        numInitFeatures: 6,
        numClasses: 2,
        stem: 'cifar' as const,
        inChannels: 1,
      },
    ];
    for (const cfg of configs) {
      const m = new DenseNet(cfg);
      const c = cfg.inChannels ?? 3;
      for (const shape of [
        [c, 32, 32],
        [c, 29, 35],
      ]) {
        const s = densenetStats(cfg, shape);
        expect(s.params).toBe(m.numParameters());
        expect(s.macs).toBe(countMacs(m, shape));
      }
    }
  });
});

describe.each(BACKENDS)('DenseNet pieces on the %s backend', (backend) => {
  useBackend(backend);

  // As for the residual blocks: a seed whose ReLU inputs stay 0.01 away from the kink at 0.
  function checkedGradients(
    make: () => Module,
    shapes: number[][],
    run: (m: Module, xs: Tensor[]) => Tensor,
  ): void {
    for (let seed = 1; seed <= 200; seed++) {
      manualSeed(seed);
      const m = make();
      randomizeNorms(m, new Rng(seed));
      const xs = shapes.map((s, i) => input(s, seed * 10 + i));
      if (smallestReluInput(m, () => run(m, xs)) <= 0.01) continue;
      for (const x of xs) x.setRequiresGrad(true);
      const n = xs.length;
      expect(
        gradcheck((...ts) => run(m, ts.slice(0, n)), [...xs, ...m.parameters()], {
          eps: 1e-3,
          atol: 2e-3,
          rtol: 1e-2,
        }),
      ).toBe(true);
      return;
    }
    throw new Error('no seed keeps the ReLU inputs away from 0');
  }

  it('gradcheck: DenseLayer with two inputs', () => {
    checkedGradients(
      () => new DenseLayer(3, { growthRate: 2, bnSize: 1 }),
      [
        [2, 2, 3, 3],
        [2, 1, 3, 3],
      ],
      (m, xs) => (m as DenseLayer).call(...xs),
    );
  });

  it('gradcheck: DenseBlock', () => {
    checkedGradients(
      () => new DenseBlock(2, 2, { growthRate: 1, bnSize: 2 }),
      [[2, 2, 3, 3]],
      (m, xs) => (m as DenseBlock).call(xs[0]),
    );
  });

  it('gradcheck: Transition', () => {
    checkedGradients(
      () => new Transition(3, 2),
      [[2, 3, 4, 4]],
      (m, xs) => (m as Transition).call(xs[0]),
    );
  });

  it('dropRate drops new features only in training', () => {
    manualSeed(4);
    const l = new DenseLayer(2, { growthRate: 8, bnSize: 1, dropRate: 0.5 });
    const x = randn([2, 2, 4, 4]);
    const y = l.call(x);
    const zeros = Array.from(y.data).filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(y.size * 0.3);
    l.eval();
    const a = l.call(x);
    expectClose(l.call(x).data, a.data, 0, 0, 'eval is deterministic');
    expect(Array.from(a.data).filter((v) => v === 0).length).toBeLessThan(y.size * 0.05);
  });
});
