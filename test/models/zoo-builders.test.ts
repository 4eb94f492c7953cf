/**
 * Every ImageNet-scale builder of the zoo, built once each: torchvision's parameter count, the
 * analytic tally that `convnet models` shows, and a training-mode forward and backward pass.
 * Building draws every weight (88 million for ResNeXt-101), so this file takes a while.
 */
import { describe, expect, it } from 'vitest';
import { setBackend } from '../../lib/backend/index.js';
import { crossEntropy } from '../../lib/functional/loss.js';
import { countMacs } from '../../lib/models/flops.js';
import { createModel, zooEntries } from '../../lib/models/registry.js';
import type { Module } from '../../lib/nn/module.js';
import { manualSeed } from '../../lib/random.js';
import { randn, Tensor } from '../../lib/tensor.js';
import { BACKENDS } from '../functional/backends.js';

/** torchvision's counts (ImageNet stem, 1000 classes). */
const TORCHVISION_PARAMS: [string, number][] = [
  ['resnet18', 11_689_512],
  ['resnet34', 21_797_672],
  ['resnet50', 25_557_032],
  ['resnet101', 44_549_160],
  ['resnet152', 60_192_808],
  ['resnet200', 64_673_832],
  ['resnext50_32x4d', 25_028_904],
  ['resnext101_32x8d', 88_791_336],
  ['wide_resnet50_2', 68_883_240],
  ['densenet121', 7_978_856],
  ['densenet169', 14_149_480],
  ['densenet201', 20_013_928],
];

/** Small enough for the pure-TypeScript kernels too. */
const ON_TS = new Set(['resnet18', 'resnext50_32x4d', 'densenet121']);

function trainStep(model: Module, x: Tensor): void {
  model.zeroGrad();
  const y = model.call(x);
  expect(y.shape).toEqual([x.shape[0], 1000]);
  crossEntropy(
    y,
    new Tensor(
      Int32Array.from({ length: x.shape[0] }, (_, i) => (i * 7) % 1000),
      [x.shape[0]],
    ),
  ).backward();
  for (const [name, p] of model.namedParameters()) {
    if (p.grad === null || !p.grad.data.every(Number.isFinite))
      throw new Error(`${name}: no finite gradient`);
  }
}

describe('the ImageNet zoo', () => {
  it.each(TORCHVISION_PARAMS)(
    '%s: torchvision parameter count, tallies, forward and backward',
    (name, params) => {
      manualSeed(0);
      const model = createModel(name);
      expect(model.numParameters()).toBe(params);
      const entry = zooEntries().find((e) => e.name === name)!;
      expect(entry.inputShape!({})).toEqual([3, 224, 224]);
      expect(entry.stats!({}, [3, 224, 224]).params).toBe(params);
      setBackend(BACKENDS.includes('native') ? 'native' : 'ts');
      // The tally's multiply-adds against the forward hooks' (at 64x64, where the hooks are cheap).
      expect(entry.stats!({}, [3, 64, 64]).macs).toBe(countMacs(model, [3, 64, 64]));
      // Batch 2, so that batch norm has two values per channel where the map is down to 1x1.
      const x = randn([2, 3, 32, 32]);
      for (const backend of BACKENDS) {
        if (backend === 'ts' && !ON_TS.has(name)) continue;
        setBackend(backend);
        trainStep(model, x);
      }
    },
  );
});
