/**
 * Elementwise operations with NumPy broadcasting: add, sub, mul, div, pow, maximum, minimum;
 * neg, exp, log, sqrt, abs, square, clamp; and the comparisons eq, ne, lt, le, gt, ge, which
 * return float32 0/1 tensors and are not differentiable.
 *
 * Either operand of a binary op may be a plain number. Results are float32 (int32 inputs are read
 * as numbers). Each binary op has hand-written loops for the same-shape and tensor-with-scalar
 * cases, which run on every training step; other broadcasts walk the output row by row (see
 * rowPlan) with the same loops.
 */
import { recordOp } from '../autograd/engine.js';
import { uninitializedFloat32 } from '../backend/buffers.js';
import { kernels } from '../backend/index.js';
import { Tensor, shapeSize, type TensorData } from '../tensor.js';
import {
  broadcastData,
  broadcastShapes,
  describeValue,
  requireTensor,
  rowPlan,
  sumToShape,
} from './shape.js';

/** One binary operation as three loops: vector-vector, vector-scalar and scalar-vector. */
interface BinaryKernel {
  vv(
    a: TensorData,
    ao: number,
    b: TensorData,
    bo: number,
    o: Float32Array,
    oo: number,
    n: number,
  ): void;
  vs(a: TensorData, ao: number, s: number, o: Float32Array, oo: number, n: number): void;
  sv(s: number, b: TensorData, bo: number, o: Float32Array, oo: number, n: number): void;
}

const ADD: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] + b[bo + i];
  },
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] + s;
  },
  sv: (s, b, bo, o, oo, n) => ADD.vs(b, bo, s, o, oo, n),
};

const SUB: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] - b[bo + i];
  },
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] - s;
  },
  sv(s, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = s - b[bo + i];
  },
};

const MUL: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] * b[bo + i];
  },
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] * s;
  },
  sv: (s, b, bo, o, oo, n) => MUL.vs(b, bo, s, o, oo, n),
};

const DIV: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] / b[bo + i];
  },
  vs(a, ao, s, o, oo, n) {
    // Division by a scalar stays a division (not a multiply by 1/s) so results match torch bit for bit.
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] / s;
  },
  sv(s, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = s / b[bo + i];
  },
};

const POW: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = Math.pow(a[ao + i], b[bo + i]);
  },
  vs(a, ao, s, o, oo, n) {
    if (s === 2) {
      for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] * a[ao + i];
    } else if (s === 0.5) {
      for (let i = 0; i < n; i++) o[oo + i] = Math.sqrt(a[ao + i]);
    } else {
      for (let i = 0; i < n; i++) o[oo + i] = Math.pow(a[ao + i], s);
    }
  },
  sv(s, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = Math.pow(s, b[bo + i]);
  },
};

const MAXIMUM: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = Math.max(a[ao + i], b[bo + i]);
  },
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = Math.max(a[ao + i], s);
  },
  sv: (s, b, bo, o, oo, n) => MAXIMUM.vs(b, bo, s, o, oo, n),
};

const MINIMUM: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = Math.min(a[ao + i], b[bo + i]);
  },
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = Math.min(a[ao + i], s);
  },
  sv: (s, b, bo, o, oo, n) => MINIMUM.vs(b, bo, s, o, oo, n),
};

const EQ: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] === b[bo + i] ? 1 : 0;
  },
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] === s ? 1 : 0;
  },
  sv: (s, b, bo, o, oo, n) => EQ.vs(b, bo, s, o, oo, n),
};

const NE: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] !== b[bo + i] ? 1 : 0;
  },
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] !== s ? 1 : 0;
  },
  sv: (s, b, bo, o, oo, n) => NE.vs(b, bo, s, o, oo, n),
};

const LT: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] < b[bo + i] ? 1 : 0;
  },
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] < s ? 1 : 0;
  },
  sv: (s, b, bo, o, oo, n) => GT.vs(b, bo, s, o, oo, n),
};

const LE: BinaryKernel = {
  vv(a, ao, b, bo, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] <= b[bo + i] ? 1 : 0;
  },
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] <= s ? 1 : 0;
  },
  sv: (s, b, bo, o, oo, n) => GE.vs(b, bo, s, o, oo, n),
};

const GT: BinaryKernel = {
  vv: (a, ao, b, bo, o, oo, n) => LT.vv(b, bo, a, ao, o, oo, n),
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] > s ? 1 : 0;
  },
  sv: (s, b, bo, o, oo, n) => LT.vs(b, bo, s, o, oo, n),
};

const GE: BinaryKernel = {
  vv: (a, ao, b, bo, o, oo, n) => LE.vv(b, bo, a, ao, o, oo, n),
  vs(a, ao, s, o, oo, n) {
    for (let i = 0; i < n; i++) o[oo + i] = a[ao + i] >= s ? 1 : 0;
  },
  sv: (s, b, bo, o, oo, n) => LE.vs(b, bo, s, o, oo, n),
};

/** An operand: a tensor's data and shape, or a plain number (shape []). */
type Operand = TensorData | number;

/** out = k(a, b) over the broadcast shape `outShape` (computed by the caller). */
function binaryData(
  k: BinaryKernel,
  a: Operand,
  aShape: readonly number[],
  b: Operand,
  bShape: readonly number[],
  outShape: readonly number[],
): Float32Array {
  const size = shapeSize(outShape);
  const out = new Float32Array(size);
  if (typeof a === 'number') {
    if (typeof b === 'number') k.vs(Float32Array.of(a), 0, b, out, 0, 1);
    else k.sv(a, b, 0, out, 0, size);
    return out;
  }
  if (typeof b === 'number') {
    k.vs(a, 0, b, out, 0, size);
    return out;
  }
  // Equal sizes under a valid broadcast imply the same layout as the output.
  if (a.length === size && b.length === size) {
    k.vv(a, 0, b, 0, out, 0, size);
  } else if (b.length === 1 && a.length === size) {
    k.vs(a, 0, b[0], out, 0, size);
  } else if (a.length === 1 && b.length === size) {
    k.sv(a[0], b, 0, out, 0, size);
  } else {
    const plan = rowPlan(outShape, [aShape, bShape]);
    const { rows, n } = plan;
    const [offA, offB] = plan.offsets;
    const [sa, sb] = plan.innerStride;
    for (let r = 0; r < rows; r++) {
      const oo = r * n;
      if (sa === 1 && sb === 1) k.vv(a, offA[r], b, offB[r], out, oo, n);
      else if (sa === 1) k.vs(a, offA[r], b[offB[r]], out, oo, n);
      else if (sb === 1) k.sv(a[offA[r]], b, offB[r], out, oo, n);
      else {
        k.vs(a, offA[r], b[offB[r]], out, oo, 1);
        out.fill(out[oo], oo + 1, oo + n);
      }
    }
  }
  return out;
}

interface Resolved {
  tensor: Tensor | null;
  value: Operand;
  shape: readonly number[];
}

function resolve(fn: string, name: string, x: unknown): Resolved {
  if (x instanceof Tensor) return { tensor: x, value: x.data, shape: x.shape };
  if (typeof x === 'number') return { tensor: null, value: x, shape: [] };
  throw new TypeError(`${fn}: ${name} must be a Tensor or a number, got ${describeValue(x)}`);
}

/** The operand's values at the output shape (copied only when it is broadcast). */
function atShape(r: Resolved, outShape: readonly number[]): TensorData | number {
  if (typeof r.value === 'number') return r.value;
  return r.value.length === shapeSize(outShape)
    ? r.value
    : broadcastData(r.value, r.shape, outShape);
}

type BinaryGrad = (
  g: Float32Array,
  a: Resolved,
  b: Resolved,
  out: Float32Array,
  outShape: readonly number[],
) => [Float32Array | null, Float32Array | null];

function binaryOp(
  name: string,
  k: BinaryKernel,
  x: Tensor | number,
  y: Tensor | number,
  grad: BinaryGrad | null,
): Tensor {
  const a = resolve(name, 'a', x);
  const b = resolve(name, 'b', y);
  const outShape = broadcastShapes(name, a.shape, b.shape);
  const data =
    k === ADD &&
    isLargeF32(a.value) &&
    isLargeF32(b.value) &&
    a.value.length === b.value.length &&
    shapeSize(outShape) === a.value.length
      ? nativeAdd(a.value, b.value)
      : binaryData(k, a.value, a.shape, b.value, b.shape, outShape);
  const out = new Tensor(data, outShape);
  if (grad === null) return out;
  const inputs = [a.tensor, b.tensor].filter((t): t is Tensor => t !== null);
  return recordOp(out, name, inputs, (g) => {
    const [ga, gb] = grad(g, a, b, data, outShape);
    const result: (Float32Array | null)[] = [];
    if (a.tensor !== null) result.push(ga === null ? null : sumToShape(ga, outShape, a.shape));
    if (b.tensor !== null) result.push(gb === null ? null : sumToShape(gb, outShape, b.shape));
    return result;
  });
}

/** Below this many elements a JS loop beats the native call's fixed cost. */
const NATIVE_ADD_MIN = 2048;

function isLargeF32(v: Operand): v is Float32Array {
  return v instanceof Float32Array && v.length >= NATIVE_ADD_MIN;
}

/** Same-shape float32 add (the residual add) through the kernel set. */
function nativeAdd(a: Float32Array, b: Float32Array): Float32Array {
  const out = uninitializedFloat32(a.length);
  kernels().add(a, b, out);
  return out;
}

const needs = (r: Resolved): boolean => r.tensor !== null && r.tensor.requiresGrad;

/** a + b with broadcasting. */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('add', ADD, a, b, (g) => [g, g]);
}

/** a - b with broadcasting. */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('sub', SUB, a, b, (g, _a, bb) => {
    if (!needs(bb)) return [g, null];
    const gb = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) gb[i] = -g[i];
    return [g, gb];
  });
}

/** a * b with broadcasting. */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('mul', MUL, a, b, (g, aa, bb, _out, shape) => [
    needs(aa) ? binaryData(MUL, g, shape, bb.value, bb.shape, shape) : null,
    needs(bb) ? binaryData(MUL, g, shape, aa.value, aa.shape, shape) : null,
  ]);
}

/** a / b with broadcasting. */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('div', DIV, a, b, (g, aa, bb, out, shape) => {
    // d(a/b)/da = 1/b and d(a/b)/db = -(a/b)/b: both need g/b.
    const q = binaryData(DIV, g, shape, bb.value, bb.shape, shape);
    let gb: Float32Array | null = null;
    if (needs(bb)) {
      gb = new Float32Array(q.length);
      for (let i = 0; i < q.length; i++) gb[i] = -q[i] * out[i];
    }
    return [needs(aa) ? q : null, gb];
  });
}

/**
 * a ** b with broadcasting (either may be a number). Like torch, the gradient with respect to the
 * exponent is 0 where a == 0 and b >= 0 (instead of the 0 * -inf of the plain formula).
 */
export function pow(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('pow', POW, a, b, (g, aa, bb, out, shape) => {
    const n = g.length;
    const av = atShape(aa, shape);
    const bv = atShape(bb, shape);
    let ga: Float32Array | null = null;
    let gb: Float32Array | null = null;
    if (needs(aa)) {
      ga = new Float32Array(n);
      const x = av as TensorData;
      if (typeof bv === 'number') {
        if (bv === 2) for (let i = 0; i < n; i++) ga[i] = 2 * x[i] * g[i];
        else if (bv === 1) ga.set(g);
        else if (bv !== 0) for (let i = 0; i < n; i++) ga[i] = bv * Math.pow(x[i], bv - 1) * g[i];
      } else {
        for (let i = 0; i < n; i++)
          ga[i] = bv[i] === 0 ? 0 : bv[i] * Math.pow(x[i], bv[i] - 1) * g[i];
      }
    }
    if (needs(bb)) {
      gb = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const base = typeof av === 'number' ? av : av[i];
        const e = typeof bv === 'number' ? bv : bv[i];
        gb[i] = base === 0 && e >= 0 ? 0 : g[i] * out[i] * Math.log(base);
      }
    }
    return [ga, gb];
  });
}

/** Where a == b the gradient is split evenly between them, as in torch. */
function extremumGrad(pickA: (x: number, y: number) => boolean): BinaryGrad {
  return (g, aa, bb, _out, shape) => {
    const n = g.length;
    const av = atShape(aa, shape);
    const bv = atShape(bb, shape);
    const ga = needs(aa) ? new Float32Array(n) : null;
    const gb = needs(bb) ? new Float32Array(n) : null;
    for (let i = 0; i < n; i++) {
      const x = typeof av === 'number' ? av : av[i];
      const y = typeof bv === 'number' ? bv : bv[i];
      const wa = x === y ? 0.5 : pickA(x, y) ? 1 : 0;
      if (ga !== null) ga[i] = wa * g[i];
      if (gb !== null) gb[i] = (1 - wa) * g[i];
    }
    return [ga, gb];
  };
}

/** Elementwise maximum with broadcasting; NaN propagates. */
export function maximum(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp(
    'maximum',
    MAXIMUM,
    a,
    b,
    extremumGrad((x, y) => x > y),
  );
}

/** Elementwise minimum with broadcasting; NaN propagates. */
export function minimum(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp(
    'minimum',
    MINIMUM,
    a,
    b,
    extremumGrad((x, y) => x < y),
  );
}

/** 1 where a == b, else 0 (float32; not differentiable). */
export function eq(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('eq', EQ, a, b, null);
}

/** 1 where a != b, else 0 (float32; not differentiable). */
export function ne(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('ne', NE, a, b, null);
}

/** 1 where a < b, else 0 (float32; not differentiable). */
export function lt(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('lt', LT, a, b, null);
}

/** 1 where a <= b, else 0 (float32; not differentiable). */
export function le(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('le', LE, a, b, null);
}

/** 1 where a > b, else 0 (float32; not differentiable). */
export function gt(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('gt', GT, a, b, null);
}

/** 1 where a >= b, else 0 (float32; not differentiable). */
export function ge(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('ge', GE, a, b, null);
}

// ---------------------------------------------------------------------------------------------
// Unary

function unaryOut(fn: string, x: unknown): { t: Tensor; out: Float32Array } {
  const t = requireTensor(fn, 'x', x);
  return { t, out: new Float32Array(t.size) };
}

function finish(
  name: string,
  t: Tensor,
  out: Float32Array,
  rule: (g: Float32Array, gx: Float32Array) => void,
): Tensor {
  return recordOp(new Tensor(out, t.shape), name, [t], (g) => {
    const gx = new Float32Array(g.length);
    rule(g, gx);
    return [gx];
  });
}

/** -x. */
export function neg(x: Tensor): Tensor {
  const { t, out } = unaryOut('neg', x);
  const d = t.data;
  for (let i = 0; i < out.length; i++) out[i] = -d[i];
  return finish('neg', t, out, (g, gx) => {
    for (let i = 0; i < g.length; i++) gx[i] = -g[i];
  });
}

/** e^x. */
export function exp(x: Tensor): Tensor {
  const { t, out } = unaryOut('exp', x);
  const d = t.data;
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(d[i]);
  return finish('exp', t, out, (g, gx) => {
    for (let i = 0; i < g.length; i++) gx[i] = g[i] * out[i];
  });
}

/** Natural logarithm (NaN below 0, -Infinity at 0). */
export function log(x: Tensor): Tensor {
  const { t, out } = unaryOut('log', x);
  const d = t.data;
  for (let i = 0; i < out.length; i++) out[i] = Math.log(d[i]);
  return finish('log', t, out, (g, gx) => {
    for (let i = 0; i < g.length; i++) gx[i] = g[i] / d[i];
  });
}

/** Square root (NaN below 0). */
export function sqrt(x: Tensor): Tensor {
  const { t, out } = unaryOut('sqrt', x);
  const d = t.data;
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(d[i]);
  return finish('sqrt', t, out, (g, gx) => {
    for (let i = 0; i < g.length; i++) gx[i] = g[i] / (2 * out[i]);
  });
}

/** |x|; its gradient at 0 is 0, as in torch. */
export function abs(x: Tensor): Tensor {
  const { t, out } = unaryOut('abs', x);
  const d = t.data;
  for (let i = 0; i < out.length; i++) out[i] = Math.abs(d[i]);
  return finish('abs', t, out, (g, gx) => {
    for (let i = 0; i < g.length; i++) gx[i] = d[i] > 0 ? g[i] : d[i] < 0 ? -g[i] : 0;
  });
}

/** x * x. */
export function square(x: Tensor): Tensor {
  const { t, out } = unaryOut('square', x);
  const d = t.data;
  for (let i = 0; i < out.length; i++) out[i] = d[i] * d[i];
  return finish('square', t, out, (g, gx) => {
    for (let i = 0; i < g.length; i++) gx[i] = 2 * d[i] * g[i];
  });
}

/**
 * x limited to [min, max] (either bound may be omitted, not both). The gradient passes where
 * min <= x <= max, bounds included, as in torch.
 */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  const { t, out } = unaryOut('clamp', x);
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  if ((min ?? null) === null && (max ?? null) === null) {
    throw new TypeError('clamp: at least one of min and max must be given, got neither');
  }
  if (typeof lo !== 'number' || Number.isNaN(lo)) {
    throw new TypeError(`clamp: min must be a number, got ${describeValue(min)}`);
  }
  if (typeof hi !== 'number' || Number.isNaN(hi)) {
    throw new TypeError(`clamp: max must be a number, got ${describeValue(max)}`);
  }
  const d = t.data;
  for (let i = 0; i < out.length; i++) out[i] = Math.min(Math.max(d[i], lo), hi);
  return finish('clamp', t, out, (g, gx) => {
    for (let i = 0; i < g.length; i++) gx[i] = d[i] >= lo && d[i] <= hi ? g[i] : 0;
  });
}
