/**
 * End-to-end learning with a hand-written SGD loop (the optimizers live in lib/optim): an MLP
 * learns XOR, and a small CNN memorises a fixed batch of random images, on both backends.
 */
import { describe, expect, it } from 'vitest';
import { noGrad } from '../../lib/autograd/engine.js';
import {
  BatchNorm2d,
  BCEWithLogitsLoss,
  Conv2d,
  CrossEntropyLoss,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
  Tanh,
  type Module,
} from '../../lib/nn/index.js';
import { Generator } from '../../lib/random.js';
import { randint, randn, tensor, type Tensor } from '../../lib/tensor.js';
import { BACKENDS, useBackend } from '../functional/backends.js';

/** Plain SGD with momentum on every parameter; gradients are cleared by the caller. */
function sgdStep(
  model: Module,
  velocity: Map<Tensor, Float32Array>,
  lr: number,
  momentum: number,
): void {
  for (const p of model.parameters()) {
    if (p.grad === null) continue;
    const g = p.grad.data;
    let v = velocity.get(p);
    if (v === undefined) {
      v = new Float32Array(p.size);
      velocity.set(p, v);
    }
    const d = p.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      v[i] = momentum * v[i] + g[i];
      d[i] -= lr * v[i];
    }
  }
}

function train(
  model: Module,
  loss: Module,
  x: Tensor,
  y: Tensor,
  steps: number,
  lr: number,
  momentum: number,
): number[] {
  const velocity = new Map<Tensor, Float32Array>();
  const history: number[] = [];
  for (let step = 0; step < steps; step++) {
    model.zeroGrad();
    const l = loss.call(model.call(x), y);
    history.push(l.item());
    l.backward();
    sgdStep(model, velocity, lr, momentum);
  }
  return history;
}

describe.each(BACKENDS)('learning on the %s backend', (backend) => {
  useBackend(backend);

  it('an MLP learns XOR', () => {
    const gen = new Generator(0);
    const model = new Sequential(
      new Linear(2, 8, { generator: gen }),
      new Tanh(),
      new Linear(8, 1, { generator: gen }),
    );
    const x = tensor([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    const y = tensor([[0], [1], [1], [0]]);
    const history = train(model, new BCEWithLogitsLoss(), x, y, 200, 0.5, 0.9);
    expect(history[0]).toBeGreaterThan(0.5);
    expect(history[history.length - 1]).toBeLessThan(0.01);
    const logits = noGrad(() => model.call(x));
    expect(Array.from(logits.data).map((v) => (v > 0 ? 1 : 0))).toEqual([0, 1, 1, 0]);
  });

  it('a small CNN overfits a fixed batch of 32 random images to near-zero loss', () => {
    const gen = new Generator(1);
    const x = randn([32, 1, 12, 12], { generator: gen });
    const y = randint(0, 4, [32], { generator: gen });
    const model = new Sequential(
      new Conv2d(1, 8, 3, { padding: 1, generator: gen }),
      new BatchNorm2d(8),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(8, 16, 3, { padding: 1, generator: gen }),
      new ReLU(),
      new MaxPool2d(2),
      new Flatten(),
      new Linear(16 * 3 * 3, 4, { generator: gen }),
    );
    const history = train(model, new CrossEntropyLoss(), x, y, 60, 0.05, 0.9);
    expect(history[0]).toBeGreaterThan(1);
    expect(history[history.length - 1]).toBeLessThan(0.01);
    model.eval();
    const pred = noGrad(() => model.call(x));
    let correct = 0;
    for (let n = 0; n < 32; n++) {
      let best = 0;
      for (let c = 1; c < 4; c++) if (pred.data[n * 4 + c] > pred.data[n * 4 + best]) best = c;
      if (best === y.data[n]) correct++;
    }
    expect(correct).toBe(32);
  });
});
