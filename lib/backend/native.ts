/**
 * The native backend: loads the addon built from native/ (build/Release, or a prebuild under
 * prebuilds/<platform>-<arch>/, found by node-gyp-build) and wraps its functions as the kernel
 * set. The addon validates every argument itself (TypeError / RangeError naming the kernel and
 * the argument); this wrapper only flattens geometry records into a reused Float64Array, so a
 * call costs one N-API typed-array lookup instead of a property read per field.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type {
  AdamStep,
  BiasGeometry,
  ChannelGeometry,
  ConvEpilogue,
  Conv2dGeometry,
  GemmParams,
  Isa,
  Kernels,
  Pool2dGeometry,
  RowsGeometry,
} from './kernels.js';
import { packageRoot } from '../package-root.js';

export interface NativeBackend {
  kernels: Kernels;
  /** Micro-kernel level in use. */
  isa(): Isa;
  /** Levels this CPU (and this build) supports, best first, e.g. ['avx2', 'sse2', 'scalar']. */
  availableIsas(): Isa[];
  /** Switches the level at run time; a level the CPU lacks throws an Error listing the others. */
  setIsa(isa: Isa): void;
  /**
   * Whether 3x3 stride-1 convolutions may use Winograd: 'auto' by a cost rule, 'direct' never,
   * 'winograd' always (as CONVNET_CONV_ALGO; process-wide).
   */
  setConvAlgo(algo: 'auto' | 'direct' | 'winograd'): void;
  numThreads(): number;
  setNumThreads(n: number): void;
  /** GFLOP/s of independent multiply-adds at the current level (for benchmarks). */
  fmaPeak(threads?: number, seconds?: number): number;
}

type F32 = Float32Array;
type Geo = Float64Array;

/** The addon's exports (native/binding/). Geometry records are Float64Arrays, fields in order. */
interface Addon {
  gemm(p: Geo, a: F32, b: F32, c: F32): void;
  conv2d(g: Geo, x: F32, w: F32, bias: F32 | null, y: F32): void;
  conv2dFused(g: Geo, x: F32, w: F32, bias: F32 | null, e: Geo, poolG: Geo | null, y: F32): void;
  conv2dFusedInputLayout(g: Geo): 'nchw' | 'nhwc';
  conv2dBackwardInput(g: Geo, dy: F32, w: F32, dx: F32): void;
  conv2dBackwardWeight(g: Geo, x: F32, dy: F32, dw: F32, dbias: F32 | null): void;
  maxPool2d(g: Geo, x: F32, y: F32, argmax: Int32Array): void;
  maxPool2dBackward(g: Geo, dy: F32, argmax: Int32Array, dx: F32): void;
  avgPool2d(g: Geo, x: F32, y: F32): void;
  avgPool2dBackward(g: Geo, dy: F32, dx: F32): void;
  relu(x: F32, y: F32): void;
  reluBackward(x: F32, dy: F32, dx: F32): void;
  leakyRelu(x: F32, y: F32, slope: number): void;
  leakyReluBackward(x: F32, dy: F32, dx: F32, slope: number): void;
  sigmoid(x: F32, y: F32): void;
  sigmoidBackward(y: F32, dy: F32, dx: F32): void;
  tanh(x: F32, y: F32): void;
  tanhBackward(y: F32, dy: F32, dx: F32): void;
  biasAdd(g: Geo, x: F32, bias: F32, y: F32): void;
  biasAddBackward(g: Geo, dy: F32, dbias: F32): void;
  softmax(g: Geo, x: F32, y: F32): void;
  softmaxBackward(g: Geo, y: F32, dy: F32, dx: F32): void;
  logSoftmax(g: Geo, x: F32, y: F32): void;
  logSoftmaxBackward(g: Geo, y: F32, dy: F32, dx: F32): void;
  batchNormTraining(
    g: Geo,
    x: F32,
    gamma: F32 | null,
    beta: F32 | null,
    y: F32,
    mean: F32,
    invStd: F32,
    runningMean: F32 | null,
    runningVar: F32 | null,
    eps: number,
    momentum: number,
    residual: F32 | null,
    relu: boolean,
  ): void;
  batchNormInference(
    g: Geo,
    x: F32,
    gamma: F32 | null,
    beta: F32 | null,
    runningMean: F32,
    runningVar: F32,
    y: F32,
    eps: number,
  ): void;
  batchNormBackward(
    g: Geo,
    x: F32,
    dy: F32,
    mean: F32,
    invStd: F32,
    gamma: F32 | null,
    dx: F32 | null,
    dgamma: F32 | null,
    dbeta: F32 | null,
    training: boolean,
    reluOut: F32 | null,
    dresidual: F32 | null,
  ): void;
  globalAvgPool(g: Geo, x: F32, y: F32): void;
  globalAvgPoolBackward(g: Geo, dy: F32, dx: F32): void;
  add(a: F32, b: F32, out: F32): void;
  axpy(x: F32, y: F32, alpha: number): void;
  adamUpdate(p: Geo, w: F32, g: F32, m: F32, v: F32, vMax: F32 | null): void;
  isa(): Isa;
  availableIsas(): Isa[];
  setIsa(isa: string): void;
  setConvAlgo(algo: string): void;
  numThreads(): number;
  setNumThreads(n: number): void;
  fmaPeak(threads?: number, seconds?: number): number;
}

const ISAS: readonly Isa[] = ['scalar', 'sse2', 'avx2', 'neon'];

function loadAddon(): Addon {
  const root = packageRoot();
  const nodeGypBuild = createRequire(__filename)('node-gyp-build') as (dir: string) => unknown;
  try {
    return nodeGypBuild(root) as Addon;
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).trim().replace(/\s+/g, ' ');
    if (msg.startsWith('No native build was found')) {
      // node-gyp-build looks under CONVNET_PREBUILD instead of the package when it is set.
      const dir = process.env.CONVNET_PREBUILD || root;
      const build = path.join(dir, 'build', 'Release');
      const prebuilds = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
      throw new Error(
        `no native binary found in ${build} or ${prebuilds} (${msg}); ` +
          'build it with `npm rebuild convnet` (needs python3, make and a C++ compiler)',
      );
    }
    throw new Error(`the native binary could not be loaded: ${msg}`);
  }
}

/** Applies CONVNET_ARCH=scalar|sse2|avx2|neon, if set. */
function applyArchOverride(addon: Addon): void {
  const env = process.env.CONVNET_ARCH;
  if (env === undefined || env === '') return;
  if (!(ISAS as readonly string[]).includes(env)) {
    throw new Error(`CONVNET_ARCH must be one of ${ISAS.join(', ')}, got '${env}'`);
  }
  if (!addon.availableIsas().includes(env as Isa)) {
    throw new Error(
      `CONVNET_ARCH=${env}, but this CPU supports only ${addon.availableIsas().join(', ')}`,
    );
  }
  addon.setIsa(env);
}

const CONV_ALGOS: readonly string[] = ['auto', 'direct', 'winograd'];

/** Applies CONVNET_CONV_ALGO=auto|direct|winograd (3x3 stride-1 convolutions), if set. */
function applyConvAlgoOverride(addon: Addon): void {
  const env = process.env.CONVNET_CONV_ALGO;
  if (env === undefined || env === '') return;
  if (!CONV_ALGOS.includes(env)) {
    throw new Error(`CONVNET_CONV_ALGO must be one of ${CONV_ALGOS.join(', ')}, got '${env}'`);
  }
  addon.setConvAlgo(env);
}

// One record per geometry kind, reused across calls: JS is single-threaded per isolate and the
// addon copies the fields before it returns.
const gemmRec = new Float64Array(7);
const convRec = new Float64Array(16);
const poolRec = new Float64Array(13);
const biasRec = new Float64Array(3);
const rowsRec = new Float64Array(2);
const adamRec = new Float64Array(8);
const epilogueRec = new Float64Array(5);

// Codes must match FusedActivation / FusedPool in native/core/conv2d_fused.h.
const ACTIVATION_CODES: Record<string, number> = {
  none: 0,
  relu: 1,
  leakyRelu: 2,
  sigmoid: 3,
  tanh: 4,
};
const POOL_CODES: Record<string, number> = { max: 1, avg: 2 };

function requireObject(fn: string, name: string, what: string, v: unknown): void {
  if (typeof v !== 'object' || v === null) {
    throw new TypeError(
      `${fn}: ${name} must be a ${what} object, got ${v === null ? 'null' : typeof v}`,
    );
  }
}

function gemmRecord(p: GemmParams): Geo {
  requireObject('gemm', 'p', 'GemmParams', p);
  const r = gemmRec;
  r[0] = p.transA ? 1 : 0;
  r[1] = p.transB ? 1 : 0;
  r[2] = p.m;
  r[3] = p.n;
  r[4] = p.k;
  r[5] = p.alpha;
  r[6] = p.beta;
  return r;
}

// Field order must match kConvFields in native/binding/kernels_binding.cc.
function convRecord(fn: string, g: Conv2dGeometry): Geo {
  requireObject(fn, 'g', 'Conv2dGeometry', g);
  const r = convRec;
  r[0] = g.batch;
  r[1] = g.inChannels;
  r[2] = g.inHeight;
  r[3] = g.inWidth;
  r[4] = g.outChannels;
  r[5] = g.kernelH;
  r[6] = g.kernelW;
  r[7] = g.strideH;
  r[8] = g.strideW;
  r[9] = g.padH;
  r[10] = g.padW;
  r[11] = g.dilationH;
  r[12] = g.dilationW;
  r[13] = g.groups;
  r[14] = g.outHeight;
  r[15] = g.outWidth;
  return r;
}

// Field order must match kPoolFields in native/binding/kernels_binding.cc.
function poolRecord(fn: string, g: Pool2dGeometry): Geo {
  requireObject(fn, 'g', 'Pool2dGeometry', g);
  const r = poolRec;
  r[0] = g.batch;
  r[1] = g.channels;
  r[2] = g.inHeight;
  r[3] = g.inWidth;
  r[4] = g.kernelH;
  r[5] = g.kernelW;
  r[6] = g.strideH;
  r[7] = g.strideW;
  r[8] = g.padH;
  r[9] = g.padW;
  r[10] = g.outHeight;
  r[11] = g.outWidth;
  r[12] = g.countIncludePad ? 1 : 0;
  return r;
}

function layoutCode(layout: unknown): number {
  if (layout === undefined || layout === 'nchw') return 0;
  return layout === 'nhwc' ? 1 : NaN;
}

// Field order must match kEpilogueFields in native/binding/kernels_binding.cc. An unknown
// activation or pool kind becomes NaN, which the addon rejects naming the field.
function epilogueRecord(fn: string, e: ConvEpilogue): Geo {
  requireObject(fn, 'e', 'ConvEpilogue', e);
  const r = epilogueRec;
  r[0] = Object.hasOwn(ACTIVATION_CODES, e.activation) ? ACTIVATION_CODES[e.activation] : NaN;
  r[1] = e.activation === 'leakyRelu' ? e.negativeSlope : 0;
  if (e.pool === null || e.pool === undefined) {
    r[2] = 0;
  } else {
    requireObject(fn, 'e.pool', '{ kind, g }', e.pool);
    r[2] = Object.hasOwn(POOL_CODES, e.pool.kind) ? POOL_CODES[e.pool.kind] : NaN;
  }
  r[3] = layoutCode(e.inputLayout);
  r[4] = layoutCode(e.outputLayout);
  return r;
}

function biasRecord(fn: string, g: BiasGeometry): Geo {
  requireObject(fn, 'g', 'BiasGeometry', g);
  biasRec[0] = g.outer;
  biasRec[1] = g.channels;
  biasRec[2] = g.inner;
  return biasRec;
}

function channelRecord(fn: string, g: ChannelGeometry): Geo {
  requireObject(fn, 'g', 'ChannelGeometry', g);
  biasRec[0] = g.outer;
  biasRec[1] = g.channels;
  biasRec[2] = g.inner;
  return biasRec;
}

// Field order must match kAdamFields in native/binding/kernels_binding.cc.
function adamRecord(p: AdamStep): Geo {
  requireObject('adamUpdate', 'p', 'AdamStep', p);
  const r = adamRec;
  r[0] = p.beta1;
  r[1] = p.beta2;
  r[2] = p.stepSize;
  r[3] = p.bias2Sqrt;
  r[4] = p.eps;
  r[5] = p.l2;
  r[6] = p.decay;
  r[7] = p.sign;
  return r;
}

function rowsRecord(fn: string, g: RowsGeometry): Geo {
  requireObject(fn, 'g', 'RowsGeometry', g);
  rowsRec[0] = g.rows;
  rowsRec[1] = g.cols;
  return rowsRec;
}

function wrapKernels(a: Addon): Kernels {
  return {
    name: 'native',
    gemm: (p, x, w, c) => a.gemm(gemmRecord(p), x, w, c),
    conv2d: (g, x, w, bias, y) => a.conv2d(convRecord('conv2d', g), x, w, bias, y),
    conv2dFused: (g, x, w, bias, e, y) => {
      const er = epilogueRecord('conv2dFused', e);
      const pg = er[2] === 0 ? null : poolRecord('conv2dFused', e.pool!.g);
      a.conv2dFused(convRecord('conv2dFused', g), x, w, bias, er, pg, y);
    },
    conv2dFusedInputLayout: (g) =>
      a.conv2dFusedInputLayout(convRecord('conv2dFusedInputLayout', g)),
    conv2dBackwardInput: (g, dy, w, dx) =>
      a.conv2dBackwardInput(convRecord('conv2dBackwardInput', g), dy, w, dx),
    conv2dBackwardWeight: (g, x, dy, dw, dbias) =>
      a.conv2dBackwardWeight(convRecord('conv2dBackwardWeight', g), x, dy, dw, dbias),
    maxPool2d: (g, x, y, argmax) => a.maxPool2d(poolRecord('maxPool2d', g), x, y, argmax),
    maxPool2dBackward: (g, dy, argmax, dx) =>
      a.maxPool2dBackward(poolRecord('maxPool2dBackward', g), dy, argmax, dx),
    avgPool2d: (g, x, y) => a.avgPool2d(poolRecord('avgPool2d', g), x, y),
    avgPool2dBackward: (g, dy, dx) =>
      a.avgPool2dBackward(poolRecord('avgPool2dBackward', g), dy, dx),
    relu: (x, y) => a.relu(x, y),
    reluBackward: (x, dy, dx) => a.reluBackward(x, dy, dx),
    leakyRelu: (x, y, slope) => a.leakyRelu(x, y, slope),
    leakyReluBackward: (x, dy, dx, slope) => a.leakyReluBackward(x, dy, dx, slope),
    sigmoid: (x, y) => a.sigmoid(x, y),
    sigmoidBackward: (y, dy, dx) => a.sigmoidBackward(y, dy, dx),
    tanh: (x, y) => a.tanh(x, y),
    tanhBackward: (y, dy, dx) => a.tanhBackward(y, dy, dx),
    biasAdd: (g, x, bias, y) => a.biasAdd(biasRecord('biasAdd', g), x, bias, y),
    biasAddBackward: (g, dy, dbias) =>
      a.biasAddBackward(biasRecord('biasAddBackward', g), dy, dbias),
    softmax: (g, x, y) => a.softmax(rowsRecord('softmax', g), x, y),
    softmaxBackward: (g, y, dy, dx) =>
      a.softmaxBackward(rowsRecord('softmaxBackward', g), y, dy, dx),
    logSoftmax: (g, x, y) => a.logSoftmax(rowsRecord('logSoftmax', g), x, y),
    logSoftmaxBackward: (g, y, dy, dx) =>
      a.logSoftmaxBackward(rowsRecord('logSoftmaxBackward', g), y, dy, dx),
    batchNormTraining: (
      g,
      x,
      gamma,
      beta,
      y,
      mean,
      invStd,
      runningMean,
      runningVar,
      eps,
      momentum,
      epilogue,
    ) =>
      a.batchNormTraining(
        channelRecord('batchNormTraining', g),
        x,
        gamma,
        beta,
        y,
        mean,
        invStd,
        runningMean,
        runningVar,
        eps,
        momentum,
        epilogue?.residual ?? null,
        epilogue?.relu ?? false,
      ),
    batchNormInference: (g, x, gamma, beta, runningMean, runningVar, y, eps) =>
      a.batchNormInference(
        channelRecord('batchNormInference', g),
        x,
        gamma,
        beta,
        runningMean,
        runningVar,
        y,
        eps,
      ),
    batchNormBackward: (g, x, dy, mean, invStd, gamma, dx, dgamma, dbeta, training, epilogue) =>
      a.batchNormBackward(
        channelRecord('batchNormBackward', g),
        x,
        dy,
        mean,
        invStd,
        gamma,
        dx,
        dgamma,
        dbeta,
        training,
        epilogue?.reluOut ?? null,
        epilogue?.dresidual ?? null,
      ),
    globalAvgPool: (g, x, y) => a.globalAvgPool(rowsRecord('globalAvgPool', g), x, y),
    globalAvgPoolBackward: (g, dy, dx) =>
      a.globalAvgPoolBackward(rowsRecord('globalAvgPoolBackward', g), dy, dx),
    add: (x, y, out) => a.add(x, y, out),
    axpy: (x, y, alpha) => a.axpy(x, y, alpha),
    adamUpdate: (p, w, g, m, v, vMax) => a.adamUpdate(adamRecord(p), w, g, m, v, vMax),
  };
}

let cached: NativeBackend | null = null;

/**
 * Loads the addon (once per process) and applies CONVNET_ARCH and CONVNET_CONV_ALGO. Throws an
 * Error saying why when it cannot: no binary at the searched paths, the dynamic loader's message,
 * or an unusable CONVNET_ARCH or CONVNET_CONV_ALGO.
 */
export function loadNativeBackend(): NativeBackend {
  if (cached !== null) return cached;
  const addon = loadAddon();
  applyArchOverride(addon);
  applyConvAlgoOverride(addon);
  cached = {
    kernels: Object.freeze(wrapKernels(addon)),
    isa: () => addon.isa(),
    availableIsas: () => addon.availableIsas(),
    setIsa: (isa) => addon.setIsa(isa),
    setConvAlgo: (algo) => addon.setConvAlgo(algo),
    numThreads: () => addon.numThreads(),
    setNumThreads: (n) => addon.setNumThreads(n),
    fmaPeak: (threads, seconds) => addon.fmaPeak(threads, seconds),
  };
  return cached;
}
