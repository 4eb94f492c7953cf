import { describe, expect, it } from 'vitest';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import { conv2d, type Conv2dFnOptions } from '../../lib/functional/conv.js';
import { Generator } from '../../lib/random.js';
import { randn, tensor, type Tensor } from '../../lib/tensor.js';
import { expectClose } from '../helpers.js';
import { BACKENDS, useBackend } from './backends.js';

interface RefConv {
  stride: [number, number];
  /** top, bottom, left, right: 'same' with an even kernel pads asymmetrically. */
  pad: [number, number, number, number];
  dilation: [number, number];
  groups: number;
}

/** Direct float64 cross-correlation, written from the definition. */
function refConv2d(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  o: RefConv,
): { data: Float64Array; shape: number[] } {
  const [N, C, H, W] = x.shape;
  const [O, Cg, KH, KW] = w.shape;
  const [pt, pb, pl, pr] = o.pad;
  const OH = Math.floor((H + pt + pb - o.dilation[0] * (KH - 1) - 1) / o.stride[0]) + 1;
  const OW = Math.floor((W + pl + pr - o.dilation[1] * (KW - 1) - 1) / o.stride[1]) + 1;
  const Og = O / o.groups;
  const out = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < O; oc++) {
      const g = Math.floor(oc / Og);
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          let s = b === null ? 0 : b.data[oc];
          for (let c = 0; c < Cg; c++) {
            const ic = g * Cg + c;
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                const h = i * o.stride[0] - pt + kh * o.dilation[0];
                const ww = j * o.stride[1] - pl + kw * o.dilation[1];
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                s +=
                  x.data[((n * C + ic) * H + h) * W + ww] *
                  w.data[((oc * Cg + c) * KH + kh) * KW + kw];
              }
            }
          }
          out[((n * O + oc) * OH + i) * OW + j] = s;
        }
      }
    }
  }
  return { data: out, shape: [N, O, OH, OW] };
}

const CASES: { name: string; x: number[]; w: number[]; opts: Conv2dFnOptions; ref: RefConv }[] = [
  {
    name: 'plain 3x3',
    x: [2, 3, 6, 6],
    w: [4, 3, 3, 3],
    opts: {},
    ref: { stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1 },
  },
  {
    name: 'stride 2, padding 1',
    x: [2, 3, 7, 6],
    w: [4, 3, 3, 3],
    opts: { stride: 2, padding: 1 },
    ref: { stride: [2, 2], pad: [1, 1, 1, 1], dilation: [1, 1], groups: 1 },
  },
  {
    name: 'dilation 2, asymmetric stride and padding',
    x: [1, 2, 8, 7],
    w: [3, 2, 3, 2],
    opts: { stride: [2, 1], padding: [2, 1], dilation: 2 },
    ref: { stride: [2, 1], pad: [2, 2, 1, 1], dilation: [2, 2], groups: 1 },
  },
  {
    name: 'groups 2',
    x: [2, 4, 5, 5],
    w: [6, 2, 3, 3],
    opts: { groups: 2, padding: 1 },
    ref: { stride: [1, 1], pad: [1, 1, 1, 1], dilation: [1, 1], groups: 2 },
  },
  {
    name: 'depthwise (groups = channels), stride 2, dilation 2',
    x: [1, 3, 7, 7],
    w: [3, 1, 3, 3],
    opts: { groups: 3, stride: 2, dilation: 2, padding: 2 },
    ref: { stride: [2, 2], pad: [2, 2, 2, 2], dilation: [2, 2], groups: 3 },
  },
  {
    name: "'same' with an even kernel (extra padding at the bottom/right, as torch)",
    x: [1, 2, 5, 6],
    w: [2, 2, 4, 2],
    opts: { padding: 'same' },
    ref: { stride: [1, 1], pad: [1, 2, 0, 1], dilation: [1, 1], groups: 1 },
  },
  {
    name: "'same' with an odd kernel and dilation",
    x: [1, 2, 6, 6],
    w: [3, 2, 3, 3],
    opts: { padding: 'same', dilation: 2 },
    ref: { stride: [1, 1], pad: [2, 2, 2, 2], dilation: [2, 2], groups: 1 },
  },
  {
    name: "'valid'",
    x: [1, 2, 5, 5],
    w: [2, 2, 3, 3],
    opts: { padding: 'valid' },
    ref: { stride: [1, 1], pad: [0, 0, 0, 0], dilation: [1, 1], groups: 1 },
  },
];

describe.each(BACKENDS)('conv2d on the %s backend', (backend) => {
  useBackend(backend);

  for (const c of CASES) {
    it(`matches a float64 reference: ${c.name}`, () => {
      const gen = new Generator(1);
      const x = randn(c.x, { generator: gen });
      const w = randn(c.w, { generator: gen });
      const b = randn([c.w[0]], { generator: gen });
      const y = conv2d(x, w, b, c.opts);
      const ref = refConv2d(x, w, b, c.ref);
      expect(y.shape).toEqual(ref.shape);
      expectClose(y.data, ref.data, 1e-5, 1e-5, c.name);
    });

    it(`passes gradcheck for input, weight and bias: ${c.name}`, () => {
      const gen = new Generator(2);
      const x = randn(c.x, { generator: gen, requiresGrad: true });
      const w = randn(c.w, { generator: gen, requiresGrad: true });
      const b = randn([c.w[0]], { generator: gen, requiresGrad: true });
      // conv2d is linear in each single element, so a larger step costs no truncation error and
      // keeps float32 rounding noise (which differs between blocked/FMA kernels) out of the estimate.
      expect(gradcheck((xx, ww, bb) => conv2d(xx, ww, bb, c.opts), [x, w, b], { eps: 1e-2 })).toBe(
        true,
      );
    });
  }

  it('computes the bias gradient when only the bias requires it', () => {
    const gen = new Generator(3);
    const x = randn([2, 3, 5, 5], { generator: gen });
    const w = randn([4, 3, 3, 3], { generator: gen });
    const b = randn([4], { generator: gen, requiresGrad: true });
    conv2d(x, w, b, { padding: 1 }).backward(new Float32Array(2 * 4 * 25).fill(1));
    // Each output channel has 2 * 5 * 5 positions, each contributing 1.
    expectClose(b.grad!.data, [50, 50, 50, 50], 0, 1e-4, 'bias grad');
    expect(w.grad).toBeNull();
  });

  it('works without a bias', () => {
    const gen = new Generator(4);
    const x = randn([1, 2, 4, 4], { generator: gen, requiresGrad: true });
    const w = randn([3, 2, 2, 2], { generator: gen, requiresGrad: true });
    const ref = refConv2d(x, w, null, {
      stride: [1, 1],
      pad: [0, 0, 0, 0],
      dilation: [1, 1],
      groups: 1,
    });
    expectClose(conv2d(x, w).data, ref.data, 1e-5, 1e-5);
    expect(gradcheck((xx, ww) => conv2d(xx, ww), [x, w], { eps: 1e-2 })).toBe(true);
  });
});

describe('conv2d argument errors', () => {
  const x = randn([1, 3, 8, 8]);
  const w = randn([4, 3, 3, 3]);
  it('names the function, the argument and the shape', () => {
    expect(() => conv2d(randn([3, 8, 8]), w)).toThrow(
      'conv2d: input must be 4-D NCHW, got shape [3,8,8]',
    );
    expect(() => conv2d(x, randn([4, 3, 3]))).toThrow(
      'conv2d: weight must be 4-D OIHW, got shape [4,3,3]',
    );
    expect(() => conv2d(x, randn([4, 2, 3, 3]))).toThrow(
      /weight shape \[4,2,3,3\] expects 2 input channels/,
    );
    expect(() => conv2d(x, w, randn([3]))).toThrow(
      'conv2d: bias must have shape [4] (one value per output channel), got shape [3]',
    );
    expect(() => conv2d(x, w, null, { stride: 2, padding: 'same' })).toThrow(
      "conv2d: padding 'same' needs stride 1",
    );
    expect(() => conv2d(x, w, null, { padding: 'full' as 'same' })).toThrow(
      /padding must be a number, a pair, 'same' or 'valid'/,
    );
    expect(() => conv2d(x, w, null, { stride: 0 })).toThrow(
      /conv2d: stride must be an integer >= 1/,
    );
    expect(() => conv2d(tensor(new Int32Array(192), [1, 3, 8, 8]), w)).toThrow(
      'conv2d: input must be a float32 tensor',
    );
    expect(() => conv2d(randn([1, 3, 2, 2]), w)).toThrow(/does not fit input 2x2/);
  });
});
