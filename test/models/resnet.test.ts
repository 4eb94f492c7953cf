import { describe, expect, it } from 'vitest';
import { noGrad } from '../../lib/autograd/engine.js';
import { Conv2d } from '../../lib/nn/conv.js';
import { BatchNorm2d } from '../../lib/nn/normalization.js';
import { countMacs } from '../../lib/models/flops.js';
import { createModel, zooEntries } from '../../lib/models/registry.js';
import { Bottleneck } from '../../lib/models/resnet-blocks.js';
import { ResNet, resnet18, resnet50, resnetStats } from '../../lib/models/resnet.js';
import { manualSeed } from '../../lib/random.js';
import { randn } from '../../lib/tensor.js';

describe('ResNet (torchvision layout)', () => {
  const r18 = resnet18({ numClasses: 10 });

  it('has torchvision state-dict names', () => {
    const keys = Object.keys(r18.stateDict());
    // 20 convolutions (17 + 3 projections), 20 batch norms with 5 entries each, fc weight and bias.
    expect(keys.length).toBe(20 + 20 * 5 + 2);
    expect(keys.slice(0, 6)).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
      'bn1.num_batches_tracked',
    ]);
    expect(keys).toEqual(
      expect.arrayContaining([
        'layer1.0.conv1.weight',
        'layer1.1.bn2.running_var',
        'layer2.0.downsample.0.weight',
        'layer2.0.downsample.1.running_mean',
        'layer4.1.conv2.weight',
        'fc.weight',
        'fc.bias',
      ]),
    );
    expect(keys.some((k) => k.startsWith('layer1.0.downsample'))).toBe(false);
    expect(r18.layer1.numParameters()).toBe(4 * (64 * 64 * 9 + 128));
    expect(r18.fc.weight.shape).toEqual([10, 512]);
  });

  it("ResNet-50 has 320 state-dict entries, with a projection in every stage's first block", () => {
    const m = resnet50({ numClasses: 2 });
    const keys = Object.keys(m.stateDict());
    // 53 convolutions, 53 batch norms, fc.
    expect(keys.length).toBe(53 + 53 * 5 + 2);
    for (const s of [1, 2, 3, 4]) expect(keys).toContain(`layer${s}.0.downsample.1.running_var`);
    expect(keys).toContain('layer3.5.conv3.weight');
    expect((m.layer2.at(0) as Bottleneck).conv2.stride).toEqual([2, 2]); // ResNet v1.5: stride on the 3x3
    expect((m.layer2.at(0) as Bottleneck).conv1.stride).toEqual([1, 1]);
  });

  it('maps inputs of several sizes to [N, numClasses]', () => {
    noGrad(() => {
      r18.eval();
      for (const hw of [32, 45, 64]) expect(r18.call(randn([2, 3, hw, hw])).shape).toEqual([2, 10]);
      expect(r18.call(randn([1, 3, 40, 24])).shape).toEqual([1, 10]);
      r18.train();
      const cifar = resnet18({ stem: 'cifar', inChannels: 1, numClasses: 7 });
      expect(cifar.maxpool).toBeNull();
      expect(cifar.conv1.weight.shape).toEqual([64, 1, 3, 3]);
      for (const hw of [28, 32]) expect(cifar.call(randn([2, 1, hw, hw])).shape).toEqual([2, 7]);
    });
  });

  it('stem: imagenet divides the resolution by 32, cifar by 8', () => {
    const seen: (readonly number[])[] = [];
    const m = resnet18({ stem: 'cifar', numClasses: 3 });
    m.layer4.registerForwardHook((_, __, out) => seen.push(out.shape));
    r18.layer4.registerForwardHook((_, __, out) => seen.push(out.shape));
    noGrad(() => {
      m.call(randn([2, 3, 32, 32]));
      r18.call(randn([2, 3, 64, 64]));
    });
    expect(seen).toEqual([
      [2, 512, 4, 4],
      [2, 512, 2, 2],
    ]);
  });

  it('initialises as torchvision: Kaiming-normal fan-out convolutions, batch norm 1 and 0', () => {
    manualSeed(0);
    const m = new ResNet({ block: 'bottleneck', layers: [1, 1, 2, 1], numClasses: 10 });
    const w = (m.layer3.at(1) as Bottleneck).conv2.weight; // [256, 256, 3, 3]: fan-out 256 * 9
    let s2 = 0;
    let s1 = 0;
    for (const v of w.data) {
      s1 += v;
      s2 += v * v;
    }
    const std = Math.sqrt(s2 / w.size - (s1 / w.size) ** 2);
    expect(std).toBeGreaterThan(Math.sqrt(2 / (256 * 9)) * 0.98);
    expect(std).toBeLessThan(Math.sqrt(2 / (256 * 9)) * 1.02);
    for (const mod of m.modules()) {
      if (mod instanceof BatchNorm2d) {
        expect(Array.from(mod.weight!.data).every((v) => v === 1)).toBe(true);
        expect(Array.from(mod.bias!.data).every((v) => v === 0)).toBe(true);
      }
    }
    const z = new ResNet({
      block: 'bottleneck',
      layers: [2, 1, 1, 1],
      numClasses: 10,
      zeroInitResidual: true,
    });
    for (const b of z.layer1)
      expect(Array.from((b as Bottleneck).bn3.weight!.data).every((v) => v === 0)).toBe(true);
    expect(Array.from((z.layer1.at(0) as Bottleneck).bn2.weight!.data).every((v) => v === 1)).toBe(
      true,
    );
  });

  it('resnetStats tallies what the built model holds and computes', () => {
    const configs = [
      { block: 'basic' as const, layers: [1, 2, 1, 1], numClasses: 5 },
      {
        block: 'bottleneck' as const,
        layers: [1, 1, 2, 1],
        groups: 4,
        widthPerGroup: 8,
        stem: 'cifar' as const,
        numClasses: 3,
        inChannels: 2,
      },
    ];
    for (const cfg of configs) {
      const m = new ResNet(cfg);
      for (const shape of [
        [cfg.inChannels ?? 3, 32, 32],
        [cfg.inChannels ?? 3, 37, 29],
      ]) {
        const s = resnetStats(cfg, shape);
        expect(s.params).toBe(m.numParameters());
        expect(s.macs).toBe(countMacs(m, shape));
      }
    }
  });

  it('checks its options', () => {
    expect(() => resnet18({ stem: 'tiny' as never })).toThrow(
      /resnet18: stem must be one of imagenet, cifar, got "tiny"/,
    );
    expect(() => resnet50({ numClasses: 0 })).toThrow(
      /resnet50: numClasses must be a positive integer, got 0/,
    );
    expect(() => resnet18({ groups: 2 } as never)).toThrow(
      /resnet18: unknown option\(s\) groups; known: numClasses, inChannels, stem, zeroInitResidual/,
    );
    expect(() => new ResNet({ block: 'basic', layers: [2, 2, 2] })).toThrow(
      /ResNet: layers must be 4 positive integers/,
    );
    expect(() => new ResNet({ block: 'basic', layers: [1, 1, 1, 1], groups: 2 })).toThrow(
      /ResNet: basic blocks support only groups 1/,
    );
    expect(() => r18.call(randn([1, 1, 32, 32]))).toThrow(
      /ResNet: expected 4-D NCHW input with 3 channels, got shape \[1,1,32,32\]/,
    );
  });

  it('is in the zoo under torchvision names, with options from JSON', () => {
    const names = zooEntries().map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'resnet18',
        'resnet200',
        'resnext50_32x4d',
        'resnext101_32x8d',
        'wide_resnet50_2',
        'densenet121',
        'resnet20',
        'resnet110',
      ]),
    );
    const m = createModel(
      'resnet18',
      JSON.parse('{"stem":"cifar","inChannels":1,"numClasses":10}') as Record<string, unknown>,
    );
    expect(m).toBeInstanceOf(ResNet);
    expect((m as ResNet).conv1).toBeInstanceOf(Conv2d);
    expect((m as ResNet).conv1.weight.shape).toEqual([64, 1, 3, 3]);
    expect(() => createModel('wide_resnet50_2', { depth: 3 })).toThrow(
      /wide_resnet50_2: unknown option\(s\) depth/,
    );
  });
});
