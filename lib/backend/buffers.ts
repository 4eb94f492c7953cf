/**
 * Output arrays for kernels. Every kernel overwrites its whole output (lib/backend/kernels.ts;
 * test/backend checks it with NaN-filled outputs), so zeroing a large output first is wasted
 * work: a new Float32Array is cleared by the allocator, ~0.3 ms for a 5.5 MB activation here,
 * which is ~6% of a reference-CNN training step. These arrays come uninitialized instead.
 */

/** Below this many elements the V8 heap allocates and clears faster than a separate buffer. */
export const UNINITIALIZED_MIN_LENGTH = 4096;

interface TypedArrayClass<T> {
  new (length: number): T;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** `length` elements of type `cls` over uninitialized memory of their own (see below). */
function uninitialized<T>(cls: TypedArrayClass<T>, length: number): T {
  if (length < UNINITIALIZED_MIN_LENGTH || typeof Buffer === 'undefined') return new cls(length);
  const b = Buffer.allocUnsafeSlow(length * cls.BYTES_PER_ELEMENT);
  return new cls(b.buffer, b.byteOffset, length);
}

/**
 * A Float32Array of `length` elements whose contents are unspecified, backed by an ArrayBuffer
 * of its own (offset 0, exactly its size). Only for arrays that are written in full before any
 * element is read.
 */
export function uninitializedFloat32(length: number): Float32Array {
  return uninitialized(Float32Array, length);
}

/** As uninitializedFloat32, for Int32Array outputs (max pooling's argmax). */
export function uninitializedInt32(length: number): Int32Array {
  return uninitialized(Int32Array, length);
}
