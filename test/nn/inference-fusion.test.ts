/**
 * Sequential's inference fusion (lib/nn/inference-fusion.ts): in evaluation mode with no graph
 * to record, Conv2d -> activation -> pooling runs as one conv2dFused kernel, and the result must
 * equal running the layers one by one. Whatever the fused kernel does not cover must take the
 * unfused path: training mode, a gradient to record, hooks, subclasses, uneven 'same' padding.
 */
import { describe, expect, it, vi } from 'vitest';
import { noGrad } from '../../lib/autograd/engine.js';
import type { Kernels } from '../../lib/backend/kernels.js';
import { Identity, LeakyReLU, ReLU, Sigmoid, Tanh } from '../../lib/nn/activation.js';
import { Sequential } from '../../lib/nn/container.js';
import { Conv2d } from '../../lib/nn/conv.js';
import { Flatten } from '../../lib/nn/flatten.js';
import { Linear } from '../../lib/nn/linear.js';
import type { Module } from '../../lib/nn/module.js';
import { AvgPool2d, MaxPool2d } from '../../lib/nn/pooling.js';
import { simpleCnn } from '../../lib/models/simple-cnn.js';
import { Generator } from '../../lib/random.js';
import { randn, type Tensor } from '../../lib/tensor.js';
import { loadNativeBackend } from '../../lib/backend/native.js';
import { BACKENDS, useBackend } from '../functional/backends.js';
import { expectClose } from '../helpers.js';

/** The layers one at a time (no fusion: Sequential.forward is not involved). */
function layerByLayer(seq: Sequential, x: Tensor): Float32Array {
  return noGrad(() => {
    let y = x;
    for (const m of seq) y = (m.call as (t: Tensor) => Tensor)(y);
    return y.data as Float32Array;
  });
}

// conv2dFused calls, counted through a wrapper around the active kernel set (which is frozen).
const fusedCalls = vi.hoisted(() => ({ count: 0, inputLayouts: [] as string[] }));
vi.mock('../../lib/backend/index.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../lib/backend/index.js')>();
  return {
    ...original,
    kernels: (): Kernels => {
      const k = original.kernels();
      return {
        ...k,
        conv2dFused: (...args: Parameters<Kernels['conv2dFused']>) => {
          fusedCalls.count++;
          fusedCalls.inputLayouts.push(args[4].inputLayout ?? 'nchw');
          k.conv2dFused(...args);
        },
      };
    },
  };
});

function countFused(fn: () => void): number {
  fusedCalls.count = 0;
  fusedCalls.inputLayouts.length = 0;
  fn();
  return fusedCalls.count;
}

describe.each(BACKENDS)('Sequential inference fusion on the %s backend', (backend) => {
  useBackend(backend);

  const gen = (seed: number): Generator => new Generator(seed);
  const models: { name: string; build: (g: Generator) => Module[]; input: number[] }[] = [
    {
      name: 'the reference CNN',
      build: () => [...simpleCnn({ dropout: 0 })],
      input: [6, 1, 28, 28],
    },
    {
      name: 'padding, stride, dilation; leakyRelu, sigmoid, tanh, identity; max and avg pools',
      build: (g) => [
        new Conv2d(3, 16, 3, { padding: 1, generator: g }),
        new LeakyReLU(0.2),
        new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
        new Conv2d(16, 20, 3, { dilation: 2, padding: 2, generator: g }),
        new Sigmoid(),
        new MaxPool2d(3, { stride: 2, padding: 1 }),
        new Conv2d(20, 18, [2, 3], { stride: [1, 2], generator: g }),
        new Tanh(),
        new Conv2d(18, 17, 1, { generator: g }),
        new Identity(),
        new MaxPool2d(2, { stride: 1 }),
      ],
      input: [5, 3, 17, 19],
    },
    {
      name: "groups, 'same' padding (even and odd kernels), a negative slope, conv -> pool",
      build: (g) => [
        new Conv2d(4, 16, 3, { groups: 2, padding: 'same', generator: g }),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(16, 16, 2, { padding: 'same', generator: g }),
        new LeakyReLU(-0.5),
        new MaxPool2d(2),
        new Conv2d(16, 24, 3, { padding: 'same', bias: false, generator: g }),
        new AvgPool2d(2),
        new Flatten(),
        new Linear(24, 5, { generator: g }),
      ],
      input: [4, 4, 12, 12],
    },
    {
      name: 'Winograd-sized convs (3x3 stride 1, 16+ channels) between direct ones, odd sizes',
      build: (g) => [
        new Conv2d(3, 16, 3, { padding: 1, generator: g }),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(16, 24, 3, { padding: 1, generator: g }),
        new Identity(),
        new AvgPool2d(2, { padding: 1, countIncludePad: false }),
        new Conv2d(24, 16, 3, { generator: g }),
        new Tanh(),
        new Conv2d(16, 20, 1, { generator: g }),
        new ReLU(),
        new Conv2d(20, 32, 3, { padding: 1, generator: g }),
        new ReLU(),
        new MaxPool2d(2),
      ],
      input: [3, 3, 23, 21],
    },
    {
      name: 'batch 1 and a conv without activation or pool at the end',
      build: (g) => [
        new Conv2d(2, 16, 3, { generator: g }),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(16, 8, 3, { generator: g }),
      ],
      input: [1, 2, 14, 14],
    },
  ];

  models.forEach((m, idx) => {
    it(`${m.name}: eval + noGrad equals the layers one by one`, () => {
      const g = gen(70 + idx);
      const seq = new Sequential(...m.build(g)).eval();
      const x = randn(m.input, { generator: g });
      const want = layerByLayer(seq, x);
      const got = noGrad(() => seq.call(x)).data as Float32Array;
      expectClose(got, want, 0, 0, 'output');
      // No graph is recorded when nothing requires a gradient, even with recording on.
      for (const p of seq.parameters()) p.requiresGrad = false;
      const plain = seq.call(x);
      expect(plain.gradFn ?? null).toBeNull();
      expectClose(plain.data as Float32Array, want, 0, 0, 'output without trainable parameters');
    });
  });

  it('fuses conv -> activation -> pool, and only in evaluation mode without a graph', () => {
    const g = gen(90);
    const seq = new Sequential(...simpleCnn({ dropout: 0 }));
    const x = randn([4, 1, 28, 28], { generator: g });
    seq.eval();
    expect(countFused(() => noGrad(() => seq.call(x)))).toBe(2);
    // A graph to record (parameters require gradients): the layers run one by one.
    expect(countFused(() => seq.call(x))).toBe(0);
    const y = seq.call(x);
    expect(y.gradFn).not.toBeNull();
    seq.train();
    expect(countFused(() => noGrad(() => seq.call(x)))).toBe(0);
  });

  if (backend === 'native') {
    it('under every conv algorithm, equals the layers one by one, handing over the layout asked', () => {
      const nb = loadNativeBackend();
      const g = gen(95);
      const seq = new Sequential(...simpleCnn({ dropout: 0 })).eval();
      const x = randn([5, 1, 28, 28], { generator: g });
      // conv2 (32 -> 64 3x3) is Winograd's under auto and winograd: it reads NCHW then.
      const expected = { auto: 'nchw', direct: 'nhwc', winograd: 'nchw' } as const;
      try {
        for (const algo of ['auto', 'direct', 'winograd'] as const) {
          nb.setConvAlgo(algo);
          const want = layerByLayer(seq, x);
          let got: Float32Array | null = null;
          expect(countFused(() => (got = noGrad(() => seq.call(x)).data as Float32Array))).toBe(2);
          expect(fusedCalls.inputLayouts).toEqual(['nchw', expected[algo]]);
          expectClose(got!, want, 0, 0, `output (${algo})`);
        }
      } finally {
        nb.setConvAlgo('auto');
      }
    });
  }

  it('an output stays put when the model runs again (reused buffers stay inside)', () => {
    const g = gen(94);
    const seq = new Sequential(
      new Conv2d(1, 16, 3, { generator: g }),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(16, 16, 3, { generator: g }),
      new Tanh(),
      new Conv2d(16, 16, 3, { generator: g }),
      new ReLU(),
    ).eval();
    const x1 = randn([4, 1, 16, 16], { generator: g });
    const x2 = randn([4, 1, 16, 16], { generator: g });
    const y1 = noGrad(() => seq.call(x1));
    const first = (y1.data as Float32Array).slice();
    const y2 = noGrad(() => seq.call(x2));
    expectClose(y1.data as Float32Array, first, 0, 0, 'first output after a second call');
    expectClose(y2.data as Float32Array, layerByLayer(seq, x2), 0, 0, 'second output');
    expectClose(noGrad(() => seq.call(x1)).data as Float32Array, first, 0, 0, 'third call');
  });

  it('runs forward hooks: a layer with a hook is not fused', () => {
    const g = gen(91);
    const seq = new Sequential(...simpleCnn({ dropout: 0 })).eval();
    const x = randn([3, 1, 28, 28], { generator: g });
    const seen: number[][] = [];
    seq.at(1).registerForwardHook((_m, _i, out) => seen.push([...out.shape]));
    const want = layerByLayer(seq, x);
    seen.length = 0;
    const got = noGrad(() => seq.call(x)).data as Float32Array;
    expect(seen).toEqual([[3, 32, 26, 26]]);
    expectClose(got, want, 0, 0, 'output');
  });

  it('leaves a subclass with its own forward alone', () => {
    class DoubleRelu extends ReLU {
      override forward(x: Tensor): Tensor {
        return super.forward(x).mul(2);
      }
    }
    const g = gen(92);
    const seq = new Sequential(
      new Conv2d(1, 16, 3, { generator: g }),
      new DoubleRelu(),
      new MaxPool2d(2),
    ).eval();
    const x = randn([4, 1, 10, 10], { generator: g });
    expectClose(noGrad(() => seq.call(x)).data as Float32Array, layerByLayer(seq, x), 0, 0, 'y');
  });

  it('reports bad input through the layers, as without fusion', () => {
    const seq = new Sequential(...simpleCnn({ dropout: 0 })).eval();
    const x = randn([2, 3, 28, 28], { generator: gen(93) });
    expect(() => noGrad(() => seq.call(x))).toThrow(
      /Conv2d\(1->32\): expected input with 1 channels/,
    );
  });
});
