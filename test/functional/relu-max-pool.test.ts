/**
 * reluMaxPool2d equals maxPool2d(relu(x)) — outputs and gradients — on both backends, including
 * windows with no positive value, ties, padding and overlapping windows; nn.Sequential uses it for
 * ReLU -> MaxPool2d and keeps the layers apart when a hook could observe the ReLU output.
 */
import { describe, expect, it } from 'vitest';
import { noGrad } from '../../lib/autograd/engine.js';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import { relu } from '../../lib/functional/activation.js';
import { mul } from '../../lib/functional/elementwise.js';
import { maxPool2d, reluMaxPool2d, type MaxPool2dOptions } from '../../lib/functional/pooling.js';
import { sum } from '../../lib/functional/reduce.js';
import { ReLU } from '../../lib/nn/activation.js';
import { Sequential } from '../../lib/nn/container.js';
import { Conv2d } from '../../lib/nn/conv.js';
import { MaxPool2d } from '../../lib/nn/pooling.js';
import { Generator, manualSeed } from '../../lib/random.js';
import { randn, tensor, type Tensor } from '../../lib/tensor.js';
import { Rng } from '../helpers.js';
import { BACKENDS, useBackend } from './backends.js';

interface Case {
  name: string;
  shape: [number, number, number, number];
  k: number | [number, number];
  opts: MaxPool2dOptions;
}

const CASES: Case[] = [
  { name: '2x2 stride 2, odd input', shape: [3, 4, 11, 9], k: 2, opts: {} },
  {
    name: '3x3 stride 2 padding 1 (overlapping)',
    shape: [2, 3, 8, 7],
    k: 3,
    opts: { stride: 2, padding: 1 },
  },
  { name: '2x3 stride 1', shape: [1, 2, 5, 6], k: [2, 3], opts: { stride: 1 } },
];

/** Inputs with ties, zeros and all-negative windows as well as distinct values. */
function input(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const rng = new Rng(seed);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.uniform();
    d[i] = r < 0.15 ? 0 : r < 0.3 ? 1.5 : r < 0.45 ? -1 : rng.uniform() * 4 - 2;
  }
  return tensor(d, shape, { requiresGrad: true });
}

function gradOf(t: Tensor): Float32Array {
  return Float32Array.from(t.grad!.data);
}

for (const backend of BACKENDS) {
  describe(`reluMaxPool2d on ${backend}`, () => {
    useBackend(backend);

    for (const c of CASES) {
      it(`equals maxPool2d(relu(x)) with gradients: ${c.name}`, () => {
        const x1 = input(c.shape, 11);
        const x2 = tensor(Float32Array.from(x1.data), c.shape, { requiresGrad: true });
        const fused = reluMaxPool2d(x1, c.k, c.opts);
        const plain = maxPool2d(relu(x2), c.k, c.opts);
        expect(fused.shape).toEqual(plain.shape);
        expect(Float32Array.from(fused.data)).toEqual(Float32Array.from(plain.data));
        const w = randn(plain.shape, { generator: new Generator(3) });
        sum(mul(fused, w)).backward();
        sum(mul(plain, w)).backward();
        expect(gradOf(x1)).toEqual(gradOf(x2));
        // Without a graph: same values, no gradient function.
        const inference = noGrad(() => reluMaxPool2d(x1, c.k, c.opts));
        expect(Float32Array.from(inference.data)).toEqual(Float32Array.from(plain.data));
        expect(inference.requiresGrad).toBe(false);
      });
    }

    it('passes gradcheck on distinct values away from zero', () => {
      const rng = new Rng(5);
      const n = 2 * 2 * 6 * 6;
      const vals = rng.distinct(n, 0.05, 2).map((v, i) => (i % 3 === 0 ? -v : v));
      const x = tensor(vals, [2, 2, 6, 6], { requiresGrad: true });
      expect(gradcheck((t: Tensor) => reluMaxPool2d(t, 2), [x])).toBe(true);
    });

    it('names the function and the argument it rejects', () => {
      expect(() => reluMaxPool2d(tensor([1, 2, 3], [3]), 2)).toThrow(
        /reluMaxPool2d: input must be 4-D NCHW, got shape \[3\]/,
      );
      expect(() => reluMaxPool2d(randn([1, 1, 4, 4]), 2, null as never)).toThrow(
        /reluMaxPool2d: options must be an object, got null/,
      );
    });

    it('Sequential trains through ReLU -> MaxPool2d as the layers one by one would', () => {
      const build = (): Sequential => {
        manualSeed(7);
        return new Sequential(new Conv2d(2, 3, 3), new ReLU(), new MaxPool2d(2));
      };
      const fusedNet = build();
      const layerNet = build();
      // A hook on the ReLU makes its output observable: the layers then run one by one.
      const seen: number[][] = [];
      layerNet[1].registerForwardHook((_m, _i, o) => seen.push([...o.shape]));
      const x = randn([2, 2, 9, 9], { generator: new Generator(9) });
      const a = fusedNet.call(x);
      const b = layerNet.call(x);
      expect(seen).toEqual([[2, 3, 7, 7]]);
      expect(Float32Array.from(a.data)).toEqual(Float32Array.from(b.data));
      sum(a).backward();
      sum(b).backward();
      const pa = fusedNet.parameters();
      const pb = layerNet.parameters();
      for (let i = 0; i < pa.length; i++) expect(gradOf(pa[i])).toEqual(gradOf(pb[i]));
    });
  });
}
