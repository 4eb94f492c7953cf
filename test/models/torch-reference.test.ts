/**
 * The zoo against PyTorch: test/fixtures/make_resnet_fixture.py builds torchvision's ResNet-18
 * (both stems), ResNeXt-50 32x4d and DenseNet-121 and He et al.'s CIFAR ResNet-20, fills every
 * state-dict entry from a hash formula, and records (in float64) the keys, the outputs in eval and
 * training mode, a batch norm's running mean after the training-mode pass and some gradients. Here
 * the same state dict goes through loadStateDict (strict: the names and shapes must be
 * torchvision's).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { noGrad } from '../../lib/autograd/engine.js';
import { setBackend } from '../../lib/backend/index.js';
import { mul } from '../../lib/functional/elementwise.js';
import { sum } from '../../lib/functional/reduce.js';
import { createModel } from '../../lib/models/registry.js';
import { Tensor, zeros } from '../../lib/tensor.js';
import { expectClose, maxAbs } from '../helpers.js';
import { BACKENDS } from '../functional/backends.js';

interface Case {
  name: string;
  options: Record<string, unknown>;
  inputShape: number[];
  keys: [string, number[]][];
  eval: number[];
  train: number[];
  runningMeanKey: string;
  runningMeanAfterTrain: number[];
  grads: Record<string, number[]>;
  gradNorms: Record<string, number>;
  /** How far float32 PyTorch lands from the float64 reference, per quantity (max |diff| / max |ref|). */
  torchFloat32Error: {
    eval: number;
    train: number;
    runningMeanAfterTrain: number;
    grads: Record<string, number>;
    gradNorms: Record<string, number>;
  };
}

const fixture = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'resnet_fixture.json'), 'utf8'),
) as {
  cases: Case[];
};

/** The fixture script's `formula`: a murmur3-style hash of (k, i), uniform in [-1, 1). */
function formula(n: number, k: number): Float64Array {
  const base = (Math.imul(k, 0x7feb352d) + 0x165667b1) >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let h = (Math.imul(i, 0x9e3779b1) + base) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    out[i] = h / 2147483648 - 1;
  }
  return out;
}

/** The fixture script's `fill`, entry by entry. */
function stateDictOf(keys: [string, number[]][]): Record<string, Tensor> {
  const sorted = keys.map(([k]) => k).sort();
  const sd: Record<string, Tensor> = {};
  for (const [key, shape] of keys) {
    if (key.endsWith('num_batches_tracked')) {
      sd[key] = zeros(shape, { dtype: 'int32' });
      continue;
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const s = formula(size, sorted.indexOf(key));
    const leaf = key.slice(key.lastIndexOf('.') + 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      if (shape.length >= 2) data[i] = s[i] * Math.sqrt(6.0 / (size / shape[0]));
      else if (leaf === 'running_var') data[i] = 1.0 + 0.25 * s[i];
      else if (leaf === 'weight') data[i] = 1.0 + 0.2 * s[i];
      else data[i] = 0.1 * s[i];
    }
    sd[key] = new Tensor(data, shape);
  }
  return sd;
}

/**
 * Within 1e-3 of the float64 reference (relative to its largest value), or 4 times as far as float32
 * PyTorch lands where the quantity is ill-conditioned (the first layers' gradients of ResNeXt-50
 * and DenseNet-121 lose a few percent to cancellation in training-mode batch norm).
 */
function close(
  actual: ArrayLike<number>,
  expected: number[],
  torchError: number,
  label: string,
): void {
  const rel = Math.max(1e-3, 4 * torchError);
  expectClose(actual, expected, 0, rel * maxAbs(expected), label);
}

/** Small enough for the pure-TypeScript kernels too. */
const ON_TS = new Set([
  'resnet18 {"numClasses":10,"stem":"cifar","inChannels":1}',
  'resnet20 {"inChannels":1}',
]);

describe.each(BACKENDS)('the zoo matches PyTorch on the %s backend', (backend) => {
  const cases = fixture.cases.filter(
    (c) => backend === 'native' || ON_TS.has(`${c.name} ${JSON.stringify(c.options)}`),
  );
  it.each(cases.map((c) => [`${c.name} ${JSON.stringify(c.options)}`, c] as const))(
    '%s',
    (_, c) => {
      setBackend(backend);
      const model = createModel(c.name, c.options);
      const sd = model.stateDict();
      // torchvision's names, in torchvision's order.
      expect(Object.keys(sd)).toEqual(c.keys.map(([k]) => k));
      model.loadStateDict(stateDictOf(c.keys));

      const n = c.inputShape.reduce((a, b) => a * b, 1);
      const x = new Tensor(Float32Array.from(formula(n, 1000003)), c.inputShape);
      model.eval();
      const err = c.torchFloat32Error;
      close(noGrad(() => model.call(x)).data, c.eval, err.eval, 'eval-mode output');

      model.train();
      const y = model.call(x);
      close(y.data, c.train, err.train, 'training-mode output');
      const running = model.stateDict()[c.runningMeanKey];
      close(
        running.data.subarray(0, c.runningMeanAfterTrain.length),
        c.runningMeanAfterTrain,
        err.runningMeanAfterTrain,
        c.runningMeanKey,
      );

      const coef = new Tensor(Float32Array.from(formula(y.size, 1000033)), y.shape);
      sum(mul(y, coef)).backward();
      const params = new Map(model.namedParameters());
      for (const [key, want] of Object.entries(c.grads)) {
        const g = params.get(key)!.grad!;
        close(g.data.subarray(0, want.length), want, err.grads[key], `gradient of ${key}`);
        let ss = 0;
        for (const v of g.data) ss += v * v;
        close([Math.sqrt(ss)], [c.gradNorms[key]], err.gradNorms[key], `gradient norm of ${key}`);
      }
    },
  );
});
