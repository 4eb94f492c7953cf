/** The PyTorch-made expectations of test/fixtures/optim_fixtures.json (see make_optim_fixtures.py). */
import * as fs from 'node:fs';

export interface OptimizerCase {
  label: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';
  options: Record<string, unknown>;
  /** Per-group option overrides, one per param (each case has one param per group). */
  groups: Record<string, unknown>[];
  init: number[][];
  /** grads[param][step]; null where the param has no gradient at that step. */
  grads: (number[] | null)[][];
  /** expected[step][param]: the values after that step. */
  expected: number[][][];
}

export interface SchedulerCase {
  label: string;
  scheduler: string;
  options: Record<string, unknown>;
  after?: { scheduler: string; options: Record<string, unknown> };
  /** expected[k][group]: lr after construction (k = 0) and after the k-th step(). */
  expected: number[][];
}

export interface PlateauCase {
  label: string;
  options: Record<string, unknown>;
  metrics: number[];
  expected: number[][];
}

export interface ClipNormCase {
  maxNorm: number;
  normType: number | 'Infinity';
  grads: number[][];
  totalNorm: number;
  expected: number[][];
}

export interface OptimFixtures {
  generator: string;
  optimizers: OptimizerCase[];
  schedulers: SchedulerCase[];
  plateau: PlateauCase[];
  clipGradNorm: ClipNormCase[];
  clipGradValue: { clipValue: number; grads: number[]; expected: number[] };
}

/** The lrs the scheduler fixtures start from, one per param group. */
export const FIXTURE_BASE_LRS = [0.1, 0.03];

export const fixtures: OptimFixtures = JSON.parse(
  fs.readFileSync(new URL('../fixtures/optim_fixtures.json', import.meta.url), 'utf8'),
);
