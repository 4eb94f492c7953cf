/**
 * Native kernels against the TypeScript kernels on the same seeded inputs, for every instruction
 * set this CPU supports and at 1 and 2 threads. Every native argument is a view at an unaligned
 * offset into a larger buffer whose margins hold a sentinel, so misaligned SIMD loads and writes
 * past the end of an output show up as failures.
 *
 * Without a loadable native addon this suite fails with the loader's reason, unless
 * CONVNET_BACKEND=ts says that only the TS backend is wanted.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type {
  BiasGeometry,
  ChannelGeometry,
  Isa,
  Kernels,
  RowsGeometry,
} from '../../lib/backend/kernels.js';
import { loadNativeBackend, type NativeBackend } from '../../lib/backend/native.js';
import { tsKernels as T } from '../../lib/backend/ts/index.js';
import { expectClose, expectEqualInts, maxAbs, Rng } from '../helpers.js';
import { conv2dGeometry, pool2dGeometry } from '../../lib/backend/geometry.js';
import {
  adamCases,
  adamStepOf,
  channelShapes,
  convCases,
  gemmCases,
  poolCases,
} from './reference.js';

let native: NativeBackend | null = null;
let loadError = '';
try {
  native = loadNativeBackend();
} catch (e) {
  loadError = e instanceof Error ? e.message : String(e);
}

/** Instruction sets this machine's CPU can run, by the same rules as native/core/cpu_features. */
function cpuIsas(): Isa[] {
  if (process.arch === 'arm64') return ['neon', 'scalar'];
  if (process.arch !== 'x64') return ['scalar'];
  const isas: Isa[] = ['sse2', 'scalar'];
  try {
    const flags =
      /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(/\s+/) ?? [];
    if (flags.includes('avx2') && flags.includes('fma')) isas.unshift('avx2');
  } catch {
    // no /proc/cpuinfo (not Linux): only the baseline is certain
  }
  return isas;
}

/** float32 with another summation order: relative 1e-4, absolute scaled by sqrt(terms). */
function parityClose(
  actual: Float32Array,
  expected: Float32Array,
  terms: number,
  label: string,
): void {
  expectClose(
    actual,
    expected,
    1e-4,
    2e-6 * Math.sqrt(Math.max(terms, 1)) * Math.max(1, maxAbs(expected)),
    label,
  );
}

const SENTINEL = 1234.5;
const INT_SENTINEL = 1234;

/**
 * A length-n view starting `offset` elements into a buffer with `offset` + 3 spare elements; the
 * margins hold a sentinel, so writes outside the view can be detected.
 */
class Guarded<A extends Float32Array | Int32Array> {
  readonly view: A;

  constructor(
    private readonly buffer: A,
    private readonly offset: number,
    n: number,
    private readonly sentinel: number,
  ) {
    buffer.fill(sentinel);
    this.view = buffer.subarray(offset, offset + n) as A;
  }

  /** Throws if anything outside the view changed. */
  checkMargins(label: string): void {
    const end = this.offset + this.view.length;
    for (let i = 0; i < this.buffer.length; i++) {
      if ((i < this.offset || i >= end) && !Object.is(this.buffer[i], this.sentinel)) {
        const where =
          i < this.offset
            ? `${this.offset - i} element(s) before its start`
            : `${i - end + 1} element(s) past its end`;
        throw new Error(`${label}: ${this.buffer[i]} was written ${where}`);
      }
    }
  }
}

/** An unaligned guarded Float32Array holding `data`, or n NaNs (an output to be overwritten). */
function f32(data: Float32Array | number, offset: number): Guarded<Float32Array> {
  const n = typeof data === 'number' ? data : data.length;
  const g = new Guarded(new Float32Array(n + offset + 3), offset, n, SENTINEL);
  if (typeof data === 'number') g.view.fill(NaN);
  else g.view.set(data);
  return g;
}

/**
 * n NaNs: the TS kernels' outputs start as this, so an element a kernel fails to write shows up
 * (outputs are overwritten, and callers hand kernels uninitialized memory).
 */
function nans(n: number): Float32Array {
  return new Float32Array(n).fill(NaN);
}

/** An unaligned guarded Int32Array of n elements, all -7. */
function i32(n: number, offset: number): Guarded<Int32Array> {
  const g = new Guarded(new Int32Array(n + offset + 3), offset, n, INT_SENTINEL);
  g.view.fill(-7);
  return g;
}

function expectUnchanged(a: Guarded<Float32Array>, original: Float32Array, label: string): void {
  a.checkMargins(label);
  expectClose(a.view, original, 0, 0, `${label} (an input) was modified:`);
}

function runSuite(nb: NativeBackend): void {
  const N: Kernels = nb.kernels;

  it('offers every instruction set this CPU supports', () => {
    expect(nb.kernels.name).toBe('native');
    expect(nb.availableIsas()).toEqual(expect.arrayContaining(cpuIsas()));
  });

  // The TS kernels accept empty products (as BLAS and PyTorch do); the native ones must too.
  it('degenerate sizes: gemm with k = 0 leaves beta * C', () => {
    for (const beta of [0, 0.5]) {
      const p = { transA: false, transB: true, m: 2, n: 3, k: 0, alpha: 1, beta };
      const expected = new Float32Array([1, 2, 3, 4, 5, 6]);
      T.gemm(p, new Float32Array(0), new Float32Array(0), expected);
      const c = new Float32Array([1, 2, 3, 4, 5, 6]);
      N.gemm(p, new Float32Array(0), new Float32Array(0), c);
      expectClose(c, expected, 0, 0, `C (k = 0, beta = ${beta})`);
    }
  });

  it('degenerate sizes: gemm with m = 0 or n = 0 writes nothing', () => {
    const c = new Float32Array([9]);
    N.gemm(
      { transA: false, transB: false, m: 0, n: 1, k: 2, alpha: 1, beta: 0 },
      new Float32Array(0),
      new Float32Array(2),
      c,
    );
    N.gemm(
      { transA: false, transB: false, m: 1, n: 0, k: 2, alpha: 1, beta: 0 },
      new Float32Array(2),
      new Float32Array(0),
      c,
    );
    expect(c[0]).toBe(9);
  });

  for (const isa of nb.availableIsas()) {
    for (const threads of [1, 2]) {
      describe(`${isa}, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
        const use = (): void => {
          nb.setIsa(isa);
          nb.setNumThreads(threads);
          expect(nb.isa()).toBe(isa);
          expect(nb.numThreads()).toBe(threads);
        };
        gemmParity(N, use);
        convParity(N, use);
        poolParity(N, use);
        elementwiseParity(N, use);
        normalizationParity(N, use);
      });
    }
  }
}

function gemmParity(N: Kernels, use: () => void): void {
  const cases = [
    ...gemmCases(),
    {
      name: 'large, crossing every block: 257x300x520 A^T B',
      p: { transA: true, transB: false, m: 257, n: 300, k: 520, alpha: 1, beta: 0 },
    },
    {
      name: 'wide, crossing the native column block (nc): 3x4200x20 A^T B^T',
      p: { transA: true, transB: true, m: 3, n: 4200, k: 20, alpha: 0.5, beta: 0 },
    },
    {
      name: 'large: 200x130x300 A B^T beta 1',
      p: { transA: false, transB: true, m: 200, n: 130, k: 300, alpha: 1, beta: 1 },
    },
  ];
  cases.forEach(({ name, p }, idx) => {
    it(`gemm ${name}`, () => {
      use();
      const rng = new Rng(100 + idx);
      const a = rng.array(p.m * p.k);
      const b = rng.array(p.k * p.n);
      const c = p.beta === 0 ? new Float32Array(p.m * p.n).fill(NaN) : rng.array(p.m * p.n);
      const off = 1 + (idx % 3);
      const na = f32(a, off);
      const nbArr = f32(b, off + 1);
      const nc = f32(c, off);
      const expected = c.slice();
      T.gemm(p, a, b, expected);
      N.gemm(p, na.view, nbArr.view, nc.view);
      nc.checkMargins('C');
      parityClose(nc.view, expected, p.k, 'C');
      expectUnchanged(na, a, 'A');
      expectUnchanged(nbArr, b, 'B');
    });
  });
}

function convParity(N: Kernels, use: () => void): void {
  const cases = [
    ...convCases(new Rng(11), 12),
    {
      name: 'larger: batch 4, 16 -> 32 channels, 16x16, 3x3 pad 1',
      g: conv2dGeometry('parity', [4, 16, 16, 16], [32, 16, 3, 3], { padding: 1 }),
    },
    {
      name: 'larger depthwise: batch 3, 24 channels, 15x15, 3x3 stride 2 pad 1',
      g: conv2dGeometry('parity', [3, 24, 15, 15], [24, 1, 3, 3], {
        padding: 1,
        stride: 2,
        groups: 24,
      }),
    },
    {
      name: 'im2col in column chunks (K = 6400 > 2^21 / 361 pixels): 256 -> 2 channels, 19x19, 5x5 pad 2',
      g: conv2dGeometry('parity', [1, 256, 19, 19], [2, 256, 5, 5], { padding: 2 }),
    },
    {
      name: 'larger 1x1: batch 5, 40 -> 36 channels, 9x9',
      g: conv2dGeometry('parity', [5, 40, 9, 9], [36, 40, 1, 1]),
    },
    // Enough output channels per group for the indirect (im2col-free) path on every level.
    {
      name: 'indirect: groups 2 of 8 outputs, stride 2, pad 1',
      g: conv2dGeometry('parity', [3, 4, 9, 11], [16, 2, 3, 3], {
        stride: 2,
        padding: 1,
        groups: 2,
      }),
    },
    {
      name: 'indirect: batch 1 (split over pixel tiles), dilation 2, pad 2, 20 outputs',
      g: conv2dGeometry('parity', [1, 5, 12, 10], [20, 5, 3, 3], { dilation: 2, padding: 2 }),
    },
    {
      name: 'indirect: 2x3 kernel, stride [1, 2], pad [1, 0], 17 outputs (a partial panel)',
      g: conv2dGeometry('parity', [2, 3, 8, 9], [17, 3, 2, 3], {
        stride: [1, 2],
        padding: [1, 0],
      }),
    },
    {
      name: 'indirect: the reference CNN first layer, 1 -> 32, 28x28, batch 3',
      g: conv2dGeometry('parity', [3, 1, 28, 28], [32, 1, 3, 3]),
    },
    {
      name: 'indirect: weight gradient over several image chunks, batch 40, 8 -> 16, 20x20 pad 1',
      g: conv2dGeometry('parity', [40, 8, 20, 20], [16, 8, 3, 3], { padding: 1 }),
    },
    {
      name: 'depthwise (direct path): multiplier 2, dilation 2, stride [1, 2], pad [2, 1], batch 3',
      g: conv2dGeometry('parity', [3, 5, 11, 12], [10, 1, 3, 3], {
        groups: 5,
        dilation: 2,
        stride: [1, 2],
        padding: [2, 1],
      }),
    },
    {
      name: 'depthwise (direct path): 64 channels of 16x16, split over threads',
      g: conv2dGeometry('parity', [4, 64, 16, 16], [64, 1, 3, 3], { groups: 64, padding: 1 }),
    },
    {
      name: 'backward input by tiles scattered into dx (stride 2, many outputs): 8 -> 512, 8x8',
      g: conv2dGeometry('parity', [2, 8, 8, 8], [512, 8, 3, 3], { stride: 2, padding: 1 }),
    },
    {
      name: 'backward input scattered, a partial pixel tile: 4 -> 512, 8x12 stride 2',
      g: conv2dGeometry('parity', [1, 4, 8, 12], [512, 4, 3, 3], { stride: 2, padding: 1 }),
    },
    {
      name: 'backward input scattered, 1x1 padded beyond the extent: 8 -> 512, 4x4 pad 1',
      g: conv2dGeometry('parity', [2, 8, 4, 4], [512, 8, 1, 1], { padding: 1 }),
    },
    // 3x3 stride 1 with 16+ channels: Winograd F(4x4, 3x3) (128+ for the weight gradient).
    {
      name: 'winograd: 16 -> 16, odd 7x9 (partial tiles), no padding, batch 2',
      g: conv2dGeometry('parity', [2, 16, 7, 9], [16, 16, 3, 3]),
    },
    {
      name: 'winograd: 24 -> 20, 5x5 (smaller than two tiles), pad 2, batch 1',
      g: conv2dGeometry('parity', [1, 24, 5, 5], [20, 24, 3, 3], { padding: 2 }),
    },
    {
      name: 'winograd: the reference CNN second layer, 32 -> 64, 13x13, batch 3',
      g: conv2dGeometry('parity', [3, 32, 13, 13], [64, 32, 3, 3]),
    },
    {
      // 384 tiles: at 2 threads each thread takes whole blocks (GEMM panels of 16 tiles,
      // partial tiles at the right and bottom edges).
      name: 'winograd, blocks per thread: 63 -> 65, 29x31 pad 1, batch 6',
      g: conv2dGeometry('parity', [6, 63, 29, 31], [65, 63, 3, 3], { padding: 1 }),
    },
    {
      name: 'winograd weight gradient too: 128 -> 130, 6x5 pad 1, batch 2',
      g: conv2dGeometry('parity', [2, 128, 6, 5], [130, 128, 3, 3], { padding: 1 }),
    },
    // Transformed weights (36 * out * in floats) past the shared cache's share: the wide-layer
    // Winograd path, which transforms them panel by panel inside the GEMMs.
    {
      name: 'winograd wide layer: 171 -> 190, 7x7, no padding, batch 1',
      g: conv2dGeometry('parity', [1, 171, 7, 7], [190, 171, 3, 3]),
    },
    {
      name: 'winograd wide layer: 190 -> 180, 4x4 pad 2, batch 3',
      g: conv2dGeometry('parity', [3, 190, 4, 4], [180, 190, 3, 3], { padding: 2 }),
    },
    {
      name: '1x1 padded: backward input padding beyond the kernel extent',
      g: conv2dGeometry('parity', [2, 8, 5, 5], [16, 8, 1, 1], { padding: 1 }),
    },
  ];
  cases.forEach(({ name, g }, idx) => {
    it(`conv2d ${name}`, () => {
      use();
      const rng = new Rng(200 + idx);
      const Kdim = (g.inChannels / g.groups) * g.kernelH * g.kernelW;
      const P = g.outHeight * g.outWidth;
      const xSize = g.batch * g.inChannels * g.inHeight * g.inWidth;
      const wSize = g.outChannels * Kdim;
      const ySize = g.batch * g.outChannels * P;
      const x = rng.array(xSize);
      const w = rng.array(wSize);
      const bias = rng.array(g.outChannels);
      const dy = rng.array(ySize);
      const off = 1 + (idx % 3);
      const nx = f32(x, off);
      const nw = f32(w, off + 1);
      const nbias = f32(bias, off);
      const ndy = f32(dy, off + 2);

      for (const withBias of [true, false]) {
        const y = nans(ySize);
        T.conv2d(g, x, w, withBias ? bias : null, y);
        const ny = f32(ySize, off);
        N.conv2d(g, nx.view, nw.view, withBias ? nbias.view : null, ny.view);
        ny.checkMargins('y');
        parityClose(ny.view, y, Kdim, withBias ? 'forward y' : 'forward y (no bias)');
      }

      const dx = nans(xSize);
      T.conv2dBackwardInput(g, dy, w, dx);
      const ndx = f32(xSize, off);
      N.conv2dBackwardInput(g, ndy.view, nw.view, ndx.view);
      ndx.checkMargins('dx');
      parityClose(ndx.view, dx, (g.outChannels / g.groups) * g.kernelH * g.kernelW, 'dx');

      const dw = nans(wSize);
      const db = nans(g.outChannels);
      T.conv2dBackwardWeight(g, x, dy, dw, db);
      const ndw = f32(wSize, off);
      const ndb = f32(g.outChannels, off + 1);
      N.conv2dBackwardWeight(g, nx.view, ndy.view, ndw.view, ndb.view);
      ndw.checkMargins('dw');
      ndb.checkMargins('dbias');
      parityClose(ndw.view, dw, g.batch * P, 'dw');
      parityClose(ndb.view, db, g.batch * P, 'dbias');
      const ndw2 = f32(wSize, off);
      N.conv2dBackwardWeight(g, nx.view, ndy.view, ndw2.view, null);
      parityClose(ndw2.view, dw, g.batch * P, 'dw (no dbias)');

      expectUnchanged(nx, x, 'x');
      expectUnchanged(nw, w, 'w');
      expectUnchanged(nbias, bias, 'bias');
      expectUnchanged(ndy, dy, 'dy');
    });
  });
}

function poolParity(N: Kernels, use: () => void): void {
  const cases = [
    ...poolCases(new Rng(13), 12),
    {
      name: 'larger: batch 4, 16 channels, 28x28, 2x2',
      g: pool2dGeometry('parity', [4, 16, 28, 28], 2),
    },
    {
      name: 'larger: batch 3, 8 channels, 17x19, 3x3 stride 2 pad 1, countIncludePad false',
      g: pool2dGeometry('parity', [3, 8, 17, 19], 3, {
        stride: 2,
        padding: 1,
        countIncludePad: false,
      }),
    },
  ];
  cases.forEach(({ name, g }, idx) => {
    it(`pool2d ${name}`, () => {
      use();
      const rng = new Rng(300 + idx);
      const xSize = g.batch * g.channels * g.inHeight * g.inWidth;
      const ySize = g.batch * g.channels * g.outHeight * g.outWidth;
      const off = 1 + (idx % 3);
      // Tie-free and all negative: argmax is unique, and padding must never win.
      const x = rng.distinct(xSize, -3, -0.5);
      const dy = rng.array(ySize);
      const nx = f32(x, off);
      const ndy = f32(dy, off + 1);

      const y = nans(ySize);
      const argmax = new Int32Array(ySize).fill(-7);
      T.maxPool2d(g, x, y, argmax);
      const ny = f32(ySize, off);
      const nArgmax = i32(ySize, off + 2);
      N.maxPool2d(g, nx.view, ny.view, nArgmax.view);
      ny.checkMargins('max y');
      nArgmax.checkMargins('argmax');
      expectEqualInts(nArgmax.view, argmax, 'argmax');
      expectClose(ny.view, y, 0, 0, 'max y');

      const dx = nans(xSize);
      T.maxPool2dBackward(g, dy, argmax, dx);
      const ndx = f32(xSize, off);
      const argmaxIn = i32(ySize, off);
      argmaxIn.view.set(argmax);
      N.maxPool2dBackward(g, ndy.view, argmaxIn.view, ndx.view);
      ndx.checkMargins('max dx');
      parityClose(ndx.view, dx, g.kernelH * g.kernelW, 'max dx');

      const ay = nans(ySize);
      T.avgPool2d(g, x, ay);
      const nay = f32(ySize, off);
      N.avgPool2d(g, nx.view, nay.view);
      nay.checkMargins('avg y');
      parityClose(nay.view, ay, g.kernelH * g.kernelW, 'avg y');

      const adx = nans(xSize);
      T.avgPool2dBackward(g, dy, adx);
      const nadx = f32(xSize, off + 1);
      N.avgPool2dBackward(g, ndy.view, nadx.view);
      nadx.checkMargins('avg dx');
      parityClose(nadx.view, adx, g.kernelH * g.kernelW, 'avg dx');

      expectUnchanged(nx, x, 'x');
      expectUnchanged(ndy, dy, 'dy');
    });
  });
}

function elementwiseParity(N: Kernels, use: () => void): void {
  // 1003 elements: not a multiple of any vector width, so every tail loop runs.
  const n = 1003;
  const inputs = (seed: number): { x: Float32Array; dy: Float32Array } => {
    const rng = new Rng(seed);
    const x = rng.array(n, -9, 9);
    x.set([0, -0, 30, -30, 88, -88, 1e-8, -1e-8], 0);
    return { x, dy: rng.array(n) };
  };
  type Unary = (k: Kernels, x: Float32Array, y: Float32Array) => void;
  const unary: [string, Unary, number][] = [
    ['relu', (k, x, y) => k.relu(x, y), 0],
    ['leakyRelu', (k, x, y) => k.leakyRelu(x, y, 0.1), 1e-6],
    ['sigmoid', (k, x, y) => k.sigmoid(x, y), 1e-5],
    ['tanh', (k, x, y) => k.tanh(x, y), 1e-5],
  ];
  unary.forEach(([name, f, rtol], idx) => {
    it(`${name}, out of place and in place`, () => {
      use();
      const { x } = inputs(400 + idx);
      const expected = nans(n);
      f(T, x, expected);
      const off = 1 + idx;
      const nx = f32(x, off);
      const ny = f32(n, off + 1);
      f(N, nx.view, ny.view);
      ny.checkMargins(name);
      expectClose(ny.view, expected, rtol, rtol / 10, name);
      expectUnchanged(nx, x, 'x');
      f(N, nx.view, nx.view);
      nx.checkMargins(`${name} in place`);
      expectClose(nx.view, expected, rtol, rtol / 10, `${name} in place`);
    });
  });

  type Backward = (k: Kernels, v: Float32Array, dy: Float32Array, dx: Float32Array) => void;
  const backward: [string, Unary | null, Backward][] = [
    ['reluBackward', null, (k, v, dy, dx) => k.reluBackward(v, dy, dx)],
    ['leakyReluBackward', null, (k, v, dy, dx) => k.leakyReluBackward(v, dy, dx, 0.1)],
    [
      'sigmoidBackward',
      (k, x, y) => k.sigmoid(x, y),
      (k, v, dy, dx) => k.sigmoidBackward(v, dy, dx),
    ],
    ['tanhBackward', (k, x, y) => k.tanh(x, y), (k, v, dy, dx) => k.tanhBackward(v, dy, dx)],
  ];
  backward.forEach(([name, saved, f], idx) => {
    it(`${name}, out of place and in place`, () => {
      use();
      const { x, dy } = inputs(500 + idx);
      let v = x;
      if (saved !== null) {
        v = nans(n);
        saved(T, x, v);
      }
      const expected = nans(n);
      f(T, v, dy, expected);
      const off = 2 + idx;
      const nv = f32(v, off);
      const ndy = f32(dy, off + 1);
      const ndx = f32(n, off);
      f(N, nv.view, ndy.view, ndx.view);
      ndx.checkMargins(name);
      expectClose(ndx.view, expected, 1e-6, 1e-7, name);
      f(N, nv.view, ndy.view, ndy.view);
      ndy.checkMargins(`${name} in place`);
      expectClose(ndy.view, expected, 1e-6, 1e-7, `${name} in place (dx = dy)`);
      expectUnchanged(nv, v, 'saved forward value');
    });
  });

  const biasShapes: BiasGeometry[] = [
    { outer: 3, channels: 4, inner: 5 },
    { outer: 33, channels: 10, inner: 1 },
    { outer: 4, channels: 17, inner: 49 },
  ];
  biasShapes.forEach((g, idx) => {
    it(`biasAdd [${g.outer}, ${g.channels}, ${g.inner}], forward (also in place) and backward`, () => {
      use();
      const rng = new Rng(600 + idx);
      const size = g.outer * g.channels * g.inner;
      const x = rng.array(size);
      const bias = rng.array(g.channels);
      const dy = rng.array(size);
      const y = nans(size);
      T.biasAdd(g, x, bias, y);
      const db = nans(g.channels);
      T.biasAddBackward(g, dy, db);
      const off = 1 + idx;
      const nx = f32(x, off);
      const nbias = f32(bias, off + 1);
      const ny = f32(size, off + 2);
      N.biasAdd(g, nx.view, nbias.view, ny.view);
      ny.checkMargins('y');
      expectClose(ny.view, y, 1e-6, 1e-7, 'biasAdd');
      N.biasAdd(g, nx.view, nbias.view, nx.view);
      nx.checkMargins('y in place');
      expectClose(nx.view, y, 1e-6, 1e-7, 'biasAdd in place');
      const ndy = f32(dy, off);
      const ndb = f32(g.channels, off + 1);
      N.biasAddBackward(g, ndy.view, ndb.view);
      ndb.checkMargins('dbias');
      parityClose(ndb.view, db, g.outer * g.inner, 'dbias');
    });
  });

  const rowShapes: RowsGeometry[] = [
    { rows: 1, cols: 1 },
    { rows: 7, cols: 10 },
    { rows: 3, cols: 1001 },
  ];
  rowShapes.forEach((g, idx) => {
    it(`softmax and logSoftmax [${g.rows}, ${g.cols}], forward (also in place) and backward`, () => {
      use();
      const rng = new Rng(700 + idx);
      const size = g.rows * g.cols;
      const x = rng.array(size, -10, 10);
      const dy = rng.array(size);
      const off = 1 + idx;
      const nx = f32(x, off);
      const ndy = f32(dy, off + 1);
      for (const [name, fwd, bwd] of [
        ['softmax', (k: Kernels) => k.softmax.bind(k), (k: Kernels) => k.softmaxBackward.bind(k)],
        [
          'logSoftmax',
          (k: Kernels) => k.logSoftmax.bind(k),
          (k: Kernels) => k.logSoftmaxBackward.bind(k),
        ],
      ] as const) {
        const y = nans(size);
        fwd(T)(g, x, y);
        const ny = f32(size, off + 2);
        fwd(N)(g, nx.view, ny.view);
        ny.checkMargins(name);
        expectClose(ny.view, y, 1e-5, 1e-6, name);
        const inPlace = f32(x, off);
        fwd(N)(g, inPlace.view, inPlace.view);
        expectClose(inPlace.view, y, 1e-5, 1e-6, `${name} in place`);
        const dx = nans(size);
        bwd(T)(g, y, dy, dx);
        const ndx = f32(size, off);
        bwd(N)(g, f32(y, off + 1).view, ndy.view, ndx.view);
        ndx.checkMargins(`${name}Backward`);
        expectClose(ndx.view, dx, 1e-5, 1e-5 * Math.sqrt(g.cols), `${name}Backward`);
      }
      expectUnchanged(nx, x, 'x');
      expectUnchanged(ndy, dy, 'dy');
    });
  });

  it('softmax and logSoftmax stay exact and finite for logits of +-1e4', () => {
    use();
    const g: RowsGeometry = { rows: 3, cols: 3 };
    const x = new Float32Array([1e4, 0, -1e4, -1e4, -1e4, -1e4, 1e4, 1e4, -1e4]);
    for (const name of ['softmax', 'logSoftmax'] as const) {
      const expected = nans(9);
      T[name](g, x, expected);
      const y = f32(9, 1);
      N[name](g, f32(x, 2).view, y.view);
      for (const v of y.view) expect(Number.isFinite(v)).toBe(true);
      expectClose(y.view, expected, 1e-6, 1e-7, name);
    }
  });
}

function normalizationParity(N: Kernels, use: () => void): void {
  const eps = 1e-5;
  const shapes: ChannelGeometry[] = [
    ...channelShapes,
    // Split over threads: more than two tasks' worth of channels on each path.
    { outer: 2, channels: 1000, inner: 50 },
    { outer: 64, channels: 2000, inner: 1 },
    { outer: 8, channels: 16, inner: 169 },
  ];
  shapes.forEach((g, idx) => {
    const M = g.outer * g.inner;
    it(`batch norm [${g.outer}, ${g.channels}, ${g.inner}]: training, inference, backward`, () => {
      use();
      const rng = new Rng(800 + idx);
      const size = g.outer * g.channels * g.inner;
      const C = g.channels;
      const x = rng.array(size, -2, 3);
      const gamma = rng.array(C, 0.5, 1.5);
      const beta = rng.array(C);
      const rm = rng.array(C);
      const rv = rng.array(C, 0.5, 2);
      const dy = rng.array(size);
      const off = 1 + (idx % 3);
      const nx = f32(x, off);
      const ngamma = f32(gamma, off + 1);
      const nbeta = f32(beta, off + 2);
      const ndy = f32(dy, off);

      for (const affine of [true, false]) {
        const gm = affine ? gamma : null;
        const bt = affine ? beta : null;
        const y = nans(size);
        const mean = nans(C);
        const invStd = nans(C);
        const runMean = rm.slice();
        const runVar = rv.slice();
        T.batchNormTraining(g, x, gm, bt, y, mean, invStd, runMean, runVar, eps, 0.1);
        const ny = f32(size, off);
        const nmean = f32(C, off + 1);
        const ninv = f32(C, off + 2);
        const nrm = f32(rm, off);
        const nrv = f32(rv, off + 1);
        N.batchNormTraining(
          g,
          nx.view,
          affine ? ngamma.view : null,
          affine ? nbeta.view : null,
          ny.view,
          nmean.view,
          ninv.view,
          nrm.view,
          nrv.view,
          eps,
          0.1,
        );
        for (const [a, name] of [
          [ny, 'y'],
          [nmean, 'mean'],
          [ninv, 'invStd'],
          [nrm, 'runningMean'],
          [nrv, 'runningVar'],
        ] as const) {
          a.checkMargins(name);
        }
        expectClose(ny.view, y, 1e-4, 1e-5, `y (affine ${affine})`);
        expectClose(nmean.view, mean, 1e-5, 1e-6, 'mean');
        expectClose(ninv.view, invStd, 1e-5, 1e-6, 'invStd');
        expectClose(nrm.view, runMean, 1e-5, 1e-6, 'runningMean');
        if (M > 1) expectClose(nrv.view, runVar, 1e-5, 1e-6, 'runningVar');

        const dx = nans(size);
        const dgamma = nans(C);
        const dbeta = nans(C);
        T.batchNormBackward(g, x, dy, mean, invStd, gm, dx, dgamma, dbeta, true);
        const ndx = f32(size, off + 1);
        const ndg = f32(C, off);
        const ndb = f32(C, off + 2);
        N.batchNormBackward(
          g,
          nx.view,
          ndy.view,
          f32(mean, off).view,
          f32(invStd, off + 1).view,
          affine ? ngamma.view : null,
          ndx.view,
          ndg.view,
          ndb.view,
          true,
        );
        ndx.checkMargins('dx');
        ndg.checkMargins('dgamma');
        ndb.checkMargins('dbeta');
        expectClose(ndx.view, dx, 1e-3, 1e-4, 'dx');
        parityClose(ndg.view, dgamma, M, 'dgamma');
        parityClose(ndb.view, dbeta, M, 'dbeta');
      }

      // In place (y = x, dx = dy), no running statistics.
      const y = nans(size);
      const mean = nans(C);
      const invStd = nans(C);
      T.batchNormTraining(g, x, gamma, beta, y, mean, invStd, null, null, eps, 0.1);
      const inPlace = f32(x, off);
      N.batchNormTraining(
        g,
        inPlace.view,
        gamma,
        beta,
        inPlace.view,
        f32(C, 1).view,
        f32(C, 2).view,
        null,
        null,
        eps,
        0.1,
      );
      inPlace.checkMargins('y in place');
      expectClose(inPlace.view, y, 1e-4, 1e-5, 'y in place');
      const dx = nans(size);
      T.batchNormBackward(g, x, dy, mean, invStd, gamma, dx, null, null, true);
      const dyInPlace = f32(dy, off + 1);
      N.batchNormBackward(
        g,
        nx.view,
        dyInPlace.view,
        mean,
        invStd,
        gamma,
        dyInPlace.view,
        null,
        null,
        true,
      );
      dyInPlace.checkMargins('dx in place');
      expectClose(dyInPlace.view, dx, 1e-3, 1e-4, 'dx in place (dx = dy)');

      // Inference and its backward.
      const iy = nans(size);
      T.batchNormInference(g, x, gamma, beta, rm, rv, iy, eps);
      const niy = f32(size, off + 2);
      N.batchNormInference(
        g,
        nx.view,
        ngamma.view,
        nbeta.view,
        f32(rm, 1).view,
        f32(rv, 2).view,
        niy.view,
        eps,
      );
      niy.checkMargins('inference y');
      expectClose(niy.view, iy, 1e-5, 1e-6, 'inference y');
      const runInv = Float32Array.from(rv, (v) => 1 / Math.sqrt(v + eps));
      const idx2 = nans(size);
      const idg = nans(C);
      const idb = nans(C);
      T.batchNormBackward(g, x, dy, rm, runInv, gamma, idx2, idg, idb, false);
      const nidx = f32(size, off);
      const nidg = f32(C, off + 1);
      const nidb = f32(C, off + 2);
      N.batchNormBackward(
        g,
        nx.view,
        ndy.view,
        rm,
        runInv,
        ngamma.view,
        nidx.view,
        nidg.view,
        nidb.view,
        false,
      );
      nidx.checkMargins('inference dx');
      expectClose(nidx.view, idx2, 1e-5, 1e-6, 'inference dx');
      parityClose(nidg.view, idg, M, 'inference dgamma');
      parityClose(nidb.view, idb, M, 'inference dbeta');

      expectUnchanged(nx, x, 'x');
      expectUnchanged(ngamma, gamma, 'gamma');
      expectUnchanged(nbeta, beta, 'beta');
      expectUnchanged(ndy, dy, 'dy');
    });
  });

  const planeShapes: RowsGeometry[] = [
    { rows: 1, cols: 1 },
    { rows: 6, cols: 49 },
    { rows: 2048, cols: 49 },
  ];
  planeShapes.forEach((g, idx) => {
    it(`globalAvgPool [${g.rows}, ${g.cols}], forward and backward`, () => {
      use();
      const rng = new Rng(850 + idx);
      const x = rng.array(g.rows * g.cols);
      const dy = rng.array(g.rows);
      const y = nans(g.rows);
      T.globalAvgPool(g, x, y);
      const nx = f32(x, 1 + idx);
      const ny = f32(g.rows, 2);
      N.globalAvgPool(g, nx.view, ny.view);
      ny.checkMargins('y');
      parityClose(ny.view, y, g.cols, 'y');
      const dx = nans(g.rows * g.cols);
      T.globalAvgPoolBackward(g, dy, dx);
      const ndx = f32(g.rows * g.cols, 3);
      N.globalAvgPoolBackward(g, f32(dy, 1).view, ndx.view);
      ndx.checkMargins('dx');
      expectClose(ndx.view, dx, 1e-6, 1e-8, 'dx');
      expectUnchanged(nx, x, 'x');
    });
  });

  adamCases.forEach((h, idx) => {
    it(`adamUpdate #${idx}${h.amsgrad ? ' (amsgrad)' : ''}, 100003 elements (split over threads)`, () => {
      use();
      const rng = new Rng(880 + idx);
      const n = 100_003;
      const p = adamStepOf(h);
      const w = rng.array(n);
      const g = rng.array(n);
      const m = rng.array(n, -0.1, 0.1);
      const v = rng.array(n, 0, 0.01);
      const vMax = h.amsgrad ? rng.array(n, 0, 0.012) : null;
      const tw = w.slice();
      const tm = m.slice();
      const tv = v.slice();
      const tvMax = vMax === null ? null : vMax.slice();
      T.adamUpdate(p, tw, g, tm, tv, tvMax);
      const nw = f32(w, 1);
      const ng = f32(g, 2);
      const nm = f32(m, 3);
      const nv = f32(v, 1);
      const nvMax = vMax === null ? null : f32(vMax, 2);
      N.adamUpdate(p, nw.view, ng.view, nm.view, nv.view, nvMax === null ? null : nvMax.view);
      for (const [a, name] of [
        [nw, 'w'],
        [nm, 'm'],
        [nv, 'v'],
      ] as const) {
        a.checkMargins(name);
      }
      expectClose(nw.view, tw, 1e-5, 1e-7, 'w');
      expectClose(nm.view, tm, 1e-6, 1e-8, 'm');
      expectClose(nv.view, tv, 1e-6, 1e-9, 'v');
      if (nvMax !== null && tvMax !== null) {
        nvMax.checkMargins('vMax');
        expectClose(nvMax.view, tvMax, 1e-6, 1e-9, 'vMax');
      }
      expectUnchanged(ng, g, 'g');
    });
  });

  for (const n of [1003, 200_003]) {
    it(`add and axpy, ${n} elements, out of place and in place`, () => {
      use();
      const rng = new Rng(870 + n);
      const a = rng.array(n);
      const b = rng.array(n);
      const want = nans(n);
      T.add(a, b, want);
      const na = f32(a, 1);
      const nb2 = f32(b, 2);
      const out = f32(n, 3);
      N.add(na.view, nb2.view, out.view);
      out.checkMargins('add');
      expectClose(out.view, want, 0, 0, 'add');
      N.add(na.view, nb2.view, na.view);
      na.checkMargins('add in place');
      expectClose(na.view, want, 0, 0, 'add in place');
      for (const alpha of [1, -0.5]) {
        const y = b.slice();
        T.axpy(a, y, alpha);
        const ny = f32(b, 1);
        N.axpy(f32(a, 2).view, ny.view, alpha);
        ny.checkMargins('axpy');
        expectClose(ny.view, y, 1e-6, 1e-7, `axpy alpha ${alpha}`);
      }
      expectUnchanged(nb2, b, 'b');
    });
  }
}

describe('native vs ts parity', () => {
  if (native !== null) {
    runSuite(native);
  } else if (process.env.CONVNET_BACKEND === 'ts') {
    it.skip(`native backend not loaded (CONVNET_BACKEND=ts): ${loadError}`, () => {});
  } else {
    it('loads the native backend', () => {
      throw new Error(
        `the native backend cannot be loaded, so parity cannot be checked: ${loadError}`,
      );
    });
  }
});
