/**
 * batchNormRelu equals relu(batchNorm(x) + residual) — outputs, running statistics and every
 * gradient, bit for bit — on both backends; ResNet blocks use it only when no hook could observe
 * the values it skips, and give the same results either way.
 */
import { describe, expect, it } from 'vitest';
import { relu } from '../../lib/functional/activation.js';
import { add, mul } from '../../lib/functional/elementwise.js';
import { batchNorm, batchNormRelu } from '../../lib/functional/normalization.js';
import { sum } from '../../lib/functional/reduce.js';
import { BasicBlock, Bottleneck } from '../../lib/models/resnet-blocks.js';
import { createModel } from '../../lib/models/registry.js';
import type { Module } from '../../lib/nn/module.js';
import { BatchNorm2d } from '../../lib/nn/normalization.js';
import { ReLU } from '../../lib/nn/activation.js';
import { Generator, manualSeed } from '../../lib/random.js';
import { randn, tensor, type Tensor } from '../../lib/tensor.js';
import { Rng } from '../helpers.js';
import { BACKENDS, useBackend } from './backends.js';

interface Case {
  name: string;
  shape: number[];
  residual: boolean;
  affine: boolean;
  running: boolean;
}

const CASES: Case[] = [
  { name: 'NCHW with residual', shape: [3, 5, 7, 6], residual: true, affine: true, running: true },
  { name: 'NCHW, no residual', shape: [2, 9, 4, 4], residual: false, affine: true, running: true },
  {
    name: 'batch 1, 1x1 images',
    shape: [1, 17, 3, 1],
    residual: true,
    affine: false,
    running: false,
  },
  {
    name: 'blocked channels (small images)',
    shape: [4, 300, 2, 3],
    residual: true,
    affine: true,
    running: false,
  },
  { name: '[N, C] rows', shape: [6, 11], residual: true, affine: true, running: true },
  { name: '[N, C, L]', shape: [3, 4, 10], residual: false, affine: false, running: true },
];

/** Values with exact zeros and ties, so that the ReLU's mask and the -0 / 0 rules are exercised. */
function data(n: number, rng: Rng): Float32Array {
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.uniform();
    d[i] = r < 0.1 ? 0 : r < 0.2 ? 1.25 : rng.uniform(-2, 3);
  }
  return d;
}

interface Inputs {
  x: Tensor;
  residual: Tensor | null;
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor | null;
  runningVar: Tensor | null;
}

function inputs(c: Case, seed: number): Inputs {
  const rng = new Rng(seed);
  const n = c.shape.reduce((a, b) => a * b, 1);
  const C = c.shape[1];
  const g = { requiresGrad: true };
  return {
    x: tensor(data(n, rng), c.shape, g),
    residual: c.residual ? tensor(data(n, rng), c.shape, g) : null,
    weight: c.affine ? tensor(rng.array(C, 0.5, 1.5), [C], g) : null,
    bias: c.affine ? tensor(rng.array(C, -0.5, 0.5), [C], g) : null,
    runningMean: c.running ? tensor(rng.array(C), [C]) : null,
    runningVar: c.running ? tensor(rng.array(C, 0.5, 2), [C]) : null,
  };
}

function copy(t: Tensor | null): Tensor | null {
  if (t === null) return null;
  return tensor(Float32Array.from(t.data), t.shape, { requiresGrad: t.requiresGrad });
}

function copyInputs(a: Inputs): Inputs {
  return {
    x: copy(a.x) as Tensor,
    residual: copy(a.residual),
    weight: copy(a.weight),
    bias: copy(a.bias),
    runningMean: copy(a.runningMean),
    runningVar: copy(a.runningVar),
  };
}

function arrays(t: Tensor | null): Float32Array | null {
  return t === null ? null : Float32Array.from(t.data);
}

function grads(a: Inputs): (Float32Array | null)[] {
  return [a.x, a.residual, a.weight, a.bias].map((t) =>
    t === null || t.grad === null ? null : Float32Array.from(t.grad.data),
  );
}

for (const backend of BACKENDS) {
  describe(`batchNormRelu on ${backend}`, () => {
    useBackend(backend);

    for (const c of CASES) {
      for (const training of [true, false]) {
        it(`equals relu(batchNorm(x) + residual), with gradients: ${c.name}, ${training ? 'training' : 'evaluation'}`, () => {
          if (!training && !c.running) return; // evaluation needs running statistics
          const a = inputs(c, 21);
          const b = copyInputs(a);
          const opts = { training, momentum: 0.3, eps: 1e-3 };
          const fused = batchNormRelu(a.x, a.runningMean, a.runningVar, a.weight, a.bias, {
            ...opts,
            residual: a.residual,
          });
          const y = batchNorm(b.x, b.runningMean, b.runningVar, b.weight, b.bias, opts);
          const plain = relu(b.residual === null ? y : add(y, b.residual));
          expect(fused.shape).toEqual(plain.shape);
          expect(arrays(fused)).toEqual(arrays(plain));
          expect(arrays(a.runningMean)).toEqual(arrays(b.runningMean));
          expect(arrays(a.runningVar)).toEqual(arrays(b.runningVar));
          const w = randn(plain.shape, { generator: new Generator(3) });
          sum(mul(fused, w)).backward();
          sum(mul(plain, w)).backward();
          expect(grads(a)).toEqual(grads(b));
        });
      }
    }

    it('sends no gradient to inputs that do not require one', () => {
      const c = CASES[0];
      const a = inputs(c, 5);
      const x = tensor(Float32Array.from(a.x.data), c.shape);
      const out = batchNormRelu(x, null, null, a.weight, a.bias, {
        training: true,
        residual: a.residual,
      });
      sum(out).backward();
      expect(x.grad).toBeNull();
      expect(a.residual!.grad).not.toBeNull();
      expect(a.weight!.grad).not.toBeNull();
    });

    it('rejects a residual of another shape, naming it', () => {
      const x = randn([2, 3, 4, 4]);
      expect(() =>
        batchNormRelu(x, null, null, null, null, { training: true, residual: randn([2, 3, 4, 5]) }),
      ).toThrow(
        /^batchNormRelu: residual must have the input's shape \[2, ?3, ?4, ?4\], got \[2, ?3, ?4, ?5\]$/,
      );
    });
  });

  describe(`ResNet blocks with and without the batch norm + ReLU fusion on ${backend}`, () => {
    useBackend(backend);

    /** Output, parameter gradients and running statistics of one training step of `build()`. */
    function step(build: () => Module, x: Float32Array, shape: number[], hook: boolean) {
      manualSeed(7);
      const m = build();
      m.train();
      const seen: string[] = [];
      if (hook) {
        // Hooks on every batch norm and ReLU keep the layers apart (and must see their outputs).
        for (const [name, sub] of m.namedModules()) {
          if (sub instanceof BatchNorm2d || sub instanceof ReLU) {
            sub.registerForwardHook((_, __, out) => seen.push(`${name}:${out.shape.join('x')}`));
          }
        }
      }
      const input = tensor(Float32Array.from(x), shape, { requiresGrad: true });
      const out = m.call(input);
      const w = randn(out.shape, { generator: new Generator(9) });
      sum(mul(out, w)).backward();
      const state = m.stateDict();
      return {
        out: Float32Array.from(out.data),
        grads: m.parameters().map((p) => Float32Array.from(p.grad!.data)),
        inputGrad: Float32Array.from(input.grad!.data),
        stats: Object.entries(state)
          .filter(([k]) => k.includes('running'))
          .map(([, t]) => Float32Array.from(t.data)),
        seen,
      };
    }

    const builds: [string, () => Module, number[]][] = [
      ['BasicBlock, identity shortcut', () => new BasicBlock(8, 8), [2, 8, 6, 6]],
      ['BasicBlock, projection', () => new BasicBlock(6, 12, { stride: 2 }), [3, 6, 7, 7]],
      [
        'BasicBlock, zero-pad',
        () => new BasicBlock(4, 8, { stride: 2, shortcut: 'zero-pad' }),
        [2, 4, 6, 6],
      ],
      ['BasicBlock, plain', () => new BasicBlock(5, 5, { residual: false }), [1, 5, 5, 5]],
      ['Bottleneck', () => new Bottleneck(16, 4, { stride: 2 }), [2, 16, 6, 6]],
    ];
    // The whole network (stem included) on the native backend; the TS one takes minutes for it.
    if (backend === 'native') {
      builds.push([
        'ResNet-18 (CIFAR stem)',
        () => createModel('resnet18', { stem: 'cifar', numClasses: 10 }),
        [2, 3, 8, 8],
      ]);
    }

    for (const [name, build, shape] of builds) {
      it(`${name}: identical outputs, gradients and running statistics`, () => {
        const x = new Rng(4).array(
          shape.reduce((a, b) => a * b, 1),
          -2,
          2,
        );
        const fused = step(build, x, shape, false);
        const hooked = step(build, x, shape, true);
        expect(hooked.seen.length).toBeGreaterThan(0);
        expect(fused.out).toEqual(hooked.out);
        expect(fused.inputGrad).toEqual(hooked.inputGrad);
        expect(fused.grads).toEqual(hooked.grads);
        expect(fused.stats).toEqual(hooked.stats);
      });
    }

    it('a hook on the ReLU alone sees every ReLU output (the fusion steps aside)', () => {
      manualSeed(1);
      const block = new BasicBlock(4, 4);
      block.train();
      const shapes: number[][] = [];
      block.relu.registerForwardHook((_, __, out) => shapes.push([...out.shape]));
      block.call(randn([2, 4, 5, 5]));
      expect(shapes).toEqual([
        [2, 4, 5, 5],
        [2, 4, 5, 5],
      ]);
    });
  });
}
