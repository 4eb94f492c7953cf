import { describe, expect, it } from 'vitest';
import { noGrad } from '../../lib/autograd/engine.js';
import { sum } from '../../lib/functional/reduce.js';
import {
  CifarResNet,
  cifarResnet,
  cifarResnetStats,
  resnet110,
  resnet20,
  resnet32,
  resnet44,
  resnet56,
} from '../../lib/models/cifar-resnet.js';
import { countMacs } from '../../lib/models/flops.js';
import { createModel } from '../../lib/models/registry.js';
import { BasicBlock, PreActBasicBlock, ZeroPadShortcut } from '../../lib/models/resnet-blocks.js';
import { manualSeed } from '../../lib/random.js';
import { randn } from '../../lib/tensor.js';
import { BACKENDS, useBackend } from '../functional/backends.js';

/** He et al.'s CIFAR ResNet with option-A shortcuts, counted by hand: n blocks per stage. */
function optionAParams(n: number, classes = 10, inChannels = 3): number {
  const conv = (i: number, o: number): number => i * o * 9;
  const stage = (i: number, o: number): number =>
    conv(i, o) + conv(o, o) + 4 * o + (n - 1) * (2 * conv(o, o) + 4 * o);
  return (
    conv(inChannels, 16) +
    32 +
    stage(16, 16) +
    stage(16, 32) +
    stage(32, 64) +
    64 * classes +
    classes
  );
}

describe('CIFAR ResNets (He et al. 2015)', () => {
  it('ResNet-20 has 269,722 parameters with option A (0.27M, as in the paper) and 272,474 with option B', () => {
    expect(optionAParams(3)).toBe(269_722);
    expect(resnet20().numParameters()).toBe(269_722);
    // Option B adds the two projections (1x1 conv + batch norm) at the stage transitions.
    expect(resnet20({ shortcut: 'B' }).numParameters()).toBe(
      269_722 + (16 * 32 + 64) + (32 * 64 + 128),
    );
    expect(resnet20({ inChannels: 1 }).numParameters()).toBe(optionAParams(3, 10, 1));
  });

  it('ResNet-32/44/56/110 have n = 5, 7, 9, 18 blocks per stage', () => {
    const cases: [() => CifarResNet, number][] = [
      [resnet32, 5],
      [resnet44, 7],
      [resnet56, 9],
      [resnet110, 18],
    ];
    for (const [build, n] of cases) {
      const m = build();
      expect(m.layer2.length).toBe(n);
      expect(m.numParameters()).toBe(optionAParams(n));
    }
    expect(resnet110().numParameters()).toBe(1_727_962); // the paper's "1.7M"
  });

  it('uses zero-pad shortcuts at the stage transitions with option A, projections with B', () => {
    const a = resnet20();
    expect((a.layer2.at(0) as BasicBlock).downsample).toBeInstanceOf(ZeroPadShortcut);
    expect((a.layer2.at(1) as BasicBlock).downsample).toBeNull();
    expect((a.layer1.at(0) as BasicBlock).downsample).toBeNull();
    const b = resnet20({ shortcut: 'B' });
    expect(Object.keys(b.stateDict())).toEqual(
      expect.arrayContaining(['layer2.0.downsample.0.weight', 'layer3.0.downsample.1.running_var']),
    );
  });

  it('maps 28x28 and 32x32 images to [N, numClasses] through 32, 16 and 8 (or 28, 14, 7) pixels', () => {
    const m = resnet20({ inChannels: 1, width: 4 });
    const seen: (readonly number[])[] = [];
    for (const s of [m.layer1, m.layer2, m.layer3])
      s.registerForwardHook((_, __, out) => seen.push(out.shape));
    noGrad(() => {
      expect(m.call(randn([2, 1, 28, 28])).shape).toEqual([2, 10]);
      expect(m.call(randn([3, 1, 32, 32])).shape).toEqual([3, 10]);
    });
    expect(seen).toEqual([
      [2, 4, 28, 28],
      [2, 8, 14, 14],
      [2, 16, 7, 7],
      [3, 4, 32, 32],
      [3, 8, 16, 16],
      [3, 16, 8, 8],
    ]);
  });

  it('plain: the same layers without skip connections (and, with option A, the same parameters)', () => {
    const plain = resnet20({ plain: true });
    expect(plain.numParameters()).toBe(269_722);
    for (const s of [plain.layer1, plain.layer2, plain.layer3]) {
      for (const b of s) expect((b as BasicBlock).residual).toBe(false);
    }
  });

  it('preact: pre-activation blocks, a bare stem and a final batch norm', () => {
    const m = resnet20({ preact: true, width: 4 });
    expect(m.bn1).toBeNull();
    expect(m.bn_final).not.toBeNull();
    expect(m.layer1.at(0)).toBeInstanceOf(PreActBasicBlock);
    expect(m.call(randn([2, 3, 8, 8])).shape).toEqual([2, 10]);
  });

  it('cifarResnetStats tallies what the built model holds and computes', () => {
    const variants = [
      {},
      { shortcut: 'B' as const, width: 4 },
      { preact: true, shortcut: 'B' as const, width: 4, inChannels: 1 },
      { plain: true, numClasses: 3, width: 2 },
    ];
    for (const opts of variants) {
      const m = cifarResnet(14, opts);
      const shape = [opts.inChannels ?? 3, 28, 28];
      const s = cifarResnetStats(14, opts, shape);
      expect(s.params).toBe(m.numParameters());
      expect(s.macs).toBe(countMacs(m, shape));
    }
    // ResNet-20 at 32x32: 40.6 million multiply-adds, the paper's "41 million FLOPs".
    expect(cifarResnetStats(20, {}, [3, 32, 32]).macs).toBe(40_551_040);
  });

  it('checks its options', () => {
    expect(() => cifarResnet(21)).toThrow(
      /cifarResnet: depth must be 6n \+ 2 for a positive integer n \(20, 32, 44, 56, 110, \.\.\.\), got 21/,
    );
    expect(() => resnet20({ shortcut: 'C' as never })).toThrow(
      /resnet20: shortcut must be one of A, B, got "C"/,
    );
    expect(() => resnet56({ stem: 'cifar' } as never)).toThrow(
      /resnet56: unknown option\(s\) stem/,
    );
    expect(() => resnet20({ plain: 1 } as never)).toThrow(
      /resnet20: plain must be a boolean, got 1/,
    );
    expect(() => createModel('resnet44', { width: 0 })).toThrow(
      /resnet44: width must be a positive integer, got 0/,
    );
  });
});

describe.each(BACKENDS)('CIFAR ResNets on the %s backend', (backend) => {
  useBackend(backend);

  it('every depth runs forward and backward at 1x16x16, and every parameter gets a gradient', () => {
    for (const depth of [20, 32, 44, 56, 110]) {
      manualSeed(depth);
      const m = createModel(`resnet${depth}`, { inChannels: 1, width: depth > 56 ? 4 : 8 });
      const y = m.call(randn([2, 1, 16, 16]));
      expect(y.shape).toEqual([2, 10]);
      sum(y).backward();
      for (const [name, p] of m.namedParameters()) {
        expect(p.grad, name).not.toBeNull();
        expect(p.grad!.data.every(Number.isFinite), name).toBe(true);
      }
      // The first convolution's gradient is far from zero: the skips carry it down 110 layers.
      const g = m.namedParameters().find(([n]) => n === 'conv1.weight')![1].grad!;
      expect(Math.max(...Array.from(g.data, Math.abs))).toBeGreaterThan(1e-4);
    }
  });
});
