import { describe, expect, it } from 'vitest';
import {
  CosineAnnealingLR,
  ExponentialLR,
  LRScheduler,
  LinearWarmup,
  MultiStepLR,
  ReduceLROnPlateau,
  SGD,
  StepLR,
  type LRSchedulerStateDict,
} from '../../lib/optim/index.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose } from '../helpers.js';
import {
  FIXTURE_BASE_LRS,
  fixtures,
  type PlateauCase,
  type SchedulerCase,
} from './torch-fixtures.js';

function twoGroupOptimizer(lrs = FIXTURE_BASE_LRS): SGD {
  return new SGD(
    lrs.map((lr) => ({ params: [new Tensor(new Float32Array(1), [1], true)], lr })),
    { lr: 1 },
  );
}

const CLOSED_FORM = { StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR } as const;

function makeScheduler(
  opt: SGD,
  name: string,
  options: Record<string, unknown>,
  after?: LRScheduler,
): LRScheduler {
  if (name === 'LinearWarmup') return new LinearWarmup(opt, { ...options, after } as never);
  const C = CLOSED_FORM[name as keyof typeof CLOSED_FORM] as unknown as new (
    o: SGD,
    x: unknown,
  ) => LRScheduler;
  return new C(opt, options);
}

function lrsOf(opt: SGD): number[] {
  return opt.paramGroups.map((g) => g.lr);
}

describe('step-counting schedulers against PyTorch', () => {
  it.each(fixtures.schedulers.map((c) => [c.label, c] as [string, SchedulerCase]))(
    '%s',
    (_label, c) => {
      const opt = twoGroupOptimizer();
      const after = c.after ? makeScheduler(opt, c.after.scheduler, c.after.options) : undefined;
      const sched = makeScheduler(opt, c.scheduler, c.options, after);
      const got: number[][] = [lrsOf(opt)];
      expect(sched.getLastLr()).toEqual(lrsOf(opt));
      for (let k = 1; k < c.expected.length; k++) {
        sched.step();
        got.push(lrsOf(opt));
        expect(sched.getLastLr()).toEqual(lrsOf(opt));
        expect(sched.lastEpoch).toBe(k);
      }
      expectClose(got.flat(), c.expected.flat(), 1e-10, 1e-15, c.label);
    },
  );
});

describe('closed forms', () => {
  it('lrsAt computes any step without changing the optimizer', () => {
    const opt = twoGroupOptimizer([0.2, 0.05]);
    const cos = new CosineAnnealingLR(opt, { tMax: 8, etaMin: 0.01 });
    const expected = (t: number, base: number): number =>
      0.01 + ((base - 0.01) * (1 + Math.cos((Math.PI * t) / 8))) / 2;
    expect(cos.lrsAt(3)).toEqual([expected(3, 0.2), expected(3, 0.05)]);
    expect(cos.lrsAt(8)[0]).toBeCloseTo(0.01, 15);
    expect(lrsOf(opt)).toEqual([0.2, 0.05]);
    expect(cos.lastEpoch).toBe(0);
  });

  it('is relative to the initial lr, so a later scheduler ignores an earlier one’s decay', () => {
    const opt = twoGroupOptimizer([0.1, 0.1]);
    const a = new ExponentialLR(opt, { gamma: 0.5 });
    a.step();
    a.step();
    expect(lrsOf(opt)[0]).toBeCloseTo(0.025, 15);
    expect(opt.paramGroups[0].initialLr).toBe(0.1);
    const b = new StepLR(opt, { stepSize: 10 });
    expect(b.baseLrs).toEqual([0.1, 0.1]);
    expect(lrsOf(opt)).toEqual([0.1, 0.1]);
  });

  it('MultiStepLR accepts milestones in any order and counts repeats', () => {
    const opt = twoGroupOptimizer([1, 1]);
    const s = new MultiStepLR(opt, { milestones: [4, 1, 4], gamma: 0.5 });
    expect(s.milestones).toEqual([1, 4, 4]);
    expect([0, 1, 3, 4, 9].map((t) => s.lrsAt(t)[0])).toEqual([1, 0.5, 0.5, 0.125, 0.125]);
  });
});

describe('LinearWarmup', () => {
  it('without after, leaves the lr alone after the warmup so ReduceLROnPlateau can take over', () => {
    const opt = twoGroupOptimizer([0.1, 0.02]);
    const warmup = new LinearWarmup(opt, { warmupSteps: 2, startFactor: 0 });
    const plateau = new ReduceLROnPlateau(opt, { patience: 0, factor: 0.5 });
    expect(lrsOf(opt)).toEqual([0, 0]);
    warmup.step();
    expect(lrsOf(opt)).toEqual([0.05, 0.01]);
    warmup.step();
    expect(lrsOf(opt)).toEqual([0.1, 0.02]);
    plateau.step(1); // first metric: an improvement
    plateau.step(1); // no improvement, patience 0: halve
    expect(lrsOf(opt)).toEqual([0.05, 0.01]);
    warmup.step(); // a warmup that is over does not undo the reduction
    expect(lrsOf(opt)).toEqual([0.05, 0.01]);
    expect(warmup.getLastLr()).toEqual([0.05, 0.01]);
  });

  it('keeps the follower’s own step count in sync', () => {
    const opt = twoGroupOptimizer();
    const after = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    const warmup = new LinearWarmup(opt, { warmupSteps: 3, startFactor: 0.5, after });
    for (let k = 0; k < 7; k++) warmup.step();
    expect(after.lastEpoch).toBe(4);
    expect(after.getLastLr()).toEqual(lrsOf(opt));
    expect(lrsOf(opt)[0]).toBeCloseTo(0.1 * 0.25, 15);
  });

  it('checks its options', () => {
    const opt = twoGroupOptimizer();
    expect(() => new LinearWarmup(opt, { warmupSteps: 0, startFactor: 0.1 })).toThrow(
      'LinearWarmup: warmupSteps must be a positive integer, got 0',
    );
    expect(() => new LinearWarmup(opt, { warmupSteps: 3, startFactor: 1.5 })).toThrow(
      'LinearWarmup: startFactor must be a number in [0, 1], got 1.5',
    );
    const other = new StepLR(twoGroupOptimizer(), { stepSize: 1 });
    expect(() => new LinearWarmup(opt, { warmupSteps: 3, startFactor: 0.1, after: other })).toThrow(
      'LinearWarmup: after (StepLR) was made for a different optimizer',
    );
    const plateau = new ReduceLROnPlateau(opt);
    expect(
      () => new LinearWarmup(opt, { warmupSteps: 3, startFactor: 0.1, after: plateau as never }),
    ).toThrow(/LinearWarmup: after must be a step-counting scheduler .* got a ReduceLROnPlateau/);
  });
});

describe('ReduceLROnPlateau against PyTorch', () => {
  it.each(fixtures.plateau.map((c) => [c.label, c] as [string, PlateauCase]))('%s', (_label, c) => {
    const opt = twoGroupOptimizer();
    const sched = new ReduceLROnPlateau(opt, c.options as never);
    const got: number[][] = [lrsOf(opt)];
    for (const m of c.metrics) {
      sched.step(m);
      got.push(sched.getLastLr());
    }
    expectClose(got.flat(), c.expected.flat(), 1e-12, 1e-15, c.label);
  });

  it('accepts a one-element tensor as the metric and counts NaN as no improvement', () => {
    const opt = twoGroupOptimizer([1, 1]);
    const s = new ReduceLROnPlateau(opt, { patience: 1 });
    s.step(new Tensor(new Float32Array([0.5]), []));
    expect(s.best).toBe(0.5);
    s.step(NaN);
    expect(s.numBadEpochs).toBe(1);
    s.step(NaN);
    expect(lrsOf(opt)).toEqual([0.1, 0.1]);
    expect(() => s.step('0.3' as never)).toThrow(
      'ReduceLROnPlateau.step: metric must be a number or a one-element Tensor, got "0.3"',
    );
  });

  it('checks its options', () => {
    const opt = twoGroupOptimizer();
    expect(() => new ReduceLROnPlateau(opt, { factor: 1 })).toThrow(
      'ReduceLROnPlateau: factor must be a number in [0, 1), got 1',
    );
    expect(() => new ReduceLROnPlateau(opt, { mode: 'maximum' as never })).toThrow(
      "ReduceLROnPlateau: mode must be 'min' or 'max', got \"maximum\"",
    );
    expect(() => new ReduceLROnPlateau(opt, { minLr: [0.1] })).toThrow(
      'ReduceLROnPlateau: minLr must have one value per param group (2), got 1',
    );
    expect(() => new ReduceLROnPlateau(opt, { patience: 1.5 })).toThrow(
      'ReduceLROnPlateau: patience must be a non-negative integer, got 1.5',
    );
    expect(() => new ReduceLROnPlateau({} as never)).toThrow(
      'ReduceLROnPlateau: optimizer must be an Optimizer (SGD, Adam, ...), got an object',
    );
  });

  it('round-trips its state through JSON, including "no best yet"', () => {
    const metrics = [3, 2, 2.5, 2.4, 2.6, 1, 1.2, 1.3, 1.4, 1.5];
    const run = (split: number): number[][] => {
      const opt = twoGroupOptimizer();
      const s = new ReduceLROnPlateau(opt, { patience: 1, cooldown: 1, factor: 0.5 });
      const out: number[][] = [];
      for (let k = 0; k < split; k++) {
        s.step(metrics[k]);
        out.push(lrsOf(opt));
      }
      const saved = JSON.parse(JSON.stringify({ opt: opt.stateDict(), s: s.stateDict() }));
      const opt2 = twoGroupOptimizer([1, 1]);
      const s2 = new ReduceLROnPlateau(opt2, { patience: 1, cooldown: 1, factor: 0.5 });
      opt2.loadStateDict(saved.opt);
      s2.loadStateDict(saved.s);
      for (let k = split; k < metrics.length; k++) {
        s2.step(metrics[k]);
        out.push(lrsOf(opt2));
      }
      return out;
    };
    const straight = run(metrics.length);
    expect(run(0)).toEqual(straight);
    expect(run(4)).toEqual(straight);
    expect(run(7)).toEqual(straight);
    expect(straight[straight.length - 1][0]).toBeLessThan(0.1);
  });
});

describe('scheduler stateDict / loadStateDict', () => {
  function build(opt: SGD): LinearWarmup {
    const after = new CosineAnnealingLR(opt, { tMax: 6, etaMin: 0.001 });
    return new LinearWarmup(opt, { warmupSteps: 3, startFactor: 0.2, after });
  }

  it.each([0, 2, 3, 7])('warmup + cosine resumed after %i steps continues identically', (split) => {
    const optA = twoGroupOptimizer();
    const a = build(optA);
    const straight: number[][] = [];
    for (let k = 0; k < 12; k++) {
      a.step();
      straight.push(lrsOf(optA));
    }
    const optB = twoGroupOptimizer();
    const b = build(optB);
    const resumed: number[][] = [];
    for (let k = 0; k < split; k++) {
      b.step();
      resumed.push(lrsOf(optB));
    }
    const saved = JSON.parse(JSON.stringify(b.stateDict())) as LRSchedulerStateDict;
    const optC = twoGroupOptimizer();
    const c = build(optC);
    c.loadStateDict(saved);
    expect(lrsOf(optC)).toEqual(lrsOf(optB));
    expect(c.lastEpoch).toBe(split);
    for (let k = split; k < 12; k++) {
      c.step();
      resumed.push(lrsOf(optC));
    }
    expect(resumed).toEqual(straight);
  });

  it('validates what it loads', () => {
    const opt = twoGroupOptimizer();
    const s = new StepLR(opt, { stepSize: 2 });
    expect(() => s.loadStateDict({ lastEpoch: -1, baseLrs: [0.1, 0.1], lastLr: [] })).toThrow(
      'StepLR.loadStateDict: lastEpoch must be a non-negative integer, got -1',
    );
    expect(() => s.loadStateDict({ lastEpoch: 1, baseLrs: [0.1], lastLr: [] })).toThrow(
      'StepLR.loadStateDict: baseLrs must be an array of 2 lrs (one per param group), got [0.1]',
    );
    const w = build(twoGroupOptimizer());
    expect(() => w.loadStateDict(s.stateDict())).toThrow(
      "LinearWarmup.loadStateDict: this warmup has an 'after' schedule (CosineAnnealingLR) but the state dict holds none",
    );
  });

  it('notices param groups added after it was made', () => {
    const opt = twoGroupOptimizer();
    const s = new ExponentialLR(opt, { gamma: 0.9 });
    opt.addParamGroup({ params: [new Tensor(new Float32Array(1), [1], true)] });
    expect(() => s.step()).toThrow(
      'ExponentialLR: the optimizer has 3 param groups but the scheduler was made for 2; make the scheduler after adding param groups',
    );
  });
});

describe('scheduler argument checks', () => {
  const opt = twoGroupOptimizer();
  it.each([
    [() => new StepLR(opt, { stepSize: 0 }), 'StepLR: stepSize must be a positive integer, got 0'],
    [
      () => new StepLR(opt, { stepSize: 2, gamma: -0.5 }),
      'StepLR: gamma must be a positive number, got -0.5',
    ],
    [
      () => new StepLR(opt, { step_size: 2 } as never),
      "StepLR: unknown option 'step_size' (expected one of: stepSize, gamma)",
    ],
    [
      () => new MultiStepLR(opt, { milestones: [1, 2.5] }),
      'MultiStepLR: milestones[1] must be a non-negative integer, got 2.5',
    ],
    [
      () => new MultiStepLR(opt, { milestones: 3 } as never),
      'MultiStepLR: milestones must be an array of non-negative integers, got 3',
    ],
    [
      () => new ExponentialLR(opt, {} as never),
      'ExponentialLR: gamma must be a positive number, got undefined',
    ],
    [
      () => new CosineAnnealingLR(opt, { tMax: 10, etaMin: -1 }),
      'CosineAnnealingLR: etaMin must be a non-negative number, got -1',
    ],
    [
      () => new CosineAnnealingLR(opt, { tMax: 0 }),
      'CosineAnnealingLR: tMax must be a positive integer, got 0',
    ],
    [
      () => new StepLR(null as never, { stepSize: 1 }),
      'StepLR: optimizer must be an Optimizer (SGD, Adam, ...), got null',
    ],
  ] as [() => unknown, string][])('%#: %s', (fn, message) => {
    expect(fn).toThrow(message);
  });

  it('a rejected scheduler leaves the optimizer untouched', () => {
    const o = twoGroupOptimizer();
    expect(() => new StepLR(o, { stepSize: -1 })).toThrow();
    expect(o.paramGroups[0].initialLr).toBeUndefined();
  });
});
