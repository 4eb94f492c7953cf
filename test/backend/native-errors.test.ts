/**
 * Bad arguments to every native kernel throw TypeError (wrong type: null, a plain array, another
 * typed array) or RangeError (too few elements, negative or inconsistent sizes) whose message
 * names the kernel and the argument, before any memory is touched; the process survives and
 * the kernels keep working.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2dGeometry, pool2dGeometry } from '../../lib/backend/geometry.js';
import type {
  AdamStep,
  BiasGeometry,
  ChannelGeometry,
  GemmParams,
  Kernels,
  RowsGeometry,
} from '../../lib/backend/kernels.js';
import { loadNativeBackend, type NativeBackend } from '../../lib/backend/native.js';

let nb: NativeBackend | null = null;
let loadError = '';
try {
  nb = loadNativeBackend();
} catch (e) {
  loadError = e instanceof Error ? e.message : String(e);
}

type ErrorClass = typeof TypeError | typeof RangeError;

function expectError(call: () => void, type: ErrorClass, pattern: RegExp): void {
  let caught: unknown = null;
  try {
    call();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected ${type.name} matching ${pattern}`).toBeInstanceOf(type);
  expect((caught as Error).message).toMatch(pattern);
}

const f32 = (n: number): Float32Array => new Float32Array(n).fill(0.5);

/** A kernel call with valid arguments; the tests swap one argument for a bad one. */
interface Case {
  kernel: keyof Omit<Kernels, 'name'>;
  args: unknown[];
  /** Names of the arguments, as the kernel's signature in kernels.ts spells them. */
  names: string[];
  /** Positions of arrays that may be null (bias, dbias). */
  nullable?: number[];
  /** Position of the geometry/params record, if any. */
  record?: number;
  /** Position of the array the others must match in length, when there is one. */
  sizedBy?: number;
}

const convG = conv2dGeometry('test', [2, 4, 7, 7], [6, 2, 3, 3], { padding: 1, groups: 2 });
const xN = 2 * 4 * 7 * 7;
const wN = 6 * 2 * 3 * 3;
const yN = 2 * 6 * 7 * 7;
const poolG = pool2dGeometry('test', [2, 3, 8, 8], 2);
const pxN = 2 * 3 * 8 * 8;
const pyN = 2 * 3 * 4 * 4;
const gemmP: GemmParams = { transA: false, transB: true, m: 3, n: 4, k: 5, alpha: 1, beta: 0 };
const biasG: BiasGeometry = { outer: 2, channels: 3, inner: 4 };
const rowsG: RowsGeometry = { rows: 3, cols: 5 };
const chanG: ChannelGeometry = { outer: 2, channels: 3, inner: 4 };
const adamP: AdamStep = {
  beta1: 0.9,
  beta2: 0.999,
  stepSize: 1e-3,
  bias2Sqrt: 0.03,
  eps: 1e-8,
  l2: 0,
  decay: 1,
  sign: 1,
};

function cases(): Case[] {
  const g = ['g'];
  return [
    {
      kernel: 'gemm',
      args: [gemmP, f32(15), f32(20), f32(12)],
      names: ['p', 'a', 'b', 'c'],
      record: 0,
    },
    {
      kernel: 'conv2d',
      args: [convG, f32(xN), f32(wN), f32(6), f32(yN)],
      names: [...g, 'x', 'w', 'bias', 'y'],
      nullable: [3],
      record: 0,
    },
    {
      kernel: 'conv2dBackwardInput',
      args: [convG, f32(yN), f32(wN), f32(xN)],
      names: [...g, 'dy', 'w', 'dx'],
      record: 0,
    },
    {
      kernel: 'conv2dBackwardWeight',
      args: [convG, f32(xN), f32(yN), f32(wN), f32(6)],
      names: [...g, 'x', 'dy', 'dw', 'dbias'],
      nullable: [4],
      record: 0,
    },
    {
      kernel: 'maxPool2d',
      args: [poolG, f32(pxN), f32(pyN), new Int32Array(pyN)],
      names: [...g, 'x', 'y', 'argmax'],
      record: 0,
    },
    {
      kernel: 'maxPool2dBackward',
      args: [poolG, f32(pyN), new Int32Array(pyN), f32(pxN)],
      names: [...g, 'dy', 'argmax', 'dx'],
      record: 0,
    },
    { kernel: 'avgPool2d', args: [poolG, f32(pxN), f32(pyN)], names: [...g, 'x', 'y'], record: 0 },
    {
      kernel: 'avgPool2dBackward',
      args: [poolG, f32(pyN), f32(pxN)],
      names: [...g, 'dy', 'dx'],
      record: 0,
    },
    { kernel: 'relu', args: [f32(10), f32(10)], names: ['x', 'y'] },
    { kernel: 'reluBackward', args: [f32(10), f32(10), f32(10)], names: ['x', 'dy', 'dx'] },
    { kernel: 'leakyRelu', args: [f32(10), f32(10), 0.1], names: ['x', 'y', 'slope'] },
    {
      kernel: 'leakyReluBackward',
      args: [f32(10), f32(10), f32(10), 0.1],
      names: ['x', 'dy', 'dx', 'slope'],
    },
    { kernel: 'sigmoid', args: [f32(10), f32(10)], names: ['x', 'y'] },
    { kernel: 'sigmoidBackward', args: [f32(10), f32(10), f32(10)], names: ['y', 'dy', 'dx'] },
    { kernel: 'tanh', args: [f32(10), f32(10)], names: ['x', 'y'] },
    { kernel: 'tanhBackward', args: [f32(10), f32(10), f32(10)], names: ['y', 'dy', 'dx'] },
    {
      kernel: 'biasAdd',
      args: [biasG, f32(24), f32(3), f32(24)],
      names: [...g, 'x', 'bias', 'y'],
      record: 0,
    },
    {
      kernel: 'biasAddBackward',
      args: [biasG, f32(24), f32(3)],
      names: [...g, 'dy', 'dbias'],
      record: 0,
    },
    { kernel: 'softmax', args: [rowsG, f32(15), f32(15)], names: [...g, 'x', 'y'], record: 0 },
    {
      kernel: 'softmaxBackward',
      args: [rowsG, f32(15), f32(15), f32(15)],
      names: [...g, 'y', 'dy', 'dx'],
      record: 0,
    },
    { kernel: 'logSoftmax', args: [rowsG, f32(15), f32(15)], names: [...g, 'x', 'y'], record: 0 },
    {
      kernel: 'logSoftmaxBackward',
      args: [rowsG, f32(15), f32(15), f32(15)],
      names: [...g, 'y', 'dy', 'dx'],
      record: 0,
    },
    {
      kernel: 'batchNormTraining',
      args: [chanG, f32(24), f32(3), f32(3), f32(24), f32(3), f32(3), f32(3), f32(3), 1e-5, 0.1],
      names: [
        ...g,
        'x',
        'gamma',
        'beta',
        'y',
        'mean',
        'invStd',
        'runningMean',
        'runningVar',
        'eps',
        'momentum',
      ],
      nullable: [2, 3],
      record: 0,
    },
    {
      kernel: 'batchNormInference',
      args: [chanG, f32(24), f32(3), f32(3), f32(3), f32(3), f32(24), 1e-5],
      names: [...g, 'x', 'gamma', 'beta', 'runningMean', 'runningVar', 'y', 'eps'],
      nullable: [2, 3],
      record: 0,
    },
    {
      kernel: 'batchNormBackward',
      args: [chanG, f32(24), f32(24), f32(3), f32(3), f32(3), f32(24), f32(3), f32(3), true],
      names: [...g, 'x', 'dy', 'mean', 'invStd', 'gamma', 'dx', 'dgamma', 'dbeta', 'training'],
      nullable: [5, 6, 7, 8],
      record: 0,
    },
    { kernel: 'globalAvgPool', args: [rowsG, f32(15), f32(3)], names: [...g, 'x', 'y'], record: 0 },
    {
      kernel: 'globalAvgPoolBackward',
      args: [rowsG, f32(3), f32(15)],
      names: [...g, 'dy', 'dx'],
      record: 0,
    },
    { kernel: 'add', args: [f32(10), f32(10), f32(10)], names: ['a', 'b', 'out'] },
    { kernel: 'axpy', args: [f32(10), f32(10), 2], names: ['x', 'y', 'alpha'] },
    {
      kernel: 'adamUpdate',
      args: [adamP, f32(10), f32(10), f32(10), f32(10), f32(10)],
      names: ['p', 'w', 'g', 'm', 'v', 'vMax'],
      nullable: [5],
      record: 0,
      sizedBy: 1,
    },
  ];
}

function call(k: Kernels, c: Case, args: unknown[]): void {
  (k[c.kernel] as (...a: unknown[]) => void)(...args);
}

function withArg(args: unknown[], i: number, v: unknown): unknown[] {
  const copy = args.slice();
  copy[i] = v;
  return copy;
}

/** The first numeric size field of a record, and the field that must be at least 1 (if any). */
const sizeField: Record<string, string> = {
  gemm: 'm',
  conv2d: 'kernelH',
  conv2dBackwardInput: 'strideW',
  conv2dBackwardWeight: 'dilationH',
  maxPool2d: 'kernelW',
  maxPool2dBackward: 'strideH',
  avgPool2d: 'inHeight',
  avgPool2dBackward: 'kernelH',
  biasAdd: 'channels',
  biasAddBackward: 'inner',
  softmax: 'rows',
  softmaxBackward: 'cols',
  logSoftmax: 'cols',
  logSoftmaxBackward: 'rows',
  batchNormTraining: 'outer',
  batchNormInference: 'channels',
  batchNormBackward: 'inner',
  globalAvgPool: 'rows',
  globalAvgPoolBackward: 'cols',
};

describe('native kernels reject bad arguments', () => {
  if (nb === null) {
    it.skipIf(process.env.CONVNET_BACKEND === 'ts')('loads the native backend', () => {
      throw new Error(`the native backend cannot be loaded: ${loadError}`);
    });
    return;
  }
  const k = nb.kernels;

  beforeAll(() => {
    nb!.setNumThreads(2);
  });

  for (const c of cases()) {
    describe(c.kernel, () => {
      it('accepts the valid call', () => {
        call(k, c, c.args);
      });

      c.args.forEach((arg, i) => {
        const name = c.names[i];
        if (arg instanceof Float32Array || arg instanceof Int32Array) {
          const typeName = arg instanceof Float32Array ? 'Float32Array' : 'Int32Array';
          const nullable = c.nullable?.includes(i) ?? false;
          it(`${name}: wrong types are TypeErrors`, () => {
            const wrong =
              arg instanceof Float32Array
                ? new Float64Array(arg.length)
                : new Float32Array(arg.length);
            const bad: unknown[] = [wrong, Array.from(arg), 'x', 3, undefined];
            if (!nullable) bad.push(null);
            for (const v of bad) {
              expectError(
                () => call(k, c, withArg(c.args, i, v)),
                TypeError,
                new RegExp(`^${c.kernel}: ${name} must be an? ${typeName}`),
              );
            }
          });
          if (nullable) {
            it(`${name}: null is accepted`, () => call(k, c, withArg(c.args, i, null)));
          }
          it(`${name}: too few elements is a RangeError`, () => {
            const short =
              arg instanceof Float32Array ? f32(arg.length - 1) : new Int32Array(arg.length - 1);
            // Elementwise kernels size everything by one array (the first, or `sizedBy`), so
            // shortening that one is reported on the next array.
            const sizedBy = c.sizedBy ?? (c.record === undefined ? 0 : -1);
            const pattern =
              i === sizedBy
                ? `^${c.kernel}: \\w+ must have as many elements as ${name} \\(${arg.length - 1}\\)`
                : `^${c.kernel}: ${name} must have (at least|as many elements as)`;
            expectError(
              () => call(k, c, withArg(c.args, i, short)),
              RangeError,
              new RegExp(pattern),
            );
          });
        } else if (typeof arg === 'number') {
          it(`${name}: a non-number is a TypeError, a non-finite number a RangeError`, () => {
            expectError(
              () => call(k, c, withArg(c.args, i, '0.1')),
              TypeError,
              new RegExp(`^${c.kernel}: ${name} must be a number`),
            );
            expectError(
              () => call(k, c, withArg(c.args, i, NaN)),
              RangeError,
              new RegExp(`^${c.kernel}: ${name} must be a finite number`),
            );
          });
        }
      });

      if (c.record !== undefined) {
        const r = c.record;
        const recordName = c.names[r];
        it(`${recordName}: null or a non-object is a TypeError`, () => {
          for (const v of [null, undefined, 7]) {
            expectError(
              () => call(k, c, withArg(c.args, r, v)),
              TypeError,
              new RegExp(`^${c.kernel}: ${recordName} must be a \\w+ object`),
            );
          }
        });
        const field = sizeField[c.kernel];
        // adamUpdate's record holds only real numbers (checked separately below).
        if (field !== undefined)
          it(`${recordName}: negative, fractional or missing sizes are RangeErrors`, () => {
            const base = c.args[r] as Record<string, unknown>;
            for (const v of [-1, 2.5, undefined, NaN]) {
              expectError(
                () => call(k, c, withArg(c.args, r, { ...base, [field]: v })),
                RangeError,
                new RegExp(`^${c.kernel}: ${recordName}\\.${field} must be an integer >= \\d`),
              );
            }
          });
      }
    });
  }

  it('zero kernel, stride and dilation sizes are RangeErrors', () => {
    for (const field of ['kernelH', 'strideW', 'dilationH', 'groups', 'outHeight']) {
      expectError(
        () => k.conv2d({ ...convG, [field]: 0 }, f32(xN), f32(wN), null, f32(yN)),
        RangeError,
        new RegExp(`^conv2d: g\\.${field} must be an integer >= 1, got 0$`),
      );
    }
  });

  it('inconsistent convolution geometry is a RangeError', () => {
    expectError(
      () => k.conv2d({ ...convG, outHeight: 6 }, f32(xN), f32(wN), null, f32(yN)),
      RangeError,
      /^conv2d: g\.outHeight must be 7 \(from inHeight, kernelH, strideH, padH, dilationH\), got 6$/,
    );
    expectError(
      () => k.conv2d({ ...convG, groups: 3 }, f32(xN), f32(wN), null, f32(yN)),
      RangeError,
      /^conv2d: g\.groups \(3\) must divide both g\.inChannels \(4\) and g\.outChannels \(6\)$/,
    );
    expectError(
      () =>
        k.conv2dBackwardInput(
          { ...convG, inWidth: 1, padW: 0, outWidth: 1 },
          f32(yN),
          f32(wN),
          f32(xN),
        ),
      RangeError,
      /^conv2dBackwardInput: g\.kernelW 3 \(dilation 1\) does not fit g\.inWidth 1 with padding 0$/,
    );
  });

  it('names the expected element count and its formula', () => {
    expectError(
      () => k.conv2d(convG, f32(100), f32(wN), null, f32(yN)),
      RangeError,
      new RegExp(`^conv2d: x must have at least ${xN} elements \\(N\\*C\\*H\\*W\\), got 100$`),
    );
    expectError(
      () => k.relu(f32(5), f32(4)),
      RangeError,
      /^relu: y must have as many elements as x \(5\), got 4$/,
    );
  });

  it('pooling padding above half the kernel is a RangeError', () => {
    const g = { ...poolG, padH: 2, outHeight: 6 };
    expectError(
      () => k.avgPool2d(g, f32(pxN), f32(2 * 3 * 6 * 4)),
      RangeError,
      /^avgPool2d: padding 2x0 must be at most half the kernel 2x2$/,
    );
  });

  it('maxPool2dBackward rejects argmax entries outside the input plane', () => {
    const argmax = new Int32Array(pyN);
    for (const bad of [-1, 64, 1 << 30]) {
      argmax[5] = bad;
      expectError(
        () => k.maxPool2dBackward(poolG, f32(pyN), argmax, f32(pxN)),
        RangeError,
        new RegExp(
          `^maxPool2dBackward: argmax\\[5\\] = ${bad} is outside the input plane \\[0, 64\\)$`,
        ),
      );
    }
  });

  it('gemm: degenerate sizes are fine, absurd ones are RangeErrors', () => {
    const c = new Float32Array([1, 2, 3, 4, 5, 6]);
    k.gemm({ ...gemmP, m: 2, n: 3, k: 0, beta: 2 }, f32(0), f32(0), c);
    expect(Array.from(c)).toEqual([2, 4, 6, 8, 10, 12]);
    expectError(
      () => k.gemm({ ...gemmP, m: 1e6, n: 1e6 }, f32(15), f32(20), f32(12)),
      RangeError,
      /^gemm: a must have at least 5000000 elements \(m\*k\), got 15$/,
    );
    expectError(
      () => k.gemm({ ...gemmP, alpha: Infinity }, f32(15), f32(20), f32(12)),
      RangeError,
      /^gemm: p\.alpha must be a finite number, got Infinity$/,
    );
  });

  it('runtime setters validate their arguments', () => {
    expectError(() => nb!.setNumThreads(0), RangeError, /^setNumThreads: n must be an integer/);
    expectError(() => nb!.setNumThreads(1.5), RangeError, /^setNumThreads: n must be an integer/);
    expectError(
      () => nb!.setNumThreads('2' as unknown as number),
      TypeError,
      /^setNumThreads: n must be a number/,
    );
    expectError(
      () => nb!.setIsa(7 as unknown as 'avx2'),
      TypeError,
      /^setIsa: isa must be a string/,
    );
    expectError(
      () => nb!.setIsa('avx512' as unknown as 'avx2'),
      RangeError,
      /^setIsa: unknown instruction set 'avx512'/,
    );
  });

  it('batch norm: bad scalars, a lone running statistic, an empty channel are errors', () => {
    const train = (over: Partial<Record<string, unknown>>): void => {
      const a = {
        g: chanG as unknown,
        rm: f32(3) as Float32Array | null,
        rv: f32(3) as Float32Array | null,
        eps: 1e-5,
        momentum: 0.1,
        ...over,
      };
      k.batchNormTraining(
        a.g as ChannelGeometry,
        f32(24),
        null,
        null,
        f32(24),
        f32(3),
        f32(3),
        a.rm,
        a.rv,
        a.eps,
        a.momentum,
      );
    };
    train({ rm: null, rv: null });
    expectError(
      () => train({ eps: -1 }),
      RangeError,
      /^batchNormTraining: eps must be >= 0, got -1$/,
    );
    expectError(
      () => train({ momentum: 1.5 }),
      RangeError,
      /^batchNormTraining: momentum must be in \[0, 1\], got 1\.5$/,
    );
    expectError(
      () => train({ rv: null }),
      TypeError,
      /^batchNormTraining: runningVar must be a Float32Array when runningMean is given \(both or neither\), got null$/,
    );
    expectError(
      () => train({ g: { outer: 0, channels: 3, inner: 4 } }),
      RangeError,
      /^batchNormTraining: each channel needs at least 1 value \(g\.outer \* g\.inner\), got 0$/,
    );
    expectError(
      () => k.batchNormInference(chanG, f32(24), null, null, f32(3), f32(3), f32(24), -0.5),
      RangeError,
      /^batchNormInference: eps must be >= 0, got -0\.5$/,
    );
    for (const bad of [1, 'true', null, undefined]) {
      expectError(
        () =>
          k.batchNormBackward(
            chanG,
            f32(24),
            f32(24),
            f32(3),
            f32(3),
            null,
            f32(24),
            null,
            null,
            bad as unknown as boolean,
          ),
        TypeError,
        /^batchNormBackward: training must be a boolean, got /,
      );
    }
  });

  it('adamUpdate: non-finite scalars and a zero bias correction are RangeErrors', () => {
    for (const field of Object.keys(adamP)) {
      expectError(
        () => k.adamUpdate({ ...adamP, [field]: NaN }, f32(4), f32(4), f32(4), f32(4), null),
        RangeError,
        new RegExp(`^adamUpdate: p\\.${field} must be a finite number, got NaN`),
      );
    }
    expectError(
      () => k.adamUpdate({ ...adamP, bias2Sqrt: 0 }, f32(4), f32(4), f32(4), f32(4), null),
      RangeError,
      /^adamUpdate: p\.bias2Sqrt must be > 0, got 0$/,
    );
  });

  it('globalAvgPool: planes of zero elements are a RangeError', () => {
    expectError(
      () => k.globalAvgPool({ rows: 3, cols: 0 }, f32(0), f32(3)),
      RangeError,
      /^globalAvgPool: g\.cols must be an integer >= 1, got 0$/,
    );
  });

  it('the process survives and the kernels still compute after all of the above', () => {
    const y = new Float32Array(3);
    k.relu(new Float32Array([-1, 0, 2]), y);
    expect(Array.from(y)).toEqual([0, 0, 2]);
    const c = new Float32Array(1);
    k.gemm(
      { transA: false, transB: false, m: 1, n: 1, k: 2, alpha: 1, beta: 0 },
      new Float32Array([1, 2]),
      new Float32Array([3, 4]),
      c,
    );
    expect(c[0]).toBe(11);
  });
});
