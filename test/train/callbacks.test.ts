import { describe, expect, it } from 'vitest';
import {
  EarlyStopping,
  ModelCheckpoint,
  type EpochLogs,
  type TrainContext,
} from '../../lib/train/callbacks.js';
import { Linear } from '../../lib/nn/linear.js';
import { SGD } from '../../lib/optim/sgd.js';

function fakeContext(): TrainContext {
  const model = new Linear(2, 1);
  return {
    model,
    optimizer: new SGD(model.parameters(), { lr: 0.1 }),
    epochs: 100,
    initialEpoch: 0,
    stepsPerEpoch: 1,
    samplesPerEpoch: 1,
    history: [],
    epoch: 0,
    stopTraining: false,
    stopReason: null,
  };
}

/** Feeds a scripted sequence of monitored values; returns the epoch at which training stopped. */
function runScript(cb: EarlyStopping, values: number[], key = 'valLoss'): number | null {
  const ctx = fakeContext();
  cb.onTrainBegin();
  for (let e = 0; e < values.length; e++) {
    ctx.epoch = e;
    cb.onEpochEnd(e, { epoch: e, [key]: values[e] } as EpochLogs, ctx);
    if (ctx.stopTraining) return e;
  }
  return null;
}

describe('earlyStopping', () => {
  it('stops after `patience` epochs without improvement', () => {
    // best at epoch 2 (0.5); epochs 3, 4 do not improve; patience 2 -> stop at epoch 5
    const cb = new EarlyStopping({ patience: 2 });
    expect(runScript(cb, [1, 0.8, 0.5, 0.6, 0.55, 0.7, 0.1])).toBe(5);
    expect(cb.bestEpoch).toBe(2);
    expect(cb.stoppedEpoch).toBe(5);
  });

  it('patience 0 stops at the first epoch without improvement', () => {
    expect(runScript(new EarlyStopping({ patience: 0 }), [1, 0.9, 0.95, 0.1])).toBe(2);
  });

  it('counts only improvements larger than minDelta', () => {
    // 1 -> 0.95 is an improvement of 0.05 < minDelta 0.1: no improvement at epochs 1, 2
    expect(runScript(new EarlyStopping({ patience: 1, minDelta: 0.1 }), [1, 0.95, 0.92, 0.5])).toBe(
      2,
    );
  });

  it('maximizes accuracy-like values in auto mode', () => {
    const cb = new EarlyStopping({ monitor: 'valAccuracy', patience: 1 });
    expect(runScript(cb, [0.5, 0.6, 0.7, 0.65, 0.69, 0.9], 'valAccuracy')).toBe(4);
    expect(cb.bestEpoch).toBe(2);
  });

  it('never stops while the value keeps improving', () => {
    expect(runScript(new EarlyStopping({ patience: 1 }), [5, 4, 3, 2, 1])).toBeNull();
  });

  it('restores the best weights at the end', () => {
    const cb = new EarlyStopping({ patience: 0, restoreBestWeights: true });
    const ctx = fakeContext();
    const w = ctx.model.parameters()[0].data as Float32Array;
    cb.onTrainBegin();
    w.fill(1);
    cb.onEpochEnd(0, { epoch: 0, valLoss: 0.5 } as EpochLogs, ctx);
    w.fill(7);
    cb.onEpochEnd(1, { epoch: 1, valLoss: 0.9 } as EpochLogs, ctx);
    expect(ctx.stopTraining).toBe(true);
    cb.onTrainEnd(ctx);
    expect(Array.from(ctx.model.parameters()[0].data)).toEqual([1, 1]);
  });

  it('names a missing monitored value and what is available', () => {
    const cb = new EarlyStopping({ monitor: 'valLoss' });
    cb.onTrainBegin();
    expect(() => cb.onEpochEnd(0, { epoch: 0, loss: 1 } as EpochLogs, fakeContext())).toThrow(
      /earlyStopping: monitored value 'valLoss' is not in the epoch logs; available: epoch, loss/,
    );
  });

  it('rejects bad options', () => {
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(
      /earlyStopping: patience must be a non-negative integer, got -1/,
    );
  });
});

describe('ModelCheckpoint', () => {
  it('with saveBestOnly writes only on improvement', async () => {
    const written: number[] = [];
    const cb = new ModelCheckpoint((_ctx, epoch) => void written.push(epoch), {
      saveBestOnly: true,
    });
    const ctx = fakeContext();
    const losses = [1, 0.7, 0.8, 0.6, 0.6];
    for (let e = 0; e < losses.length; e++)
      await cb.onEpochEnd(e, { epoch: e, valLoss: losses[e] } as EpochLogs, ctx);
    expect(written).toEqual([0, 1, 3]);
  });
});
