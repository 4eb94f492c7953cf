/**
 * Weight initialisation, as torch.nn.init: every function fills its tensor in place from the
 * seeded generator (defaultGenerator unless one is given) and returns it. Fans follow PyTorch:
 * for a weight [out, in, ...kernel], fanIn = in * prod(kernel) and fanOut = out * prod(kernel).
 */
import { defaultGenerator, Generator } from '../random.js';
import { formatShape, Tensor } from '../tensor.js';

export type Nonlinearity =
  | 'linear'
  | 'identity'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'leakyRelu'
  | 'selu';

export type FanMode = 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out';

export interface KaimingOptions {
  /** The negative slope of the leaky ReLU that follows (used with 'leaky_relu'; default 0). */
  a?: number;
  /** 'fanIn' (default) preserves the forward pass' variance, 'fanOut' the backward pass'. */
  mode?: FanMode;
  /** Default 'leaky_relu', as PyTorch. */
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

export interface XavierOptions {
  gain?: number;
  generator?: Generator;
}

function floatData(fn: string, t: unknown): Float32Array {
  if (!(t instanceof Tensor))
    throw new TypeError(`init.${fn}: tensor must be a Tensor, got ${typeof t}`);
  if (!(t.data instanceof Float32Array)) {
    throw new TypeError(
      `init.${fn}: tensor must be float32, got int32 of shape ${formatShape(t.shape)}`,
    );
  }
  return t.data;
}

function generatorOf(fn: string, g: Generator | undefined): Generator {
  if (g === undefined) return defaultGenerator;
  if (!(g instanceof Generator))
    throw new TypeError(`init.${fn}: generator must be a Generator, got ${typeof g}`);
  return g;
}

function finite(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new RangeError(`init.${fn}: ${name} must be a finite number, got ${String(v)}`);
  }
  return v;
}

/** PyTorch's _calculate_fan_in_and_fan_out: needs at least 2 dimensions. */
export function calculateFanInAndFanOut(
  t: Tensor,
  fn = 'calculateFanInAndFanOut',
): { fanIn: number; fanOut: number } {
  if (!(t instanceof Tensor))
    throw new TypeError(`init.${fn}: tensor must be a Tensor, got ${typeof t}`);
  if (t.ndim < 2) {
    throw new RangeError(
      `init.${fn}: fan in and fan out need a tensor with at least 2 dimensions, got shape ${formatShape(t.shape)}`,
    );
  }
  const receptive = t.shape.slice(2).reduce((p, d) => p * d, 1);
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

/** The recommended gain for a nonlinearity (PyTorch's calculate_gain); `param` is leaky_relu's slope. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'identity':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
    case 'leakyRelu': {
      const slope = param === undefined ? 0.01 : finite('calculateGain', 'param', param);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new RangeError(
        `init.calculateGain: unsupported nonlinearity ${JSON.stringify(nonlinearity)}`,
      );
  }
}

function fanFor(fn: string, t: Tensor, mode: FanMode): number {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, fn);
  if (mode === 'fanIn' || mode === 'fan_in') return fanIn;
  if (mode === 'fanOut' || mode === 'fan_out') return fanOut;
  throw new RangeError(`init.${fn}: mode must be 'fanIn' or 'fanOut', got ${JSON.stringify(mode)}`);
}

function kaimingStd(fn: string, t: Tensor, opts: KaimingOptions): number {
  const a = finite(fn, 'a', opts.a ?? 0);
  const fan = fanFor(fn, t, opts.mode ?? 'fanIn');
  if (fan === 0)
    throw new RangeError(
      `init.${fn}: cannot initialise a tensor with zero elements (shape ${formatShape(t.shape)})`,
    );
  return calculateGain(opts.nonlinearity ?? 'leaky_relu', a) / Math.sqrt(fan);
}

function fillUniform(data: Float32Array, low: number, high: number, gen: Generator): void {
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * gen.uniform();
}

function fillNormal(data: Float32Array, mean: number, std: number, gen: Generator): void {
  for (let i = 0; i < data.length; i++) data[i] = mean + std * gen.normal();
}

/** U(low, high). */
export function uniform(t: Tensor, low = 0, high = 1, generator?: Generator): Tensor {
  const d = floatData('uniform', t);
  finite('uniform', 'low', low);
  finite('uniform', 'high', high);
  if (low > high) throw new RangeError(`init.uniform: low (${low}) must not exceed high (${high})`);
  fillUniform(d, low, high, generatorOf('uniform', generator));
  return t;
}

/** N(mean, std²). */
export function normal(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  const d = floatData('normal', t);
  finite('normal', 'mean', mean);
  if (finite('normal', 'std', std) < 0)
    throw new RangeError(`init.normal: std must be >= 0, got ${std}`);
  fillNormal(d, mean, std, generatorOf('normal', generator));
  return t;
}

export function constant(t: Tensor, value: number): Tensor {
  floatData('constant', t).fill(finite('constant', 'value', value));
  return t;
}

export function zeros(t: Tensor): Tensor {
  floatData('zeros', t).fill(0);
  return t;
}

export function ones(t: Tensor): Tensor {
  floatData('ones', t).fill(1);
  return t;
}

/** He uniform: U(-b, b) with b = gain * sqrt(3 / fan). */
export function kaimingUniform(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const d = floatData('kaimingUniform', t);
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform', t, opts);
  fillUniform(d, -bound, bound, generatorOf('kaimingUniform', opts.generator));
  return t;
}

/** He normal: N(0, gain² / fan). */
export function kaimingNormal(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const d = floatData('kaimingNormal', t);
  const std = kaimingStd('kaimingNormal', t, opts);
  fillNormal(d, 0, std, generatorOf('kaimingNormal', opts.generator));
  return t;
}

function xavierStd(fn: string, t: Tensor, opts: XavierOptions): number {
  const gain = finite(fn, 'gain', opts.gain ?? 1);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t, fn);
  if (fanIn + fanOut === 0)
    throw new RangeError(`init.${fn}: cannot initialise a tensor with zero elements`);
  return gain * Math.sqrt(2 / (fanIn + fanOut));
}

/** Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(t: Tensor, opts: XavierOptions = {}): Tensor {
  const d = floatData('xavierUniform', t);
  const a = Math.sqrt(3) * xavierStd('xavierUniform', t, opts);
  fillUniform(d, -a, a, generatorOf('xavierUniform', opts.generator));
  return t;
}

/** Glorot normal: N(0, gain² * 2 / (fanIn + fanOut)). */
export function xavierNormal(t: Tensor, opts: XavierOptions = {}): Tensor {
  const d = floatData('xavierNormal', t);
  const std = xavierStd('xavierNormal', t, opts);
  fillNormal(d, 0, std, generatorOf('xavierNormal', opts.generator));
  return t;
}

/**
 * PyTorch's default for Conv*d and Linear (reset_parameters): weight from kaiming_uniform_ with
 * a = sqrt(5), which is U(-1/sqrt(fanIn), 1/sqrt(fanIn)); bias from the same bound.
 */
export function defaultLayerInit(weight: Tensor, bias: Tensor | null, generator?: Generator): void {
  kaimingUniform(weight, { a: Math.sqrt(5), generator });
  if (bias !== null) {
    const { fanIn } = calculateFanInAndFanOut(weight, 'defaultLayerInit');
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform(bias, -bound, bound, generator);
  }
}
