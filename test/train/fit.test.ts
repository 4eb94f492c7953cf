import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { setBackend } from '../../lib/backend/index.js';
import { Subset } from '../../lib/data/dataset.js';
import { datasets } from '../../lib/data/datasets.js';
import { DataLoader } from '../../lib/data/loader.js';
import { loadCheckpoint, saveCheckpoint } from '../../lib/io/model-file.js';
import { createModel } from '../../lib/models/registry.js';
import { Adam } from '../../lib/optim/adam.js';
import { SGD } from '../../lib/optim/sgd.js';
import { CosineAnnealingLR } from '../../lib/optim/scheduler.js';
import { defaultGenerator, manualSeed } from '../../lib/random.js';
import { evaluate, fit, predict } from '../../lib/train/fit.js';
import type { Callback } from '../../lib/train/callbacks.js';

const train = datasets.fashionMnistSubset({ split: 'train' });
const test = datasets.fashionMnistSubset({ split: 'test' });

function firstN(n: number): Subset {
  return new Subset(
    train,
    Int32Array.from({ length: n }, (_, i) => i),
  );
}

afterEach(() => setBackend('native'));

describe('fit on the bundled Fashion-MNIST subset', () => {
  it.each([
    ['native', 3000, 2],
    ['ts', 1280, 2],
  ] as const)('learns on the %s backend', async (backend, n, epochs) => {
    setBackend(backend);
    manualSeed(1);
    const model = createModel('simple-cnn', { width: 8, hidden: 32, dropout: 0 });
    const before = await evaluate(model, new DataLoader(test, { batchSize: 250 }));
    const result = await fit(model, {
      train: new DataLoader(firstN(n), { batchSize: 32, shuffle: true, seed: 1 }),
      epochs,
      optimizer: new Adam(model.parameters(), { lr: 3e-3 }),
    });
    const after = await evaluate(model, new DataLoader(test, { batchSize: 250 }));
    expect(result.history).toHaveLength(epochs);
    // An untrained 10-class model sits near 10%; a trained one is far above.
    expect(before.accuracy).toBeLessThan(0.25);
    expect(after.accuracy).toBeGreaterThan(backend === 'native' ? 0.7 : 0.55);
    expect(result.history[epochs - 1].loss).toBeLessThan(before.loss);
  });

  it('yields to the event loop between batches', async () => {
    manualSeed(2);
    const model = createModel('simple-cnn', { width: 4, hidden: 16 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    await fit(model, {
      train: new DataLoader(firstN(320), { batchSize: 32 }),
      epochs: 1,
      optimizer: new SGD(model.parameters(), { lr: 0.01 }),
    });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
  });

  it('stops after the current batch when the signal aborts, and reports where to resume', async () => {
    manualSeed(3);
    const model = createModel('simple-cnn', { width: 4, hidden: 16 });
    const ac = new AbortController();
    const stopAtBatch: Callback = { onBatchEnd: (b) => void (b === 4 && ac.abort()) };
    const r = await fit(model, {
      train: new DataLoader(firstN(320), { batchSize: 32 }),
      epochs: 3,
      optimizer: new SGD(model.parameters(), { lr: 0.01 }),
      callbacks: [stopAtBatch],
      signal: ac.signal,
    });
    expect(r.stopReason).toBe('aborted');
    expect(r.history).toHaveLength(0);
    expect(r.next).toEqual({ epoch: 0, batch: 5 });
  });

  it('resuming from a checkpoint gives the same weights as an uninterrupted run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-resume-'));
    const ckpt = path.join(dir, 'ck.safetensors');
    const run = async (opts: { stopAt?: { epoch: number; batch: number }; resume?: boolean }) => {
      manualSeed(4);
      const model = createModel('simple-cnn', { width: 4, hidden: 16, dropout: 0.3 });
      const optimizer = new SGD(model.parameters(), {
        lr: 0.05,
        momentum: 0.9,
        nesterov: true,
        weightDecay: 5e-4,
      });
      const scheduler = new CosineAnnealingLR(optimizer, { tMax: 3 });
      const loader = new DataLoader(firstN(256), { batchSize: 32, shuffle: true, seed: 9 });
      let initialEpoch = 0;
      let initialBatch = 0;
      if (opts.resume) {
        const ck = loadCheckpoint(ckpt);
        model.loadStateDict(Object.fromEntries(ck.weights));
        optimizer.loadStateDict(ck.optimizerState);
        scheduler.loadStateDict(ck.extra.scheduler as never);
        defaultGenerator.setState(ck.extra.rng as number[]);
        initialEpoch = ck.epoch;
        initialBatch = ck.extra.batch as number;
      }
      const ac = new AbortController();
      const stopper: Callback = {
        onBatchEnd: (b, _l, ctx) => {
          if (opts.stopAt && ctx.epoch === opts.stopAt.epoch && b === opts.stopAt.batch) ac.abort();
        },
      };
      const r = await fit(model, {
        train: loader,
        epochs: 3,
        optimizer,
        scheduler,
        callbacks: [stopper],
        initialEpoch,
        initialBatch,
        signal: ac.signal,
      });
      if (opts.stopAt) {
        saveCheckpoint(ckpt, model, {
          optimizer,
          epoch: r.next.epoch,
          extra: {
            batch: r.next.batch,
            rng: defaultGenerator.getState(),
            scheduler: scheduler.stateDict(),
          },
        });
      }
      return model;
    };
    const full = await run({});
    await run({ stopAt: { epoch: 1, batch: 3 } });
    const resumed = await run({ resume: true });
    const a = full.stateDict();
    const b = resumed.stateDict();
    for (const k of Object.keys(a)) expect(Array.from(b[k].data), k).toEqual(Array.from(a[k].data));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('predict batches and leaves the training mode as it was', () => {
    manualSeed(5);
    const model = createModel('simple-cnn', { width: 4, hidden: 16 });
    const x = test.inputs;
    const all = predict(model, x, { batchSize: 1000 });
    const batched = predict(model, x, { batchSize: 300 });
    expect(model.training).toBe(true);
    expect(batched.shape).toEqual([1000, 10]);
    expect(Array.from(batched.data)).toEqual(Array.from(all.data));
  });

  it('rejects bad options with clear errors', async () => {
    const model = createModel('lenet5');
    const optimizer = new SGD(model.parameters(), { lr: 0.1 });
    const trainLoader = new DataLoader(firstN(10));
    await expect(fit(model, { train: trainLoader, epochs: 0, optimizer })).rejects.toThrow(
      /fit: epochs must be a positive integer, got 0/,
    );
    await expect(fit(model, { train: 5 as never, epochs: 1, optimizer })).rejects.toThrow(
      /fit: train must be a DataLoader/,
    );
    expect(() => predict(model, x0(), { batchSize: 0 })).toThrow(
      /predict: batchSize must be a positive integer, got 0/,
    );
  });
});

function x0() {
  return test.inputs;
}
