/**
 * Why residual networks: the same 56-layer network (He et al.'s CIFAR ResNet-56, 4/8/16 channels)
 * with and without its skip connections, trained the same way for the same 100 steps on the
 * bundled Fashion-MNIST subset. With batch norm, the plain network's gradient does not vanish at
 * the first layer; it does something as fatal: it is hundreds of times larger there than at the
 * classifier (Balduzzi et al. 2017's "shattered gradients"), so no single learning rate suits both
 * ends, and the network barely learns. The skips keep the gradient the same size from the last
 * layer to the first, and the residual network learns.
 */
import { describe, expect, it } from 'vitest';
import { noGrad } from '../../lib/autograd/engine.js';
import { setBackend } from '../../lib/backend/index.js';
import { datasets } from '../../lib/data/datasets.js';
import { DataLoader } from '../../lib/data/loader.js';
import { crossEntropy } from '../../lib/functional/loss.js';
import { avgPool2d } from '../../lib/functional/pooling.js';
import { cifarResnet } from '../../lib/models/cifar-resnet.js';
import { SGD } from '../../lib/optim/sgd.js';
import { manualSeed } from '../../lib/random.js';
import type { Tensor } from '../../lib/tensor.js';
import { BACKENDS } from '../functional/backends.js';

const STEPS = 100;

function norm(t: Tensor): number {
  let s = 0;
  for (const v of t.grad!.data) s += v * v;
  return Math.sqrt(s);
}

interface Outcome {
  accuracy: number;
  /** |dL/d conv1.weight| / |dL/d fc.weight| at the first step. */
  firstToLastGradient: number;
}

function trainAndTest(plain: boolean): Outcome {
  manualSeed(1);
  const model = cifarResnet(56, { inChannels: 1, width: 4, plain });
  const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const train = datasets.fashionMnistSubset({ split: 'train' });
  const test = datasets.fashionMnistSubset({ split: 'test' });
  // 14x14 images: a quarter of the work, and the story is the same.
  const shrink = (x: Tensor): Tensor => noGrad(() => avgPool2d(x, 2));
  const loader = new DataLoader(train, { batchSize: 32, shuffle: true, seed: 1 });
  let firstToLastGradient = NaN;
  let step = 0;
  while (step < STEPS) {
    for (const batch of loader) {
      optimizer.zeroGrad();
      crossEntropy(model.call(shrink(batch.inputs)), batch.targets).backward();
      if (step === 0) firstToLastGradient = norm(model.conv1.weight) / norm(model.fc.weight);
      optimizer.step();
      if (++step === STEPS) break;
    }
  }
  model.eval();
  const logits = noGrad(() => model.call(shrink(test.inputs)));
  let correct = 0;
  for (let i = 0; i < test.length; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (logits.data[i * 10 + k] > logits.data[i * 10 + best]) best = k;
    if (best === test.targets.data[i]) correct++;
  }
  return { accuracy: correct / test.length, firstToLastGradient };
}

// About 10 s on the native backend; the TypeScript kernels take a minute, so the check runs where
// the native addon is available (the two backends are checked against each other elsewhere).
describe.skipIf(!BACKENDS.includes('native'))(
  'skip connections make a deep network trainable',
  () => {
    it('ResNet-56 learns Fashion-MNIST in 100 steps; the same network without skips does not', () => {
      setBackend('native');
      const residual = trainAndTest(false);
      const plain = trainAndTest(true);
      // Measured: residual 66%, plain 17% (seeds 2-4: 59-61% against 10-22%). Chance is 10%.
      expect(residual.accuracy).toBeGreaterThan(0.5);
      expect(plain.accuracy).toBeLessThan(0.35);
      expect(residual.accuracy - plain.accuracy).toBeGreaterThan(0.25);
      // Measured: residual 1.0 (0.3-1.0 over seeds), plain about 1,200 (400-1,600).
      expect(residual.firstToLastGradient).toBeLessThan(5);
      expect(plain.firstToLastGradient).toBeGreaterThan(100);
    });
  },
);
