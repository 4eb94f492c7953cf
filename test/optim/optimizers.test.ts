import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  Optimizer,
  RMSprop,
  SGD,
  type OptimizerStateDict,
} from '../../lib/optim/index.js';
import { isGradEnabled, noGrad } from '../../lib/autograd/engine.js';
import { Tensor } from '../../lib/tensor.js';
import { Rng, expectClose } from '../helpers.js';
import { fixtures, type OptimizerCase } from './torch-fixtures.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyOpt = Optimizer<any, any>;

const CTORS = { SGD, Adam, AdamW, RMSprop } as const;
type OptName = keyof typeof CTORS;

function make(name: OptName, params: unknown, options: unknown): AnyOpt {
  const C = CTORS[name] as unknown as new (p: unknown, o: unknown) => AnyOpt;
  return new C(params, options);
}

function param(values: ArrayLike<number>): Tensor {
  return new Tensor(Float32Array.from(values), [values.length], true);
}

function setGrad(p: Tensor, g: ArrayLike<number> | null): void {
  p.grad = g === null ? null : new Tensor(Float32Array.from(g), p.shape);
}

describe('optimizers against PyTorch trajectories', () => {
  it('has a fixture for every optimizer', () => {
    const names = new Set(fixtures.optimizers.map((c) => c.optimizer));
    expect([...names].sort()).toEqual(['Adam', 'AdamW', 'RMSprop', 'SGD']);
  });

  it.each(fixtures.optimizers.map((c) => [c.label, c] as [string, OptimizerCase]))(
    '%s',
    (_label, c) => {
      const params = c.init.map(param);
      const groups = params.map((p, i) => ({ params: [p], ...c.groups[i] }));
      const opt = make(c.optimizer, groups, c.options);
      c.expected.forEach((afterStep, k) => {
        params.forEach((p, i) => setGrad(p, c.grads[i][k]));
        opt.step();
        params.forEach((p, i) =>
          expectClose(p.data, afterStep[i], 2e-6, 2e-7, `${c.label}, step ${k + 1}, param ${i}`),
        );
      });
    },
  );
});

describe('Optimizer base', () => {
  it('skips params without a gradient and creates no state for them', () => {
    const a = param([1, 2]);
    const b = param([3, 4]);
    const opt = new Adam([a, b], { lr: 0.1 });
    setGrad(a, [1, 1]);
    opt.step();
    expect(Array.from(b.data)).toEqual([3, 4]);
    expect(opt.stateOf(b)).toBeUndefined();
    expect(opt.stateOf(a)?.step).toBe(1);
    expect(Object.keys(opt.stateDict().state)).toEqual(['0']);
  });

  it('gives each group its own options and keeps defaults for the rest', () => {
    const a = param([1]);
    const b = param([1]);
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.5]);
    expect(opt.paramGroups[1].momentum).toBe(0.9);
    setGrad(a, [1]);
    setGrad(b, [1]);
    opt.step();
    expect(a.data[0]).toBeCloseTo(0.9, 6);
    expect(b.data[0]).toBeCloseTo(0.5, 6);
    opt.paramGroups[0].lr = 0; // a group's lr is read at every step (schedulers rely on it)
    opt.step();
    expect(a.data[0]).toBeCloseTo(0.9, 6);
  });

  it('copies array options, so groups never share betas', () => {
    const betas: [number, number] = [0.8, 0.9];
    const opt = new Adam([{ params: [param([1])] }, { params: [param([2])] }], { betas });
    opt.paramGroups[0].betas[0] = 0.5;
    expect(opt.paramGroups[1].betas).toEqual([0.8, 0.9]);
    expect(opt.defaults.betas).toEqual([0.8, 0.9]);
    expect(betas).toEqual([0.8, 0.9]);
  });

  it('accepts a single tensor and any iterable of tensors', () => {
    const a = param([1]);
    expect(new SGD(a, { lr: 1 }).paramGroups[0].params).toEqual([a]);
    const set = new Set([param([1]), param([2])]);
    expect(new SGD(set, { lr: 1 }).paramGroups[0].params.length).toBe(2);
  });

  it('addParamGroup adds a group with overrides and rejects params already present', () => {
    const a = param([1]);
    const b = param([2]);
    const opt = new RMSprop([a], { lr: 0.01 });
    opt.addParamGroup({ params: [b], momentum: 0.5 });
    expect(opt.paramGroups[1].momentum).toBe(0.5);
    expect(opt.paramGroups[1].lr).toBe(0.01);
    expect(() => opt.addParamGroup({ params: [a] })).toThrow(
      /RMSprop: param group 2: params\[0\] \(shape \[1\]\) appears more than once/,
    );
    expect(() => opt.addParamGroup({ params: [param([3])], momentum: -1 })).toThrow(
      'RMSprop: param group 2: momentum must be a non-negative number, got -1',
    );
    expect(opt.paramGroups.length).toBe(2);
  });

  it('zeroGrad sets grads to null, or zero-fills them in place with setToNone: false', () => {
    const a = param([1, 2]);
    const b = param([3]);
    const opt = new SGD([a, b], { lr: 0.1 });
    setGrad(a, [5, 6]);
    const g = a.grad!;
    opt.zeroGrad({ setToNone: false });
    expect(a.grad).toBe(g);
    expect(Array.from(g.data)).toEqual([0, 0]);
    expect(b.grad).toBeNull();
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(() => opt.zeroGrad({ setToNone: 'yes' as unknown as boolean })).toThrow(
      'SGD.zeroGrad: setToNone must be a boolean, got "yes"',
    );
  });

  it('steps with recording off, restores it, and returns the closure loss', () => {
    const a = param([1]);
    const opt = new SGD([a], { lr: 0.1 });
    const seen: boolean[] = [];
    const loss = opt.step(() => {
      seen.push(isGradEnabled());
      setGrad(a, [2]);
      return 1.5;
    });
    expect(loss).toBe(1.5);
    expect(seen).toEqual([true]);
    expect(isGradEnabled()).toBe(true);
    expect(a.data[0]).toBeCloseTo(0.8, 6);
    noGrad(() => opt.step());
    expect(isGradEnabled()).toBe(true);
  });

  it('rejects a gradient of the wrong size', () => {
    const a = param([1, 2, 3]);
    const opt = new SGD([a], { lr: 0.1 });
    a.grad = new Tensor(new Float32Array(2), [2]);
    expect(() => opt.step()).toThrow(
      /SGD.step: the gradient of param 0 in group 0 must be a float32 tensor of shape \[3\], got a Tensor of shape \[2\]/,
    );
  });
});

describe('argument checks', () => {
  const p = (): Tensor => param([1, 2]);
  it.each([
    ['SGD', { lr: -1 }, 'SGD: lr must be a non-negative number, got -1'],
    ['SGD', {}, 'SGD: lr must be a non-negative number, got undefined'],
    ['SGD', { lr: NaN }, 'SGD: lr must be a non-negative number, got NaN'],
    ['SGD', { lr: 0.1, momentum: -0.5 }, 'SGD: momentum must be a non-negative number, got -0.5'],
    [
      'SGD',
      { lr: 0.1, nesterov: true },
      'SGD: nesterov requires momentum > 0 and dampening = 0, got momentum 0 and dampening 0',
    ],
    [
      'SGD',
      { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 },
      'SGD: nesterov requires momentum > 0 and dampening = 0, got momentum 0.9 and dampening 0.1',
    ],
    [
      'SGD',
      { lr: 0.1, weight_decay: 0.1 },
      "SGD: unknown option 'weight_decay' (expected one of: lr, momentum, dampening, nesterov, weightDecay, maximize)",
    ],
    ['SGD', { lr: 0.1, maximize: 1 }, 'SGD: maximize must be a boolean, got 1'],
    ['Adam', { betas: [0.9, 1] }, 'Adam: betas[1] must be a number in [0, 1), got 1'],
    ['Adam', { betas: [-0.1, 0.9] }, 'Adam: betas[0] must be a number in [0, 1), got -0.1'],
    ['Adam', { betas: 0.9 }, 'Adam: betas must be an array [beta1, beta2], got 0.9'],
    ['Adam', { eps: -1e-8 }, 'Adam: eps must be a non-negative number, got -1e-8'],
    [
      'AdamW',
      { weightDecay: -0.01 },
      'AdamW: weightDecay must be a non-negative number, got -0.01',
    ],
    ['AdamW', { amsgrad: 'no' }, 'AdamW: amsgrad must be a boolean, got "no"'],
    ['RMSprop', { alpha: -0.9 }, 'RMSprop: alpha must be a non-negative number, got -0.9'],
    ['RMSprop', { lr: Infinity }, 'RMSprop: lr must be a non-negative number, got Infinity'],
    ['RMSprop', 5, 'RMSprop: options must be an object, got 5'],
  ] as [OptName, unknown, string][])('%s %j', (name, options, message) => {
    expect(() => make(name, [p()], options)).toThrow(message);
  });

  it('checks the params', () => {
    expect(() => new SGD([], { lr: 0.1 })).toThrow(
      'SGD: params is empty; there is nothing to optimize',
    );
    expect(() => new SGD(3 as unknown as Tensor[], { lr: 0.1 })).toThrow(
      'SGD: params must be an iterable of Tensors or of param groups ({ params, ...options }), got 3',
    );
    const a = p();
    expect(() => new SGD([a, a], { lr: 0.1 })).toThrow(
      /params\[1\] \(shape \[2\]\) appears more than once/,
    );
    const labels = new Tensor(new Int32Array(2), [2]);
    expect(() => new Adam([labels])).toThrow(
      'Adam: param group 0: params[0] must be a float32 Tensor, got a Tensor of shape [2]',
    );
    const nonLeaf = p();
    nonLeaf.gradFn = { name: 'conv2d', inputs: [], backward: () => [] };
    expect(() => new Adam([nonLeaf])).toThrow(
      /Adam: param group 0: params\[0\] is not a leaf tensor \(it was computed by conv2d\)/,
    );
    expect(() => new Adam([{ params: [p()], betas: [0.9, 2] }])).toThrow(
      'Adam: param group 0: betas[1] must be a number in [0, 1), got 2',
    );
    expect(() => new Adam([{ params: [p()], momentum: 0.9 }] as never)).toThrow(
      "Adam: param group 0: unknown option 'momentum'",
    );
    expect(() => new Adam([p(), { params: [p()] }] as never)).toThrow(
      'Adam: params must hold either only Tensors or only param groups ({ params, ...options }); item 0 is a Tensor of shape [2], item 1 is an object',
    );
  });
});

describe('stateDict / loadStateDict', () => {
  const configs: [OptName, Record<string, unknown>][] = [
    ['SGD', { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
    ['Adam', { lr: 0.01, amsgrad: true, weightDecay: 0.1 }],
    ['AdamW', { lr: 0.01 }],
    ['RMSprop', { lr: 0.01, momentum: 0.9, centered: true }],
  ];

  function setup(name: OptName, options: Record<string, unknown>, seed: number) {
    const rng = new Rng(seed);
    const params = [param(rng.array(6)), param(rng.array(3)), param(rng.array(2))];
    const opt = make(
      name,
      [{ params: [params[0], params[1]] }, { params: [params[2]], lr: 0.003 }],
      options,
    );
    return { params, opt };
  }

  function stepWith(opt: AnyOpt, params: Tensor[], rng: Rng, skip = -1): void {
    params.forEach((p, i) => setGrad(p, i === skip ? null : rng.array(p.size)));
    opt.step();
  }

  it.each(configs)(
    '%s: a restored optimizer continues bit-identically (Float32Array and JSON)',
    (name, options) => {
      const a = setup(name, options, 1);
      const gradsA = new Rng(99);
      for (let k = 0; k < 3; k++) stepWith(a.opt, a.params, gradsA, k === 1 ? 2 : -1);
      a.opt.paramGroups[1].lr = 0.007; // restored from the dict, like torch

      const binary = a.opt.stateDict();
      const json = JSON.parse(
        JSON.stringify(a.opt.stateDict({ plainArrays: true })),
      ) as OptimizerStateDict;
      const copies = [binary, json].map((sd) => {
        const b = setup(name, { lr: 0.5 }, 2);
        // Different starting values and defaults: everything but the param values must come from the dict.
        b.params.forEach((p, i) => (p.data as Float32Array).set(a.params[i].data));
        b.opt.loadStateDict(sd);
        return b;
      });
      for (const b of copies) expect(b.opt.paramGroups[1].lr).toBe(0.007);

      const gradsContinue = [new Rng(5), new Rng(5), new Rng(5)];
      for (let k = 0; k < 3; k++) {
        stepWith(a.opt, a.params, gradsContinue[0]);
        copies.forEach((b, j) => stepWith(b.opt, b.params, gradsContinue[j + 1]));
      }
      for (const b of copies) {
        b.params.forEach((p, i) =>
          expect(Array.from(p.data)).toEqual(Array.from(a.params[i].data)),
        );
      }
    },
  );

  it('copies state: the dict does not change when the optimizer steps on', () => {
    const { params, opt } = setup('Adam', { lr: 0.1 }, 3);
    stepWith(opt, params, new Rng(1));
    const sd = opt.stateDict();
    const before = Array.from(sd.state['0'].expAvg as Float32Array);
    stepWith(opt, params, new Rng(2));
    expect(Array.from(sd.state['0'].expAvg as Float32Array)).toEqual(before);
    expect(sd.state['0'].step).toBe(1);
    expect(sd.paramGroups.map((g) => g.params)).toEqual([[0, 1], [2]]);
    expect(sd.paramGroups[1].lr).toBe(0.003);
  });

  it('validates group count, param counts, state sizes and entries', () => {
    const { params, opt } = setup('Adam', { lr: 0.1, amsgrad: true }, 4);
    stepWith(opt, params, new Rng(1));
    const good = (): OptimizerStateDict => opt.stateDict({ plainArrays: true });
    const fresh = (): AnyOpt => setup('Adam', { amsgrad: true }, 5).opt;

    const oneGroup = good();
    oneGroup.paramGroups.pop();
    expect(() => fresh().loadStateDict(oneGroup)).toThrow(
      'Adam.loadStateDict: the state dict has 1 param group(s), this optimizer has 2',
    );
    const fewerParams = good();
    fewerParams.paramGroups[0].params = [0];
    expect(() => fresh().loadStateDict(fewerParams)).toThrow(
      'Adam.loadStateDict: param group 0 has 1 param(s) in the state dict, 2 in this optimizer',
    );
    const wrongSize = good();
    (wrongSize.state['1'].expAvgSq as number[]).push(0);
    expect(() => fresh().loadStateDict(wrongSize)).toThrow(
      'Adam.loadStateDict: state of param 1: expAvgSq has 4 elements, but the param (shape [3]) has 3',
    );
    const missing = good();
    delete missing.state['2'].maxExpAvgSq;
    expect(() => fresh().loadStateDict(missing)).toThrow(
      "Adam.loadStateDict: state of param 2 is missing 'maxExpAvgSq'",
    );
    const unknown = good();
    unknown.state['0'].momentumBuffer = [0];
    expect(() => fresh().loadStateDict(unknown)).toThrow(
      "Adam.loadStateDict: state of param 0 has an unknown entry 'momentumBuffer' (expected: step, expAvg, expAvgSq, maxExpAvgSq)",
    );
    const badStep = good();
    badStep.state['0'].step = -1;
    expect(() => fresh().loadStateDict(badStep)).toThrow(
      'Adam.loadStateDict: state of param 0: step must be a non-negative number, got -1',
    );
    const strayIndex = good();
    strayIndex.state['7'] = strayIndex.state['0'];
    expect(() => fresh().loadStateDict(strayIndex)).toThrow(
      'Adam.loadStateDict: state of param 7: no param group lists param 7',
    );
    const badOption = good();
    badOption.paramGroups[1].lr = -0.5;
    expect(() => fresh().loadStateDict(badOption)).toThrow(
      'Adam.loadStateDict: param group 1: lr must be a non-negative number, got -0.5',
    );
    expect(() => fresh().loadStateDict({} as OptimizerStateDict)).toThrow(
      'Adam.loadStateDict: expected an object { state, paramGroups }, got an object',
    );

    // A failed load changes nothing.
    const target = fresh();
    const before = JSON.stringify(target.stateDict({ plainArrays: true }));
    expect(() => target.loadStateDict(wrongSize)).toThrow();
    expect(JSON.stringify(target.stateDict({ plainArrays: true }))).toBe(before);
  });

  it('SGD saves a momentum buffer only once momentum has been used', () => {
    const a = param([1, 2]);
    const opt = new SGD([a], { lr: 0.1, momentum: 0.9 });
    setGrad(a, [1, -1]);
    opt.step();
    const sd = opt.stateDict({ plainArrays: true });
    expect(sd.state['0'].momentumBuffer).toEqual([1, -1]);
    const plain = new SGD([a], { lr: 0.1 });
    plain.step();
    expect(plain.stateDict().state['0'].momentumBuffer).toBeNull();
  });
});
