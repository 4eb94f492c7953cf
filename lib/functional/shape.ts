/**
 * Shape operations: reshape/view, flatten, squeeze/unsqueeze, transpose/permute, concat/stack,
 * slice/narrow, indexSelect/index, expand/broadcastTo; and the broadcasting machinery that the
 * elementwise ops, reductions and matmul share (broadcastShapes, sumToShape, rowPlan).
 *
 * Tensor data is always contiguous and row-major. reshape/view/flatten/squeeze/unsqueeze share
 * the input's data array; every other op here copies.
 */
import { recordOp } from '../autograd/engine.js';
import { Tensor, formatShape, shapeSize, type TensorData } from '../tensor.js';

// ---------------------------------------------------------------------------------------------
// Argument helpers shared by the functional files (not part of the public API).

export function describeValue(v: unknown): string {
  if (v instanceof Tensor) return `a tensor of shape ${formatShape(v.shape)}`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (v === null) return 'null';
  if (typeof v === 'number') return String(v);
  return typeof v;
}

export function requireTensor(fn: string, name: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) {
    throw new TypeError(`${fn}: ${name} must be a Tensor, got ${describeValue(v)}`);
  }
  return v;
}

/** An axis in [-ndim, ndim) made non-negative. */
export function normalizeAxis(fn: string, name: string, axis: unknown, ndim: number): number {
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new RangeError(
      `${fn}: ${name} must be an integer in [${-ndim}, ${ndim - 1}] for a ${ndim}-D tensor, got ${describeValue(axis)}`,
    );
  }
  return axis < 0 ? axis + ndim : axis;
}

function checkShapeArg(fn: string, name: string, shape: unknown, allowMinusOne: boolean): number[] {
  const ok =
    Array.isArray(shape) &&
    shape.every(
      (d) => typeof d === 'number' && Number.isInteger(d) && d >= (allowMinusOne ? -1 : 0),
    );
  if (!ok) {
    throw new TypeError(
      `${fn}: ${name} must be an array of ${allowMinusOne ? 'integers >= -1' : 'non-negative integers'}, got ${JSON.stringify(shape)}`,
    );
  }
  return [...(shape as number[])];
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

function allocLike(data: TensorData, n: number): TensorData {
  return data instanceof Int32Array ? new Int32Array(n) : new Float32Array(n);
}

// ---------------------------------------------------------------------------------------------
// Broadcasting

/** The NumPy broadcast of two shapes; throws `${fn}: cannot broadcast shapes [..] and [..]`. */
export function broadcastShapes(fn: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `${fn}: cannot broadcast shapes ${formatShape(a)} and ${formatShape(b)}`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * How to walk an output of `outShape` row by row while reading operands that broadcast to it.
 * Dimensions are coalesced where every operand is contiguous across them, so a same-layout
 * operand becomes one long row and a bias [F] against [N, F] becomes N rows of F. Row r covers
 * output elements [r*n, r*n + n); operand k's row starts at offsets[k][r] and advances by
 * innerStride[k] (1, or 0 when that operand is broadcast along the row).
 */
export interface RowPlan {
  rows: number;
  n: number;
  innerStride: number[];
  offsets: Int32Array[];
}

export function rowPlan(
  outShape: readonly number[],
  shapes: readonly (readonly number[])[],
): RowPlan {
  const k = shapes.length;
  const total = shapeSize(outShape);
  if (total === 0) {
    return {
      rows: 0,
      n: 0,
      innerStride: shapes.map(() => 1),
      offsets: shapes.map(() => new Int32Array(0)),
    };
  }
  const rank = outShape.length;
  // Per operand, the stride of each output dim (0 where it is broadcast); size-1 output dims dropped.
  const sizes: number[] = [];
  const strides: number[][] = shapes.map(() => []);
  const full = shapes.map((s) => contiguousStrides(s));
  for (let d = 0; d < rank; d++) {
    if (outShape[d] === 1) continue;
    sizes.push(outShape[d]);
    for (let j = 0; j < k; j++) {
      const s = shapes[j];
      const sd = d - (rank - s.length);
      strides[j].push(sd < 0 || s[sd] === 1 ? 0 : full[j][sd]);
    }
  }
  if (sizes.length === 0) {
    return {
      rows: 1,
      n: 1,
      innerStride: shapes.map(() => 0),
      offsets: shapes.map(() => new Int32Array(1)),
    };
  }
  // Coalesce from the innermost dim outwards.
  const cSizes = [sizes[sizes.length - 1]];
  const cStrides = strides.map((st) => [st[st.length - 1]]);
  for (let d = sizes.length - 2; d >= 0; d--) {
    const last = cSizes.length - 1;
    let mergeable = true;
    for (let j = 0; j < k; j++) {
      if (strides[j][d] !== cStrides[j][last] * cSizes[last]) {
        mergeable = false;
        break;
      }
    }
    if (mergeable) {
      cSizes[last] *= sizes[d];
    } else {
      cSizes.push(sizes[d]);
      for (let j = 0; j < k; j++) cStrides[j].push(strides[j][d]);
    }
  }
  // cSizes is innermost-first: entry 0 is the row.
  const n = cSizes[0];
  const rows = total / n;
  const offsets = shapes.map(() => new Int32Array(rows));
  const outer = cSizes.length - 1;
  const counter = new Array<number>(outer).fill(0);
  const cur = new Array<number>(k).fill(0);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) offsets[j][r] = cur[j];
    // Odometer over the outer dims, innermost (index 1) fastest.
    for (let d = 1; d <= outer; d++) {
      const c = ++counter[d - 1];
      for (let j = 0; j < k; j++) cur[j] += cStrides[j][d];
      if (c < cSizes[d]) break;
      counter[d - 1] = 0;
      for (let j = 0; j < k; j++) cur[j] -= cStrides[j][d] * cSizes[d];
    }
  }
  return { rows, n, innerStride: cStrides.map((s) => s[0]), offsets };
}

/** Copies `src` (shape srcShape) broadcast to dstShape; the caller has checked compatibility. */
export function broadcastData(
  src: TensorData,
  srcShape: readonly number[],
  dstShape: readonly number[],
): TensorData {
  const size = shapeSize(dstShape);
  if (src.length === size) return src.slice();
  const out = allocLike(src, size);
  if (src.length === 1) {
    out.fill(src[0]);
    return out;
  }
  const plan = rowPlan(dstShape, [srcShape]);
  const { rows, n } = plan;
  const off = plan.offsets[0];
  if (plan.innerStride[0] === 1) {
    for (let r = 0; r < rows; r++) out.set(src.subarray(off[r], off[r] + n), r * n);
  } else {
    for (let r = 0; r < rows; r++) out.fill(src[off[r]], r * n, r * n + n);
  }
  return out;
}

/**
 * The gradient of a broadcast: sums `g` (shape fromShape) over the axes along which `toShape`
 * was broadcast to fromShape, giving toShape's layout. Returns `g` itself when nothing is summed
 * (callers must not write into the result). Accumulates in float64.
 */
export function sumToShape(
  g: TensorData,
  fromShape: readonly number[],
  toShape: readonly number[],
): Float32Array {
  const size = shapeSize(toShape);
  if (g.length === size) return g instanceof Float32Array ? g : Float32Array.from(g);
  if (size === 1) {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i];
    return Float32Array.of(s);
  }
  const acc = new Float64Array(size);
  const plan = rowPlan(fromShape, [toShape]);
  const { rows, n } = plan;
  const off = plan.offsets[0];
  if (plan.innerStride[0] === 1) {
    for (let r = 0; r < rows; r++) {
      const o = off[r];
      const go = r * n;
      for (let i = 0; i < n; i++) acc[o + i] += g[go + i];
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const go = r * n;
      let s = 0;
      for (let i = 0; i < n; i++) s += g[go + i];
      acc[off[r]] += s;
    }
  }
  return Float32Array.from(acc);
}

function expandShape(fn: string, x: Tensor, shape: unknown, allowMinusOne: boolean): number[] {
  const target = checkShapeArg(fn, 'shape', shape, allowMinusOne);
  const err = (): RangeError =>
    new RangeError(`${fn}: cannot expand shape ${formatShape(x.shape)} to ${formatShape(target)}`);
  if (target.length < x.ndim) throw err();
  const lead = target.length - x.ndim;
  const out = target.map((d, i) => {
    if (i < lead) {
      if (d === -1) throw err();
      return d;
    }
    const src = x.shape[i - lead];
    if (d === -1) return src;
    if (d !== src && src !== 1) throw err();
    return d;
  });
  return out;
}

function expandTo(name: string, x: Tensor, outShape: number[]): Tensor {
  const out = new Tensor(broadcastData(x.data, x.shape, outShape), outShape);
  return recordOp(out, name, [x], (g) => [sumToShape(g, outShape, x.shape)]);
}

/**
 * x broadcast to `shape`, as torch.Tensor.expand: -1 keeps a dimension, new leading dimensions
 * may be added. The result is a copy (tensors here are always contiguous).
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  requireTensor('expand', 'x', x);
  return expandTo('expand', x, expandShape('expand', x, shape, true));
}

/** x broadcast to `shape` by NumPy rules (no -1). The result is a copy. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  requireTensor('broadcastTo', 'x', x);
  return expandTo('broadcastTo', x, expandShape('broadcastTo', x, shape, false));
}

// ---------------------------------------------------------------------------------------------
// Views: same data array, new shape

function shareData(name: string, x: Tensor, shape: number[]): Tensor {
  const out = new Tensor(x.data, shape);
  return recordOp(out, name, [x], (g) => [g]);
}

/**
 * x with a new shape of the same size; one dimension may be -1 (inferred). Shares x's data
 * array: no copy is made.
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  requireTensor('reshape', 'x', x);
  return shareData('reshape', x, inferReshape('reshape', x, shape));
}

/** Alias of reshape: data is always contiguous, so every reshape is a view. */
export function view(x: Tensor, shape: readonly number[]): Tensor {
  requireTensor('view', 'x', x);
  return shareData('view', x, inferReshape('view', x, shape));
}

function inferReshape(fn: string, x: Tensor, shape: unknown): number[] {
  const s = checkShapeArg(fn, 'shape', shape, true);
  const unknown = s.filter((d) => d === -1).length;
  if (unknown > 1) {
    throw new RangeError(`${fn}: only one dimension can be -1, got ${formatShape(s)}`);
  }
  const known = s.reduce((p, d) => (d === -1 ? p : p * d), 1);
  if (unknown === 1) {
    if (known === 0 || x.size % known !== 0) {
      throw new RangeError(
        `${fn}: cannot reshape tensor of shape ${formatShape(x.shape)} (${x.size} elements) into ${formatShape(s)}`,
      );
    }
    return s.map((d) => (d === -1 ? x.size / known : d));
  }
  if (known !== x.size) {
    throw new RangeError(
      `${fn}: cannot reshape tensor of shape ${formatShape(x.shape)} (${x.size} elements) into ${formatShape(s)} (${known} elements)`,
    );
  }
  return s;
}

/** Merges dimensions startDim..endDim (inclusive, negative allowed) into one. A 0-d tensor becomes [1]. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  requireTensor('flatten', 'x', x);
  if (x.ndim === 0) return shareData('flatten', x, [1]);
  const s = normalizeAxis('flatten', 'startDim', startDim, x.ndim);
  const e = normalizeAxis('flatten', 'endDim', endDim, x.ndim);
  if (s > e) {
    throw new RangeError(
      `flatten: startDim (${startDim}) must not come after endDim (${endDim}) for shape ${formatShape(x.shape)}`,
    );
  }
  const merged = x.shape.slice(s, e + 1).reduce((p, d) => p * d, 1);
  return shareData('flatten', x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/**
 * Removes size-1 dimensions: all of them, or only those named by `axis` (a named dimension whose
 * size is not 1 is left alone, as in torch).
 */
export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor {
  requireTensor('squeeze', 'x', x);
  let drop: Set<number>;
  if (axis === undefined) {
    drop = new Set(x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
  } else {
    const list = typeof axis === 'number' ? [axis] : Array.isArray(axis) ? axis : null;
    if (list === null) {
      throw new TypeError(
        `squeeze: axis must be an integer or an array of them, got ${describeValue(axis)}`,
      );
    }
    drop = new Set(
      list
        .map((a: unknown) => normalizeAxis('squeeze', 'axis', a, x.ndim))
        .filter((a) => x.shape[a] === 1),
    );
  }
  return shareData(
    'squeeze',
    x,
    x.shape.filter((_, i) => !drop.has(i)),
  );
}

/** Inserts a size-1 dimension at `axis` (in [-ndim-1, ndim]). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  requireTensor('unsqueeze', 'x', x);
  const a = normalizeAxis('unsqueeze', 'axis', axis, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return shareData('unsqueeze', x, shape);
}

// ---------------------------------------------------------------------------------------------
// Permutations (copies)

/** out[idx] = src[idx permuted]: out has shape srcShape[perm[0]], srcShape[perm[1]], ... */
function permuteData(
  src: TensorData,
  srcShape: readonly number[],
  perm: readonly number[],
): TensorData {
  const out = allocLike(src, src.length);
  const outShape = perm.map((p) => srcShape[p]);
  if (out.length === 0) return out;
  const srcStrides = contiguousStrides(srcShape);
  const st = perm.map((p) => srcStrides[p]);
  const rank = outShape.length;
  if (rank === 0) {
    out[0] = src[0];
    return out;
  }
  if (rank === 2 && perm[0] === 1) {
    transpose2d(src, out, srcShape[0], srcShape[1], 0);
    return out;
  }
  if (
    rank >= 2 &&
    perm[rank - 2] === rank - 1 &&
    perm[rank - 1] === rank - 2 &&
    perm.slice(0, -2).every((p, i) => p === i)
  ) {
    const r = srcShape[rank - 2];
    const c = srcShape[rank - 1];
    for (let b = 0; b < out.length; b += r * c) transpose2d(src, out, r, c, b);
    return out;
  }
  const n = outShape[rank - 1];
  const sInner = st[rank - 1];
  const counter = new Array<number>(rank - 1).fill(0);
  let base = 0;
  for (let o = 0; o < out.length; o += n) {
    for (let i = 0; i < n; i++) out[o + i] = src[base + i * sInner];
    for (let d = rank - 2; d >= 0; d--) {
      base += st[d];
      if (++counter[d] < outShape[d]) break;
      base -= st[d] * outShape[d];
      counter[d] = 0;
    }
  }
  return out;
}

/** Blocked transpose of the r x c matrix at `off` in src into the c x r matrix at `off` in out. */
function transpose2d(src: TensorData, out: TensorData, r: number, c: number, off: number): void {
  const B = 32;
  for (let i0 = 0; i0 < r; i0 += B) {
    const i1 = Math.min(r, i0 + B);
    for (let j0 = 0; j0 < c; j0 += B) {
      const j1 = Math.min(c, j0 + B);
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < j1; j++) out[off + j * r + i] = src[off + i * c + j];
      }
    }
  }
}

/** Reorders dimensions: out.shape[i] = x.shape[dims[i]] (negative dims allowed). Copies. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  requireTensor('permute', 'x', x);
  if (!Array.isArray(dims) || dims.length !== x.ndim) {
    throw new RangeError(
      `permute: dims must list all ${x.ndim} dimensions of shape ${formatShape(x.shape)}, got ${JSON.stringify(dims)}`,
    );
  }
  const perm = dims.map((d: unknown) => normalizeAxis('permute', 'dims', d, x.ndim));
  if (new Set(perm).size !== perm.length) {
    throw new RangeError(`permute: dims must not repeat a dimension, got ${JSON.stringify(dims)}`);
  }
  return permuteNormalized('permute', x, perm);
}

function permuteNormalized(name: string, x: Tensor, perm: number[]): Tensor {
  const outShape = perm.map((p) => x.shape[p]);
  if (perm.every((p, i) => p === i)) return shareData(name, x, outShape);
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  const out = new Tensor(permuteData(x.data, x.shape, perm), outShape);
  return recordOp(out, name, [x], (g) => [permuteData(g, outShape, inverse) as Float32Array]);
}

/**
 * Swaps two dimensions; by default the last two (for a 2-D tensor, the matrix transpose).
 * Copies.
 */
export function transpose(x: Tensor, dim0?: number, dim1?: number): Tensor {
  requireTensor('transpose', 'x', x);
  if (dim0 === undefined && dim1 === undefined) {
    if (x.ndim < 2) {
      throw new RangeError(
        `transpose: swapping the last two dimensions needs at least 2, got shape ${formatShape(x.shape)}`,
      );
    }
    dim0 = -2;
    dim1 = -1;
  }
  const a = normalizeAxis('transpose', 'dim0', dim0, x.ndim);
  const b = normalizeAxis('transpose', 'dim1', dim1, x.ndim);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permuteNormalized('transpose', x, perm);
}

// ---------------------------------------------------------------------------------------------
// Joining and cutting (copies)

/** Joins tensors along an existing axis; all other dimensions must match, and so must dtypes. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0) {
    throw new TypeError(
      `concat: tensors must be a non-empty array of Tensors, got ${describeValue(tensors)}`,
    );
  }
  tensors.forEach((t, i) => requireTensor('concat', `tensors[${i}]`, t));
  const first = tensors[0];
  if (first.ndim === 0)
    throw new RangeError('concat: 0-d tensors cannot be concatenated; use stack');
  const ax = normalizeAxis('concat', 'axis', axis, first.ndim);
  for (let i = 1; i < tensors.length; i++) {
    const t = tensors[i];
    const ok = t.ndim === first.ndim && t.shape.every((d, j) => j === ax || d === first.shape[j]);
    if (!ok) {
      throw new RangeError(
        `concat: tensors[${i}] has shape ${formatShape(t.shape)}, which does not match tensors[0]'s ${formatShape(first.shape)} outside axis ${ax}`,
      );
    }
    if (t.dtype !== first.dtype) {
      throw new TypeError(`concat: tensors[${i}] is ${t.dtype} but tensors[0] is ${first.dtype}`);
    }
  }
  const outer = shapeSize(first.shape.slice(0, ax));
  const inner = shapeSize(first.shape.slice(ax + 1));
  const chunks = tensors.map((t) => t.shape[ax] * inner);
  const rowLen = chunks.reduce((p, c) => p + c, 0);
  const outShape = [...first.shape];
  outShape[ax] = tensors.reduce((p, t) => p + t.shape[ax], 0);
  const out = allocLike(first.data, outer * rowLen);
  let col = 0;
  tensors.forEach((t, i) => {
    const c = chunks[i];
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * c, o * c + c), o * rowLen + col);
    col += c;
  });
  const result = new Tensor(out, outShape);
  return recordOp(result, 'concat', tensors, (g) => {
    let start = 0;
    return tensors.map((t, i) => {
      const c = chunks[i];
      const s = start;
      start += c;
      if (!t.requiresGrad) return null;
      const gi = new Float32Array(outer * c);
      for (let o = 0; o < outer; o++) gi.set(g.subarray(o * rowLen + s, o * rowLen + s + c), o * c);
      return gi;
    });
  });
}

/** Joins same-shape tensors along a new axis (in [-ndim-1, ndim]). */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0) {
    throw new TypeError(
      `stack: tensors must be a non-empty array of Tensors, got ${describeValue(tensors)}`,
    );
  }
  tensors.forEach((t, i) => requireTensor('stack', `tensors[${i}]`, t));
  const first = tensors[0];
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((d, j) => d !== first.shape[j])) {
      throw new RangeError(
        `stack: all tensors must have the same shape; tensors[${i}] is ${formatShape(t.shape)}, tensors[0] is ${formatShape(first.shape)}`,
      );
    }
  });
  const ax = normalizeAxis('stack', 'axis', axis, first.ndim + 1);
  return concat(
    tensors.map((t) => unsqueeze(t, ax)),
    ax,
  );
}

/** Copies the block [start, start+len) of `axis` (already validated). */
function sliceRange(name: string, x: Tensor, ax: number, start: number, len: number): Tensor {
  const size = x.shape[ax];
  const outer = shapeSize(x.shape.slice(0, ax));
  const inner = shapeSize(x.shape.slice(ax + 1));
  const outShape = [...x.shape];
  outShape[ax] = len;
  const srcRow = size * inner;
  const dstRow = len * inner;
  const out = allocLike(x.data, outer * dstRow);
  for (let o = 0; o < outer; o++) {
    const s = o * srcRow + start * inner;
    out.set(x.data.subarray(s, s + dstRow), o * dstRow);
  }
  const result = new Tensor(out, outShape);
  return recordOp(result, name, [x], (g) => {
    const gx = new Float32Array(x.size);
    for (let o = 0; o < outer; o++)
      gx.set(g.subarray(o * dstRow, o * dstRow + dstRow), o * srcRow + start * inner);
    return [gx];
  });
}

/**
 * Elements start..end-1 along `axis`, with Python slice semantics: negative positions count from
 * the end and both bounds are clamped to the axis (an empty range gives a size-0 axis).
 */
export function slice(x: Tensor, axis: number, start = 0, end?: number): Tensor {
  requireTensor('slice', 'x', x);
  const ax = normalizeAxis('slice', 'axis', axis, x.ndim);
  const size = x.shape[ax];
  const bound = (v: unknown, name: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new TypeError(`slice: ${name} must be an integer, got ${describeValue(v)}`);
    }
    return Math.min(size, Math.max(0, v < 0 ? v + size : v));
  };
  const s = bound(start, 'start');
  const e = end === undefined ? size : bound(end, 'end');
  return sliceRange('slice', x, ax, s, Math.max(0, e - s));
}

/** `length` elements from `start` along `axis`, as torch.narrow: the range must fit. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  requireTensor('narrow', 'x', x);
  const ax = normalizeAxis('narrow', 'axis', axis, x.ndim);
  const size = x.shape[ax];
  if (typeof start !== 'number' || !Number.isInteger(start) || start < -size || start > size) {
    throw new RangeError(
      `narrow: start must be an integer in [${-size}, ${size}], got ${describeValue(start)}`,
    );
  }
  const s = start < 0 ? start + size : start;
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || s + length > size) {
    throw new RangeError(
      `narrow: length must be an integer in [0, ${size - s}] for start ${start} on axis ${ax} of shape ${formatShape(x.shape)}, got ${describeValue(length)}`,
    );
  }
  return sliceRange('narrow', x, ax, s, length);
}

/** Integer indices as accepted by indexSelect: an int32 tensor (0-d or 1-D), an Int32Array or numbers. */
export type Indices = Tensor | Int32Array | readonly number[];

function toIndexArray(fn: string, indices: unknown, size: number): Int32Array {
  let arr: ArrayLike<number>;
  if (indices instanceof Tensor) {
    if (indices.dtype !== 'int32' || indices.ndim > 1) {
      throw new TypeError(
        `${fn}: indices must be a 1-D int32 tensor, got ${indices.dtype} of shape ${formatShape(indices.shape)}`,
      );
    }
    arr = indices.data;
  } else if (indices instanceof Int32Array || Array.isArray(indices)) {
    arr = indices as ArrayLike<number>;
  } else {
    throw new TypeError(
      `${fn}: indices must be an int32 Tensor, an Int32Array or an array of integers, got ${describeValue(indices)}`,
    );
  }
  const out = new Int32Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (!Number.isInteger(v) || v < 0 || v >= size) {
      throw new RangeError(
        `${fn}: indices[${i}] = ${v} is out of range for an axis of size ${size}`,
      );
    }
    out[i] = v;
  }
  return out;
}

/**
 * Gathers the entries at `indices` along `axis` (like torch.index_select): with axis 0 this picks
 * a batch of samples. Indices may repeat; their gradients add up.
 */
export function indexSelect(x: Tensor, axis: number, indices: Indices): Tensor {
  requireTensor('indexSelect', 'x', x);
  const ax = normalizeAxis('indexSelect', 'axis', axis, x.ndim);
  return gather('indexSelect', x, ax, toIndexArray('indexSelect', indices, x.shape[ax]));
}

/** The entries at `idx` (already validated) along `ax`, recorded as `name`. */
function gather(name: string, x: Tensor, ax: number, idx: Int32Array): Tensor {
  const size = x.shape[ax];
  const outer = shapeSize(x.shape.slice(0, ax));
  const inner = shapeSize(x.shape.slice(ax + 1));
  const outShape = [...x.shape];
  outShape[ax] = idx.length;
  const srcRow = size * inner;
  const dstRow = idx.length * inner;
  const out = allocLike(x.data, outer * dstRow);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < idx.length; i++) {
      const s = o * srcRow + idx[i] * inner;
      out.set(x.data.subarray(s, s + inner), o * dstRow + i * inner);
    }
  }
  const result = new Tensor(out, outShape);
  return recordOp(result, name, [x], (g) => {
    const gx = new Float32Array(x.size);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < idx.length; i++) {
        const d = o * srcRow + idx[i] * inner;
        const s = o * dstRow + i * inner;
        for (let j = 0; j < inner; j++) gx[d + j] += g[s + j];
      }
    }
    return [gx];
  });
}

/**
 * Indexing along the first axis, as `x[i]` in PyTorch and NumPy: an integer i (negative counts
 * from the end, as does a 0-d int32 tensor) gives sample i without the first axis; a list of
 * indices (numbers, an Int32Array or a 1-D int32 tensor) gives those samples, in that order, as a
 * batch (indexSelect along axis 0). Both are recorded for autograd.
 */
export function index(x: Tensor, i: number | Indices): Tensor {
  const fn = 'index';
  requireTensor(fn, 'x', x);
  if (x.ndim === 0) throw new RangeError(`${fn}: cannot index a 0-d tensor`);
  const size = x.shape[0];
  const single = i instanceof Tensor && i.ndim === 0 && i.dtype === 'int32' ? i.data[0] : i;
  if (typeof single === 'number') {
    if (!Number.isInteger(single) || single < -size || single >= size) {
      throw new RangeError(
        `${fn}: index must be an integer in [${-size}, ${size - 1}] for the first axis of shape ${formatShape(x.shape)}, got ${single}`,
      );
    }
    const row = sliceRange(fn, x, 0, single < 0 ? single + size : single, 1);
    return reshape(row, x.shape.slice(1));
  }
  return gather(fn, x, 0, toIndexArray(fn, i, size));
}
