/**
 * conv2dFused (convolution + bias + activation + pooling in one kernel, for inference) against
 * the kernels it fuses called one after the other: the TS kernel against the TS kernels, the
 * native kernel against the native kernels and the TS reference, for every instruction set this
 * CPU supports and at 1 and 2 threads. Shapes cover the fused native form (the reference CNN's
 * layers, padding, stride, dilation, overlapping and clipped pool windows) and the shapes it
 * hands back to the unfused kernels (groups, few output channels, a batch too small to share).
 */
import { describe, expect, it } from 'vitest';
import { conv2dGeometry, pool2dGeometry } from '../../lib/backend/geometry.js';
import type {
  Conv2dGeometry,
  ConvEpilogue,
  FusedActivation,
  Kernels,
  Pool2dGeometry,
} from '../../lib/backend/kernels.js';
import { loadNativeBackend, type NativeBackend } from '../../lib/backend/native.js';
import { tsKernels as T } from '../../lib/backend/ts/index.js';
import { expectClose, Rng } from '../helpers.js';

let native: NativeBackend | null = null;
let loadError = '';
try {
  native = loadNativeBackend();
} catch (e) {
  loadError = e instanceof Error ? e.message : String(e);
}

interface PoolSpec {
  kind: 'max' | 'avg';
  k: number | [number, number];
  stride?: number | [number, number];
  padding?: number | [number, number];
  countIncludePad?: boolean;
}

interface Case {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  conv?: {
    stride?: number | [number, number];
    padding?: number | [number, number];
    dilation?: number | [number, number];
    groups?: number;
  };
  act: FusedActivation;
  slope?: number;
  pool: PoolSpec | null;
  /** Bias values to use instead of random ones ('none' for no bias). */
  bias?: number[] | 'none';
  /** Put NaN and +-Infinity into the input. */
  specials?: boolean;
}

const CASES: Case[] = [
  {
    name: 'reference CNN conv1: 1->32 3x3, relu, max 2',
    x: [9, 1, 28, 28],
    w: [32, 1, 3, 3],
    act: 'relu',
    pool: { kind: 'max', k: 2 },
  },
  {
    name: 'reference CNN conv2: 32->64 3x3 (odd 11x11 output), relu, max 2',
    x: [6, 32, 13, 13],
    w: [64, 32, 3, 3],
    act: 'relu',
    pool: { kind: 'max', k: 2 },
  },
  {
    name: 'stride 2, padding 1, leakyRelu 0.1, avg 3x3 s2 p1 without padding in the count',
    x: [5, 3, 11, 13],
    w: [20, 3, 3, 3],
    conv: { stride: 2, padding: 1 },
    act: 'leakyRelu',
    slope: 0.1,
    pool: { kind: 'avg', k: 3, stride: 2, padding: 1, countIncludePad: false },
  },
  {
    name: 'dilation 2, sigmoid, overlapping max 3 s2 p1',
    x: [4, 5, 12, 10],
    w: [24, 5, 3, 3],
    conv: { dilation: 2, padding: 2 },
    act: 'sigmoid',
    pool: { kind: 'max', k: 3, stride: 2, padding: 1 },
  },
  {
    name: 'non-square kernel and stride, tanh, no pool',
    x: [4, 4, 9, 11],
    w: [17, 4, 2, 3],
    conv: { stride: [1, 2], padding: [1, 0] },
    act: 'tanh',
    pool: null,
  },
  {
    name: 'no activation, avg 2 (padding counted), no bias',
    x: [4, 6, 10, 9],
    w: [16, 6, 3, 3],
    conv: { padding: 1 },
    act: 'none',
    pool: { kind: 'avg', k: 2, padding: 1 },
    bias: 'none',
  },
  {
    name: 'leakyRelu with a negative slope (not monotonic) before max 2',
    x: [4, 3, 9, 9],
    w: [18, 3, 3, 3],
    act: 'leakyRelu',
    slope: -0.5,
    pool: { kind: 'max', k: 2 },
  },
  {
    name: 'infinite biases, relu, max 2',
    x: [4, 2, 8, 8],
    w: [16, 2, 3, 3],
    act: 'relu',
    pool: { kind: 'max', k: 2 },
    bias: [Infinity, -Infinity, ...Array.from({ length: 14 }, (_, i) => i / 7 - 1)],
  },
  {
    name: 'NaN and infinities in the input, relu, max 2 and identity',
    x: [4, 3, 10, 10],
    w: [16, 3, 3, 3],
    act: 'relu',
    pool: { kind: 'max', k: 2 },
    specials: true,
  },
  {
    name: 'grouped (unfused path), relu, max 2',
    x: [4, 4, 9, 9],
    w: [16, 2, 3, 3],
    conv: { groups: 2 },
    act: 'relu',
    pool: { kind: 'max', k: 2 },
  },
  {
    name: 'two output channels (unfused path), relu, avg 2',
    x: [4, 3, 10, 10],
    w: [2, 3, 3, 3],
    act: 'relu',
    pool: { kind: 'avg', k: 2 },
  },
  {
    name: 'batch 1, pad 1, relu, max 2 (odd 7x7 output)',
    x: [1, 8, 7, 7],
    w: [16, 8, 3, 3],
    conv: { padding: 1 },
    act: 'relu',
    pool: { kind: 'max', k: 2 },
  },
  {
    name: 'padding 1, 81 pixels per image (tiles that span two images), relu, max 2',
    x: [8, 5, 9, 9],
    w: [16, 5, 3, 3],
    conv: { padding: 1 },
    act: 'relu',
    pool: { kind: 'max', k: 2 },
  },
  {
    name: 'output channels not a multiple of the tile, 1x1 kernel, max 2 s1',
    x: [5, 7, 6, 5],
    w: [37, 7, 1, 1],
    act: 'relu',
    pool: { kind: 'max', k: 2, stride: 1 },
  },
  {
    name: 'Winograd (auto): 16->20 3x3 pad 1, no activation, avg 2 (clipped 9x9 -> 5x5)',
    x: [4, 16, 9, 9],
    w: [20, 16, 3, 3],
    conv: { padding: 1 },
    act: 'none',
    pool: { kind: 'avg', k: 2, padding: 1, countIncludePad: false },
  },
  {
    name: 'Winograd (auto): batch 1, 24->16 3x3 (odd 7x5 output), relu, no pool, no bias',
    x: [1, 24, 9, 7],
    w: [16, 24, 3, 3],
    act: 'relu',
    pool: null,
    bias: 'none',
  },
  {
    name: 'Winograd (auto): batch 1, 32->64 3x3 (11x11 -> 5x5), none, max 2',
    x: [1, 32, 13, 13],
    w: [64, 32, 3, 3],
    act: 'none',
    pool: { kind: 'max', k: 2 },
  },
  {
    name: 'Winograd (auto): 16->16 3x3, whole 4x4 tiles (16x16 output), no activation, avg 2',
    x: [2, 16, 18, 18],
    w: [16, 16, 3, 3],
    act: 'none',
    pool: { kind: 'avg', k: 2 },
  },
  {
    name: 'Winograd (auto): 20->16 3x3 pad 1 (odd 9x7 output), leakyRelu 0.1, max 2',
    x: [3, 20, 9, 7],
    w: [16, 20, 3, 3],
    conv: { padding: 1 },
    act: 'leakyRelu',
    slope: 0.1,
    pool: { kind: 'max', k: 2 },
  },
  {
    name: 'Winograd (auto): 16->16 3x3 pad 1, tanh, overlapping max 3 s2',
    x: [3, 16, 10, 12],
    w: [16, 16, 3, 3],
    conv: { padding: 1 },
    act: 'tanh',
    pool: { kind: 'max', k: 3, stride: 2 },
  },
];

interface Built {
  g: Conv2dGeometry;
  e: ConvEpilogue;
  pg: Pool2dGeometry | null;
  x: Float32Array;
  w: Float32Array;
  bias: Float32Array | null;
  outSize: number;
}

function build(c: Case, seed: number): Built {
  const rng = new Rng(seed);
  const g = conv2dGeometry('test', c.x, c.w, c.conv ?? {});
  const convShape = [g.batch, g.outChannels, g.outHeight, g.outWidth];
  const pg =
    c.pool === null
      ? null
      : pool2dGeometry('test', convShape, c.pool.k, {
          stride: c.pool.stride,
          padding: c.pool.padding,
          countIncludePad: c.pool.countIncludePad ?? true,
        });
  const e: ConvEpilogue = {
    activation: c.act,
    negativeSlope: c.slope ?? 0,
    pool: pg === null ? null : { kind: c.pool!.kind, g: pg },
  };
  const x = rng.array(c.x.reduce((a, b) => a * b));
  if (c.specials === true) {
    for (let i = 0; i < x.length; i += 37) x[i] = NaN;
    for (let i = 11; i < x.length; i += 53) x[i] = Infinity;
    for (let i = 23; i < x.length; i += 61) x[i] = -Infinity;
  }
  const w = rng.array(c.w.reduce((a, b) => a * b));
  const bias =
    c.bias === 'none'
      ? null
      : c.bias !== undefined
        ? Float32Array.from(c.bias)
        : rng.array(g.outChannels);
  const outSize =
    pg === null
      ? g.batch * g.outChannels * g.outHeight * g.outWidth
      : pg.batch * pg.channels * pg.outHeight * pg.outWidth;
  return { g, e, pg, x, w, bias, outSize };
}

/** The fused kernel's definition: conv2d, the activation kernel, the pooling kernel. */
function unfused(K: Kernels, b: Built): Float32Array {
  const z = new Float32Array(b.g.batch * b.g.outChannels * b.g.outHeight * b.g.outWidth);
  K.conv2d(b.g, b.x, b.w, b.bias, z);
  if (b.e.activation === 'relu') K.relu(z, z);
  else if (b.e.activation === 'leakyRelu') K.leakyRelu(z, z, b.e.negativeSlope);
  else if (b.e.activation === 'sigmoid') K.sigmoid(z, z);
  else if (b.e.activation === 'tanh') K.tanh(z, z);
  if (b.pg === null) return z;
  const y = new Float32Array(b.outSize);
  if (b.e.pool!.kind === 'max') K.maxPool2d(b.pg, z, y, new Int32Array(b.outSize));
  else K.avgPool2d(b.pg, z, y);
  return y;
}

/** y from the fused kernel, written into a view with guarded margins that must stay intact. */
function fused(K: Kernels, b: Built): Float32Array {
  const buf = new Float32Array(b.outSize + 4).fill(-1234.5);
  const y = buf.subarray(1, 1 + b.outSize).fill(NaN);
  K.conv2dFused(b.g, b.x, b.w, b.bias, b.e, y);
  expect(buf[0]).toBe(-1234.5);
  expect(Array.from(buf.subarray(1 + b.outSize))).toEqual([-1234.5, -1234.5, -1234.5]);
  return y;
}

/** n images of c x p: [n][p][c] from [n][c][p] (toNhwc) or the other way round. */
function transpose(
  toNhwc: boolean,
  n: number,
  c: number,
  p: number,
  a: Float32Array,
): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let q = 0; q < p; q++) {
        const nchw = i * c * p + ch * p + q;
        const nhwc = i * c * p + q * c + ch;
        if (toNhwc) out[nhwc] = a[nchw];
        else out[nchw] = a[nhwc];
      }
    }
  }
  return out;
}

/** The fused kernel with channels-last input and/or output, its result brought back to NCHW. */
function fusedLayouts(K: Kernels, b: Built, inNhwc: boolean, outNhwc: boolean): Float32Array {
  const g = b.g;
  const x = inNhwc ? transpose(true, g.batch, g.inChannels, g.inHeight * g.inWidth, b.x) : b.x;
  const e: ConvEpilogue = {
    ...b.e,
    inputLayout: inNhwc ? 'nhwc' : 'nchw',
    outputLayout: outNhwc ? 'nhwc' : 'nchw',
  };
  const y = fused(K, { ...b, x, e });
  const pixels = b.pg === null ? g.outHeight * g.outWidth : b.pg.outHeight * b.pg.outWidth;
  return outNhwc ? transpose(false, g.batch, g.outChannels, pixels, y) : y;
}

const LAYOUTS: [boolean, boolean][] = [
  [true, false],
  [false, true],
  [true, true],
];

/** Shapes that Winograd supports: 3x3, stride 1, dilation 1, one group. */
function winogradShape(g: Conv2dGeometry): boolean {
  return (
    g.kernelH === 3 &&
    g.kernelW === 3 &&
    g.strideH === 1 &&
    g.strideW === 1 &&
    g.dilationH === 1 &&
    g.dilationW === 1 &&
    g.groups === 1
  );
}

/** max |got - want| <= tol * max |want| (NaN where want has NaN). */
function expectScaled(got: Float32Array, want: Float32Array, tol: number, label: string): void {
  let scale = 0;
  for (const v of want) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i]) !== Number.isNaN(got[i])) throw new Error(`${label}: NaN at ${i}`);
    const d = Math.abs(got[i] - want[i]);
    if (d > worst) {
      worst = d;
      at = i;
    }
  }
  if (worst > tol * scale) {
    throw new Error(
      `${label}: worst at ${at}: got ${got[at]}, expected ${want[at]} (|diff| ${worst}, allowed ${tol * scale})`,
    );
  }
}

function terms(b: Built): number {
  return (b.g.inChannels / b.g.groups) * b.g.kernelH * b.g.kernelW;
}

describe('conv2dFused, TS backend', () => {
  CASES.forEach((c, idx) => {
    it(`${c.name}: equals conv2d, activation and pooling in turn`, () => {
      const b = build(c, 900 + idx);
      const want = unfused(T, b);
      expectClose(fused(T, b), want, 0, 0, 'y');
      for (const [i, o] of LAYOUTS) {
        expectClose(fusedLayouts(T, b, i, o), want, 0, 0, `y (input nhwc ${i}, output nhwc ${o})`);
      }
    });
  });

  it('rejects a bad epilogue, naming the argument', () => {
    const b = build(CASES[0], 1);
    const y = new Float32Array(b.outSize);
    const bad = (e: unknown): (() => void) => {
      return () => T.conv2dFused(b.g, b.x, b.w, b.bias, e as ConvEpilogue, y);
    };
    expect(bad(null)).toThrow(/conv2dFused: e must be a ConvEpilogue object, got null/);
    expect(bad({ ...b.e, activation: 'gelu' })).toThrow(/conv2dFused: e.activation must be/);
    expect(bad({ ...b.e, inputLayout: 'chw' })).toThrow(
      /conv2dFused: e.inputLayout must be 'nchw' or 'nhwc', got "chw"/,
    );
    expect(bad({ ...b.e, pool: { kind: 'min', g: b.pg } })).toThrow(
      /conv2dFused: e.pool.kind must be 'max' or 'avg', got "min"/,
    );
    expect(bad({ ...b.e, pool: { kind: 'max', g: { ...b.pg!, channels: 3 } } })).toThrow(
      /conv2dFused: e.pool.g must pool the convolution's output \[9, 32, 26, 26\]/,
    );
    expect(() => T.conv2dFused(b.g, b.x, b.w, b.bias, b.e, new Float32Array(5))).toThrow(
      /conv2dFused: y must have at least/,
    );
  });
});

describe.skipIf(native === null && process.env.CONVNET_BACKEND === 'ts')(
  'conv2dFused, native backend',
  () => {
    it('loads the native backend', () => {
      if (native === null) throw new Error(`native backend not loadable: ${loadError}`);
    });
    if (native === null) return;
    const nb = native;
    const N = nb.kernels;
    for (const isa of nb.availableIsas()) {
      for (const threads of [1, 2]) {
        for (const algo of ['auto', 'direct', 'winograd'] as const) {
          describe(`${isa}, ${threads} thread${threads > 1 ? 's' : ''}, conv algo ${algo}`, () => {
            CASES.forEach((c, idx) => {
              it(`${c.name}: equals the unfused native kernels and the TS kernels`, () => {
                nb.setIsa(isa);
                nb.setNumThreads(threads);
                nb.setConvAlgo(algo);
                try {
                  const b = build(c, 900 + idx);
                  const got = fused(N, b);
                  // The fused form sums each output in the order the unfused kernels use, or
                  // close (Winograd: the very same convolution).
                  expectClose(got, unfused(N, b), 1e-6, 1e-6, 'y against native');
                  const want = unfused(T, b);
                  if (algo !== 'direct' && winogradShape(b.g)) {
                    // A NaN or infinity spreads over its whole Winograd tile; the unfused
                    // native kernels (the same convolution) are the reference then.
                    if (c.specials === true) return;
                    // Winograd's transforms round differently from a direct sum: judged against
                    // the scale of the whole output, as native/test/conv2d_winograd_test.cc.
                    expectScaled(got, want, 2e-5, 'y against TS (Winograd)');
                  } else {
                    expectClose(got, want, 1e-4, 2e-6 * Math.sqrt(terms(b)), 'y against TS');
                  }
                  for (const [i, o] of LAYOUTS) {
                    const label = `y (input nhwc ${i}, output nhwc ${o})`;
                    expectClose(fusedLayouts(N, b, i, o), got, 1e-6, 1e-6, label);
                  }
                } finally {
                  nb.setConvAlgo('auto');
                }
              });
            });
          });
        }
      }
    }

    it('asks for NCHW input exactly where it convolves with Winograd', () => {
      const layout = (x: number[], w: number[], padding = 0): string =>
        N.conv2dFusedInputLayout!(conv2dGeometry('conv2d', x, w, { padding }));
      try {
        nb.setConvAlgo('auto');
        expect(layout([8, 32, 13, 13], [64, 32, 3, 3])).toBe('nchw');
        expect(layout([8, 1, 28, 28], [32, 1, 3, 3])).toBe('nhwc');
        expect(layout([8, 32, 13, 13], [64, 32, 5, 5])).toBe('nhwc');
        nb.setConvAlgo('direct');
        expect(layout([8, 32, 13, 13], [64, 32, 3, 3])).toBe('nhwc');
        nb.setConvAlgo('winograd');
        expect(layout([8, 1, 28, 28], [32, 1, 3, 3], 1)).toBe('nchw');
      } finally {
        nb.setConvAlgo('auto');
      }
    });

    it('rejects bad arguments, naming the function and the argument', () => {
      const b = build(CASES[0], 1);
      const y = new Float32Array(b.outSize);
      const call = (e: unknown, out = y): (() => void) => {
        return () => N.conv2dFused(b.g, b.x, b.w, b.bias, e as ConvEpilogue, out);
      };
      expect(call({ ...b.e, activation: 'gelu' })).toThrow(
        /conv2dFused: e.activation must be an integer/,
      );
      expect(call({ ...b.e, pool: { kind: 'min', g: b.pg } })).toThrow(
        /conv2dFused: e.pool must be an integer/,
      );
      expect(call({ ...b.e, activation: 'leakyRelu', negativeSlope: NaN })).toThrow(
        /conv2dFused: e.negativeSlope must be a finite number/,
      );
      expect(call({ ...b.e, pool: { kind: 'max', g: { ...b.pg!, outHeight: 14 } } })).toThrow(
        /conv2dFused: e.pool.g.outHeight must be 13 \(from inHeight, kernelH, strideH, padH\), got 14/,
      );
      expect(call({ ...b.e, pool: { kind: 'max', g: { ...b.pg!, channels: 3 } } })).toThrow(
        /conv2dFused: e.pool.g must pool the convolution's output \[9, 32, 26, 26\], got \[9, 3, 26, 26\]/,
      );
      expect(call(b.e, new Float32Array(5))).toThrow(
        /conv2dFused: y must have at least 48672 elements \(N\*O\*PH\*PW\), got 5/,
      );
      expect(call(null)).toThrow(/conv2dFused: e must be a ConvEpilogue object, got null/);
      expect(call({ ...b.e, outputLayout: 'nchwc' })).toThrow(
        /conv2dFused: e.outputLayout must be a boolean/,
      );
    });
  },
);
