/**
 * The "done when": a LeNet-5 written with nn.Sequential, trained three steps with
 * optim.SGD({ momentum: 0.9, nesterov: true, weightDecay: 5e-4 }) under CosineAnnealingLR, gives
 * PyTorch's loss, gradients, updates and learning rates to within float32 rounding, on both
 * backends. The expectations come from test/fixtures/make_lenet_fixture.py (torch 1.13).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../../lib/functional/loss.js';
import { loadSafetensors } from '../../lib/io/safetensors.js';
import { lenet5 } from '../../lib/models/lenet.js';
import {
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
  type StateDict,
} from '../../lib/nn/index.js';
import { CosineAnnealingLR } from '../../lib/optim/scheduler.js';
import { SGD } from '../../lib/optim/sgd.js';
import type { Tensor } from '../../lib/tensor.js';
import { BACKENDS, useBackend } from '../functional/backends.js';
import { expectClose, maxAbs } from '../helpers.js';

const STEPS = 3;
const fixture = loadSafetensors(
  new URL('../fixtures/lenet_sgd_fixture.safetensors', import.meta.url).pathname,
);
const options = JSON.parse(fixture.metadata.options) as {
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  tMax: number;
};
const torchLosses = JSON.parse(fixture.metadata.losses) as number[];
const torchLrs = JSON.parse(fixture.metadata.lrs) as number[];

function record(name: string): Tensor {
  const t = fixture.tensors.get(name);
  if (t === undefined) throw new Error(`fixture has no tensor '${name}'`);
  return t;
}

/** The fixture's `<prefix>.<param>` tensors as a state dict keyed by torch's parameter names. */
function stateDictOf(prefix: string): StateDict {
  const out: StateDict = {};
  for (const [name, t] of fixture.tensors) {
    if (name.startsWith(prefix + '.')) out[name.slice(prefix.length + 1)] = t;
  }
  return out;
}

/** LeNet-5 as a user writes it; the same layers as lenet5() and as the fixture's torch model. */
function leNet(): Sequential {
  return new Sequential(
    new Conv2d(1, 6, 5, { padding: 2 }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(6, 16, 5),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(16 * 5 * 5, 120),
    new ReLU(),
    new Linear(120, 84),
    new ReLU(),
    new Linear(84, 10),
  );
}

/*
 * Tolerances. Both sides compute in float32 but sum in different orders (torch's CPU conv and
 * GEMM against our im2col GEMM / the TS loops), so a result carries a rounding error of a few
 * float32 epsilons times the size of the terms summed, and the small entries of a tensor carry the
 * absolute error of its large ones. The fixture script measured how far torch's own float32 run is
 * from the same run in float64: at most 8.3e-7 of a tensor's largest entry (its f64Deviation);
 * ours may be as far on the other side. So a gradient entry may differ by
 * REL * (max|tensor| + |entry|), REL = 1e-5, about ten times the float32 noise seen, and a
 * hundred times below what a wrong rule gives.
 *
 * Weights are checked through their updates, w_k - w_{k-1}: the update is what the optimizer
 * computes, while a weight is some hundred times larger than its update, so in the weights a wrong
 * rule drowns (weight decay moves a weight by 5e-5 of itself in step 1). An update measured as the
 * difference of two float32 weights is only known to the spacing of float32 numbers at those
 * weights, up to 2^-23 * max|w| per weight: the allowance adds four such spacings (ours and
 * torch's rounding of both weights).
 */
const REL = 1e-5;
const F32_SPACING = 2 ** -23;

/** Throws unless actual is within REL of expected (see above); returns the deviation. */
function expectTensorClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label: string,
  weightScale = 0,
): number {
  const atol = REL * maxAbs(expected) + 4 * F32_SPACING * weightScale;
  expectClose(actual, expected, REL, atol, label);
  return deviation(actual, expected);
}

/** max|actual - expected| / max|expected|: the figure the tolerances bound. */
function deviation(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < expected.length; i++) d = Math.max(d, Math.abs(actual[i] - expected[i]));
  return d / maxAbs(expected);
}

function difference(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

/** Checks the step-k update of parameter n in `run` against torch's; returns the deviation. */
function expectUpdateClose(run: Run, k: number, n: string): number {
  const prev = k === 1 ? 'init' : `step${k - 1}`;
  const before = record(`${prev}.${n}`).data;
  const torchUpdate = difference(record(`step${k}.${n}`).data, before);
  const ourUpdate = difference(run.weights[k].get(n)!, run.weights[k - 1].get(n)!);
  return expectTensorClose(ourUpdate, torchUpdate, `step ${k} update of ${n}`, maxAbs(before));
}

interface Run {
  losses: number[];
  /** lr after construction and after each scheduler.step(). */
  lrs: number[];
  /** Parameter name -> gradient of the first step. */
  grad1: Map<string, Float32Array>;
  /** weights[k]: parameter name -> values after k steps (k = 0: the loaded ones). */
  weights: Map<string, Float32Array>[];
}

/** Loads the fixture's initial weights and trains as the torch script did. */
function trainLikeTorch(opts: { weightDecay?: number; nesterov?: boolean } = {}): Run {
  const model = leNet();
  model.loadStateDict(stateDictOf('init'));
  const optimizer = new SGD(model.parameters(), {
    lr: options.lr,
    momentum: options.momentum,
    nesterov: opts.nesterov ?? options.nesterov,
    weightDecay: opts.weightDecay ?? options.weightDecay,
  });
  const scheduler = new CosineAnnealingLR(optimizer, { tMax: options.tMax });
  const x = record('input');
  const y = record('labels');
  const snapshot = (): Map<string, Float32Array> =>
    new Map(model.namedParameters().map(([n, p]) => [n, (p.data as Float32Array).slice()]));
  const run: Run = {
    losses: [],
    lrs: [optimizer.paramGroups[0].lr],
    grad1: new Map(),
    weights: [snapshot()],
  };
  for (let k = 1; k <= STEPS; k++) {
    optimizer.zeroGrad();
    const loss = crossEntropy(model.call(x), y);
    loss.backward();
    run.losses.push(loss.item());
    if (k === 1) {
      for (const [n, p] of model.namedParameters()) {
        if (p.grad === null) throw new Error(`${n} got no gradient`);
        run.grad1.set(n, (p.grad.data as Float32Array).slice());
      }
    }
    optimizer.step();
    scheduler.step();
    run.lrs.push(optimizer.paramGroups[0].lr);
    run.weights.push(snapshot());
  }
  return run;
}

const PARAM_NAMES = Object.keys(stateDictOf('init'));

describe('the fixture', () => {
  it('holds the parameters of lenet5() and of the hand-written Sequential', () => {
    const shapes = (sd: StateDict) =>
      Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, [...t.shape]]));
    const expected = shapes(stateDictOf('init'));
    expect(PARAM_NAMES).toEqual([
      '0.weight',
      '0.bias',
      '3.weight',
      '3.bias',
      '7.weight',
      '7.bias',
      '9.weight',
      '9.bias',
      '11.weight',
      '11.bias',
    ]);
    expect(shapes(leNet().stateDict())).toEqual(expected);
    expect(shapes(lenet5().stateDict())).toEqual(expected);
  });
});

describe.each(BACKENDS)('LeNet-5 trained 3 steps vs PyTorch (%s backend)', (backend) => {
  useBackend(backend);
  let run: Run;
  const deviations: Record<string, number> = {};
  beforeAll(() => {
    run = trainLikeTorch();
  });

  it('loadStateDict took torch weights unchanged', () => {
    for (const n of PARAM_NAMES) {
      expect(run.weights[0].get(n)).toEqual(record('init.' + n).data);
    }
  });

  it('gives the same learning rates', () => {
    expect(run.lrs).toHaveLength(torchLrs.length);
    expectClose(run.lrs, torchLrs, 1e-12, 1e-15, 'lr');
  });

  it('gives the same loss at every step', () => {
    // The loss is one float32 scalar: a few epsilons of it.
    expectClose(run.losses, torchLosses, 1e-6, 0, 'loss');
    deviations.loss = deviation(run.losses, torchLosses);
  });

  it('gives the same gradient of every parameter at step 1', () => {
    for (const n of PARAM_NAMES) {
      const expected = record('grad1.' + n).data;
      deviations['grad1.' + n] = expectTensorClose(run.grad1.get(n)!, expected, `gradient of ${n}`);
    }
  });

  it('makes the same update of every parameter at every step', () => {
    for (let k = 1; k <= STEPS; k++) {
      for (const n of PARAM_NAMES) deviations[`update${k}.${n}`] = expectUpdateClose(run, k, n);
    }
  });

  it('ends each step with the same weights', () => {
    // Step by step the differences add up, each bounded like an update.
    for (let k = 1; k <= STEPS; k++) {
      for (const n of PARAM_NAMES) {
        const expected = record(`step${k}.${n}`).data;
        const moved = difference(expected, record(`init.${n}`).data);
        const atol = k * (REL * maxAbs(moved) + 4 * F32_SPACING * maxAbs(expected));
        expectClose(run.weights[k].get(n)!, expected, 0, atol, `weights of ${n} after step ${k}`);
        deviations[`step${k}.${n}`] = deviation(run.weights[k].get(n)!, expected);
      }
    }
    if (process.env.CONVNET_REPORT_DEVIATIONS) {
      const worst = Object.entries(deviations).sort((a, b) => b[1] - a[1]);
      for (const kind of ['loss', 'grad1', 'update', 'step']) {
        const top = worst.filter(([key]) => key.startsWith(kind))[0];
        console.log(`${backend}: largest ${kind} deviation / max|expected|: ${top[1]} (${top[0]})`);
      }
    }
  });

  it('would catch a wrong update rule', () => {
    // Without weight decay, or with classical instead of Nesterov momentum, every parameter's
    // first update must fall outside the tolerances, or the comparison above proves nothing.
    for (const wrong of [{ weightDecay: 0 }, { nesterov: false }]) {
      const bad = trainLikeTorch(wrong);
      for (const n of PARAM_NAMES) {
        expect(() => expectUpdateClose(bad, 1, n), `${JSON.stringify(wrong)}, ${n}`).toThrow(
          /differ/,
        );
      }
    }
  });
});
