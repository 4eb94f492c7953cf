import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, loadModel, saveCheckpoint, saveModel } from '../../lib/io/model-file.js';
import { loadSafetensors } from '../../lib/io/safetensors.js';
import { createModel } from '../../lib/models/registry.js';
import { lenet5 } from '../../lib/models/lenet.js';
import { Adam } from '../../lib/optim/adam.js';
import { manualSeed } from '../../lib/random.js';
import { randn } from '../../lib/tensor.js';
import { crossEntropy } from '../../lib/functional/loss.js';
import { tensor } from '../../lib/tensor.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-model-file-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('model files', () => {
  it('round-trips a zoo model with its architecture', () => {
    manualSeed(1);
    const model = createModel('simple-cnn', { width: 6, hidden: 20, activation: 'tanh' });
    const file = path.join(dir, 'm.safetensors');
    saveModel(file, model);
    const loaded = loadModel(file);
    const x = randn([2, 1, 28, 28]);
    model.eval();
    loaded.eval();
    expect(Array.from(loaded.call(x).data)).toEqual(Array.from(model.call(x).data));
    // Weights are stored under their state-dict names, readable by any safetensors reader.
    const raw = loadSafetensors(file);
    expect([...raw.tensors.keys()].sort()).toEqual(Object.keys(model.stateDict()).sort());
    expect(JSON.parse(raw.metadata['convnet.architecture'])).toEqual({
      name: 'simple-cnn',
      options: { width: 6, hidden: 20, activation: 'tanh' },
    });
  });

  it('a model built by hand loads with { into } and a clear error without', () => {
    const model = lenet5();
    const file = path.join(dir, 'hand.safetensors');
    saveModel(file, model);
    expect(() => loadModel(file)).toThrow(/records no architecture.*pass it as \{ into: model \}/);
    const other = lenet5();
    loadModel(file, { into: other });
    expect(Array.from(other.stateDict()['0.weight'].data)).toEqual(
      Array.from(model.stateDict()['0.weight'].data),
    );
  });

  it('checkpoints carry optimizer state and the epoch', () => {
    manualSeed(2);
    const model = createModel('lenet5');
    const opt = new Adam(model.parameters(), { lr: 0.01 });
    const x = randn([4, 1, 28, 28]);
    const y = tensor([1, 2, 3, 4], [4], { dtype: 'int32' });
    crossEntropy(model.call(x), y).backward();
    opt.step();
    const file = path.join(dir, 'ck.safetensors');
    saveCheckpoint(file, model, { optimizer: opt, epoch: 3, extra: { note: 'hi' } });
    const ck = loadCheckpoint(file);
    expect(ck.epoch).toBe(3);
    expect(ck.extra).toEqual({ note: 'hi' });
    const opt2 = new Adam(createModel('lenet5').parameters(), { lr: 0.5 });
    opt2.loadStateDict(ck.optimizerState);
    expect(opt2.paramGroups[0].lr).toBe(0.01);
    const a = opt.stateDict();
    const b = opt2.stateDict();
    expect(Array.from(b.state['0'].expAvg as Float32Array)).toEqual(
      Array.from(a.state['0'].expAvg as Float32Array),
    );
    expect(b.state['0'].step).toBe(a.state['0'].step);
    expect(() => loadCheckpoint(path.join(dir, 'hand.safetensors'))).toThrow(
      /is a model file, not a checkpoint/,
    );
  });

  it('a failed write leaves the previous file intact', () => {
    const model = createModel('lenet5');
    const file = path.join(dir, 'keep.safetensors');
    saveModel(file, model);
    const before = fs.readFileSync(file);
    expect(() =>
      saveCheckpoint(file, model, {
        optimizer: {
          stateDict: () => {
            throw new Error('boom');
          },
        } as never,
        epoch: 1,
      }),
    ).toThrow('boom');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});
