/**
 * Counts the multiply-adds of one forward pass per image (conv and linear layers, which dominate;
 * pooling, activations and normalization are not counted). FLOPs are reported as 2 per multiply-add.
 */
import { noGrad } from '../autograd/engine.js';
import { Conv2d } from '../nn/conv.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { zeros } from '../tensor.js';

export function countMacs(model: Module, inputShape: readonly number[]): number {
  let macs = 0;
  const removers = model.modules().map((m) =>
    m.registerForwardHook((mod, _inputs, out) => {
      if (mod instanceof Conv2d) {
        const perOutput = (mod.inChannels / mod.groups) * mod.kernelSize[0] * mod.kernelSize[1];
        macs += (out.size / out.shape[0]) * perOutput;
      } else if (mod instanceof Linear) {
        macs += (out.size / out.shape[0]) * mod.inFeatures;
      }
    }),
  );
  const wasTraining = model.training;
  try {
    model.eval();
    noGrad(() => model.call(zeros([1, ...inputShape])));
  } finally {
    model.train(wasTraining);
    for (const r of removers) r();
  }
  return macs;
}

export function countFlops(model: Module, inputShape: readonly number[]): number {
  return 2 * countMacs(model, inputShape);
}
