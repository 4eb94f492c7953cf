/**
 * Tensor: a shape and a typed array (Float32Array, or Int32Array for integer labels and indices),
 * with the autograd fields `requiresGrad`, `grad` and `gradFn`. Data is owned by the garbage
 * collector: nothing ever needs disposing.
 */
import { backward, type BackwardOptions, type GradFn } from './autograd/engine.js';
import { defaultGenerator, type Generator } from './random.js';
// Circular imports: the functional modules import Tensor, and the methods below call into them.
// Nothing here runs at module load time, so either side may load first.
import * as act from './functional/activation.js';
import * as ew from './functional/elementwise.js';
import * as mm from './functional/matmul.js';
import * as rd from './functional/reduce.js';
import * as sh from './functional/shape.js';

export type DType = 'float32' | 'int32';
export type TensorData = Float32Array | Int32Array;
/** Nested arrays of numbers, as accepted by `fromArray` and `tensor`. */
export type NestedArray = number | NestedArray[];

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function checkShape(fn: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TypeError(
      `${fn}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
  return [...shape];
}

export class Tensor {
  readonly shape: readonly number[];
  readonly data: TensorData;
  /** When true, operations on this tensor are recorded and backward() fills `grad`. */
  requiresGrad: boolean;
  /** The accumulated gradient (same shape), filled by backward(); null until then. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it was recorded; null for leaves. */
  gradFn: GradFn | null = null;
  /** Non-leaf tensors keep their gradient only after `retainGrad()`. */
  retainsGrad = false;

  constructor(data: TensorData, shape: readonly number[], requiresGrad = false) {
    const s = checkShape('Tensor', shape);
    if (shapeSize(s) !== data.length) {
      throw new RangeError(
        `Tensor: shape ${formatShape(s)} needs ${shapeSize(s)} elements, got ${data.length}`,
      );
    }
    if (requiresGrad && !(data instanceof Float32Array)) {
      throw new TypeError('Tensor: only float32 tensors can require gradients');
    }
    this.shape = Object.freeze(s);
    this.data = data;
    this.requiresGrad = requiresGrad;
  }

  get dtype(): DType {
    return this.data instanceof Int32Array ? 'int32' : 'float32';
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Whether this tensor was created by the user rather than recorded from an op. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** The data as a Float32Array, or a clear error for int32 tensors. */
  get f32(): Float32Array {
    if (!(this.data instanceof Float32Array)) {
      throw new TypeError(
        `expected a float32 tensor, got int32 of shape ${formatShape(this.shape)}`,
      );
    }
    return this.data;
  }

  /** Builds a gradient tensor for this one (used by the autograd engine). */
  makeGradTensor(g: Float32Array): Tensor {
    return new Tensor(g, this.shape);
  }

  /** Sets requiresGrad on a leaf and returns this, like torch's requires_grad_(). */
  setRequiresGrad(flag = true): this {
    if (flag && !(this.data instanceof Float32Array)) {
      throw new TypeError('setRequiresGrad: only float32 tensors can require gradients');
    }
    if (!flag && this.gradFn !== null) {
      throw new Error(
        'setRequiresGrad: cannot turn off gradients on a non-leaf tensor; use detach()',
      );
    }
    this.requiresGrad = flag;
    return this;
  }

  /** Keeps this (non-leaf) tensor's gradient in `.grad` during backward(). */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  /** Back-propagates from this tensor; a one-element tensor needs no gradient argument. */
  backward(gradient?: Tensor | Float32Array, opts?: BackwardOptions): void {
    const g = gradient instanceof Tensor ? gradient.f32 : gradient;
    backward(this, g, opts);
  }

  /** A tensor sharing this one's data, cut off from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** A deep copy of the data (not recorded). */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape, false);
  }

  /** Clears the accumulated gradient. */
  zeroGrad(): void {
    this.grad = null;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(
        `item: only one-element tensors can be converted to a number, got shape ${formatShape(this.shape)}`,
      );
    }
    return this.data[0];
  }

  /** The data as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return this.data[offset];
      const stride = shapeSize(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // -------------------------------------------------------------------------------------------
  // Operations: each delegates to lib/functional (see there for semantics and gradients).

  add(other: Tensor | number): Tensor {
    return ew.add(this, other);
  }

  sub(other: Tensor | number): Tensor {
    return ew.sub(this, other);
  }

  mul(other: Tensor | number): Tensor {
    return ew.mul(this, other);
  }

  div(other: Tensor | number): Tensor {
    return ew.div(this, other);
  }

  pow(exponent: Tensor | number): Tensor {
    return ew.pow(this, exponent);
  }

  maximum(other: Tensor | number): Tensor {
    return ew.maximum(this, other);
  }

  minimum(other: Tensor | number): Tensor {
    return ew.minimum(this, other);
  }

  neg(): Tensor {
    return ew.neg(this);
  }

  exp(): Tensor {
    return ew.exp(this);
  }

  log(): Tensor {
    return ew.log(this);
  }

  sqrt(): Tensor {
    return ew.sqrt(this);
  }

  abs(): Tensor {
    return ew.abs(this);
  }

  square(): Tensor {
    return ew.square(this);
  }

  clamp(min?: number | null, max?: number | null): Tensor {
    return ew.clamp(this, min, max);
  }

  eq(other: Tensor | number): Tensor {
    return ew.eq(this, other);
  }

  ne(other: Tensor | number): Tensor {
    return ew.ne(this, other);
  }

  lt(other: Tensor | number): Tensor {
    return ew.lt(this, other);
  }

  le(other: Tensor | number): Tensor {
    return ew.le(this, other);
  }

  gt(other: Tensor | number): Tensor {
    return ew.gt(this, other);
  }

  ge(other: Tensor | number): Tensor {
    return ew.ge(this, other);
  }

  sum(axis?: rd.Axis, keepDims = false): Tensor {
    return rd.sum(this, axis, keepDims);
  }

  mean(axis?: rd.Axis, keepDims = false): Tensor {
    return rd.mean(this, axis, keepDims);
  }

  max(axis?: rd.Axis, keepDims = false): Tensor {
    return rd.max(this, axis, keepDims);
  }

  min(axis?: rd.Axis, keepDims = false): Tensor {
    return rd.min(this, axis, keepDims);
  }

  argmax(axis?: number | null, keepDims = false): Tensor {
    return rd.argmax(this, axis, keepDims);
  }

  argmin(axis?: number | null, keepDims = false): Tensor {
    return rd.argmin(this, axis, keepDims);
  }

  variance(axis?: rd.Axis, opts?: rd.VarianceOptions): Tensor {
    return rd.variance(this, axis, opts);
  }

  logsumexp(axis?: rd.Axis, keepDims = false): Tensor {
    return rd.logsumexp(this, axis, keepDims);
  }

  /** reshape([2, 3]) or reshape(2, 3); one dimension may be -1. Shares the data. */
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return sh.reshape(this, dimsArg(shape));
  }

  /** Alias of reshape. */
  view(...shape: number[] | [readonly number[]]): Tensor {
    return sh.view(this, dimsArg(shape));
  }

  flatten(startDim = 0, endDim = -1): Tensor {
    return sh.flatten(this, startDim, endDim);
  }

  squeeze(axis?: number | readonly number[]): Tensor {
    return sh.squeeze(this, axis);
  }

  unsqueeze(axis: number): Tensor {
    return sh.unsqueeze(this, axis);
  }

  /** Swaps dim0 and dim1 (default: the last two). */
  transpose(dim0?: number, dim1?: number): Tensor {
    return sh.transpose(this, dim0, dim1);
  }

  /** The transpose of a 2-D tensor. */
  get T(): Tensor {
    if (this.ndim !== 2) {
      throw new RangeError(
        `T: only 2-D tensors have a matrix transpose, got shape ${formatShape(this.shape)}; use transpose or permute`,
      );
    }
    return sh.transpose(this, 0, 1);
  }

  /** permute([2, 0, 1]) or permute(2, 0, 1). */
  permute(...dims: number[] | [readonly number[]]): Tensor {
    return sh.permute(this, dimsArg(dims));
  }

  slice(axis: number, start?: number, end?: number): Tensor {
    return sh.slice(this, axis, start, end);
  }

  narrow(axis: number, start: number, length: number): Tensor {
    return sh.narrow(this, axis, start, length);
  }

  indexSelect(axis: number, indices: sh.Indices): Tensor {
    return sh.indexSelect(this, axis, indices);
  }

  /** x[i] along the first axis (the sample, without that axis), or x[[i, j, ...]] (a batch). */
  index(i: number | sh.Indices): Tensor {
    return sh.index(this, i);
  }

  expand(...shape: number[] | [readonly number[]]): Tensor {
    return sh.expand(this, dimsArg(shape));
  }

  matmul(other: Tensor): Tensor {
    return mm.matmul(this, other);
  }

  relu(): Tensor {
    return act.relu(this);
  }

  leakyRelu(slope = 0.01): Tensor {
    return act.leakyRelu(this, slope);
  }

  sigmoid(): Tensor {
    return act.sigmoid(this);
  }

  tanh(): Tensor {
    return act.tanh(this);
  }

  /** Softmax along `axis` (default the last). */
  softmax(axis = -1): Tensor {
    return act.softmax(this, axis);
  }

  /** Log-softmax along `axis` (default the last). */
  logSoftmax(axis = -1): Tensor {
    return act.logSoftmax(this, axis);
  }
}

/** Methods take dimensions either spread (reshape(2, 3)) or as one array (reshape([2, 3])). */
function dimsArg(args: number[] | [readonly number[]]): readonly number[] {
  return args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as number[]);
}

const EDGE_ITEMS = 3;
const SUMMARIZE_ABOVE = 1000;

function formatTensor(t: Tensor): string {
  const summarize = t.size > SUMMARIZE_ABOVE;
  const isInt = t.dtype === 'int32';
  const fmt = (v: number): string => {
    if (isInt) return String(v);
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    const a = Math.abs(v);
    return a !== 0 && (a >= 1e5 || a < 1e-4) ? v.toExponential(4) : v.toFixed(4);
  };
  const body = (dim: number, offset: number, indent: string): string => {
    if (t.shape.length === 0) return fmt(t.data[0]);
    const n = t.shape[dim];
    const stride = shapeSize(t.shape.slice(dim + 1));
    const idx: (number | null)[] = [];
    if (summarize && n > 2 * EDGE_ITEMS) {
      for (let i = 0; i < EDGE_ITEMS; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE_ITEMS; i < n; i++) idx.push(i);
    } else {
      for (let i = 0; i < n; i++) idx.push(i);
    }
    if (dim === t.shape.length - 1) {
      return `[${idx.map((i) => (i === null ? '...' : fmt(t.data[offset + i]))).join(', ')}]`;
    }
    const sep = ',' + '\n'.repeat(t.shape.length - dim - 1) + indent + ' ';
    return `[${idx.map((i) => (i === null ? '...' : body(dim + 1, offset + i * stride, indent + ' '))).join(sep)}]`;
  };
  const extras = [`shape=${formatShape(t.shape)}`];
  if (isInt) extras.push('dtype=int32');
  if (t.gradFn !== null) extras.push(`gradFn=${t.gradFn.name}`);
  else if (t.requiresGrad) extras.push('requiresGrad=true');
  return `tensor(${body(0, 0, '       ')}, ${extras.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Creation

function allocate(dtype: DType, n: number): TensorData {
  return dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
}

function inferShape(fn: string, a: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = a;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  if (!Array.isArray(a) && typeof a !== 'number') {
    throw new TypeError(
      `${fn}: data must be a number or nested arrays of numbers, got ${typeof a}`,
    );
  }
  return shape;
}

function flattenInto(
  fn: string,
  a: NestedArray,
  shape: number[],
  dim: number,
  out: number[],
): void {
  if (dim === shape.length) {
    if (typeof a !== 'number') {
      throw new TypeError(`${fn}: ragged nested array: expected a number at depth ${dim}`);
    }
    out.push(a);
    return;
  }
  if (!Array.isArray(a) || a.length !== shape[dim]) {
    throw new RangeError(
      `${fn}: ragged nested array: expected length ${shape[dim]} at depth ${dim}, got ${Array.isArray(a) ? a.length : typeof a}`,
    );
  }
  for (const x of a) flattenInto(fn, x, shape, dim + 1, out);
}

/** A tensor from nested arrays: fromArray([[1, 2], [3, 4]]) has shape [2, 2]. */
export function fromArray(data: NestedArray, opts: TensorOptions = {}): Tensor {
  const shape = inferShape('fromArray', data);
  const flat: number[] = [];
  flattenInto('fromArray', data, shape, 0, flat);
  const arr = allocate(opts.dtype ?? 'float32', flat.length);
  arr.set(flat);
  return new Tensor(arr, shape, opts.requiresGrad ?? false);
}

/**
 * A tensor from a typed array or flat/nested numbers, with an optional shape (default: the
 * nested arrays' shape, or [length] for flat data). A typed array is used without copying.
 */
export function tensor(
  data: TensorData | NestedArray | readonly number[],
  shape?: readonly number[],
  opts: TensorOptions = {},
): Tensor {
  if (data instanceof Float32Array || data instanceof Int32Array) {
    let arr: TensorData = data;
    if (opts.dtype === 'int32' && !(data instanceof Int32Array)) arr = Int32Array.from(data);
    if (opts.dtype === 'float32' && !(data instanceof Float32Array)) arr = Float32Array.from(data);
    const s = shape === undefined ? [data.length] : checkShape('tensor', shape);
    if (shapeSize(s) !== arr.length) {
      throw new RangeError(
        `tensor: shape ${formatShape(s)} needs ${shapeSize(s)} elements, got ${arr.length}`,
      );
    }
    return new Tensor(arr, s, opts.requiresGrad ?? false);
  }
  const t = fromArray(data as NestedArray, { dtype: opts.dtype });
  if (shape === undefined) return new Tensor(t.data, t.shape, opts.requiresGrad ?? false);
  const s = checkShape('tensor', shape);
  if (shapeSize(s) !== t.size) {
    throw new RangeError(
      `tensor: shape ${formatShape(s)} needs ${shapeSize(s)} elements, got ${t.size}`,
    );
  }
  return new Tensor(t.data, s, opts.requiresGrad ?? false);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  return filled('full', shape, value, opts);
}

function filled(fn: string, shape: readonly number[], value: number, opts: TensorOptions): Tensor {
  const s = checkShape(fn, shape);
  if (typeof value !== 'number') {
    throw new TypeError(`${fn}: value must be a number, got ${typeof value}`);
  }
  const arr = allocate(opts.dtype ?? 'float32', shapeSize(s));
  if (value !== 0) arr.fill(value);
  return new Tensor(arr, s, opts.requiresGrad ?? false);
}

export function zeros(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return filled('zeros', shape, 0, opts);
}

export function ones(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return filled('ones', shape, 1, opts);
}

export function zerosLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return filled('zerosLike', requireTensorArg('zerosLike', t).shape, 0, {
    dtype: t.dtype,
    ...opts,
  });
}

export function onesLike(t: Tensor, opts: TensorOptions = {}): Tensor {
  return filled('onesLike', requireTensorArg('onesLike', t).shape, 1, { dtype: t.dtype, ...opts });
}

function requireTensorArg(fn: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) {
    throw new TypeError(`${fn}: t must be a Tensor, got ${t === null ? 'null' : typeof t}`);
  }
  return t;
}

/** Values from start (inclusive) to end (exclusive) by step, like torch.arange; arange(n) is 0..n-1. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(step) || step === 0) {
    throw new RangeError(
      `arange: start, end and step must be finite and step non-zero, got (${start}, ${end}, ${step})`,
    );
  }
  const n = Math.max(0, Math.ceil((end - start) / step));
  const arr = allocate(opts.dtype ?? 'float32', n);
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  return new Tensor(arr, [n], opts.requiresGrad ?? false);
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

/** Standard-normal samples from the seeded generator (see manualSeed). */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  const s = checkShape('randn', shape);
  const gen = opts.generator ?? defaultGenerator;
  const arr = new Float32Array(shapeSize(s));
  for (let i = 0; i < arr.length; i++) arr[i] = gen.normal();
  return new Tensor(arr, s, opts.requiresGrad ?? false);
}

/** Uniform samples in [low, high) (default [0, 1)) from the seeded generator. */
export function rand(
  shape: readonly number[],
  opts: RandomOptions & { low?: number; high?: number } = {},
): Tensor {
  const s = checkShape('rand', shape);
  const gen = opts.generator ?? defaultGenerator;
  const low = opts.low ?? 0;
  const high = opts.high ?? 1;
  const arr = new Float32Array(shapeSize(s));
  for (let i = 0; i < arr.length; i++) arr[i] = low + (high - low) * gen.uniform();
  return new Tensor(arr, s, opts.requiresGrad ?? false);
}

/** Uniform integers in [low, high) as an int32 tensor. */
export function randint(
  low: number,
  high: number,
  shape: readonly number[],
  opts: { generator?: Generator } = {},
): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new RangeError(`randint: need integers low < high, got low=${low}, high=${high}`);
  }
  const s = checkShape('randint', shape);
  const gen = opts.generator ?? defaultGenerator;
  const arr = new Int32Array(shapeSize(s));
  for (let i = 0; i < arr.length; i++) arr[i] = low + gen.randint(high - low);
  return new Tensor(arr, s);
}
