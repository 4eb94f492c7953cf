/**
 * Grow-only scratch buffers shared by the TS kernels, so that hot paths (GEMM packing, im2col)
 * never allocate per call. JavaScript runs one kernel at a time, so one buffer per role is enough;
 * a kernel that calls another (conv2d -> gemm) uses a different role from its callee.
 */

const f32: Record<string, Float32Array> = Object.create(null) as Record<string, Float32Array>;
const f64: Record<string, Float64Array> = Object.create(null) as Record<string, Float64Array>;

function grownSize(current: number, needed: number): number {
  return Math.max(needed, Math.ceil(current * 1.5), 1024);
}

/** A Float32Array of at least `size` elements for `role`; its contents are unspecified. */
export function scratchF32(role: string, size: number): Float32Array {
  const buf = f32[role];
  if (buf !== undefined && buf.length >= size) return buf;
  const next = new Float32Array(grownSize(buf?.length ?? 0, size));
  f32[role] = next;
  return next;
}

/** A Float64Array of at least `size` elements for `role`; its contents are unspecified. */
export function scratchF64(role: string, size: number): Float64Array {
  const buf = f64[role];
  if (buf !== undefined && buf.length >= size) return buf;
  const next = new Float64Array(grownSize(buf?.length ?? 0, size));
  f64[role] = next;
  return next;
}
