import { describe, expect, it } from 'vitest';
import {
  UNINITIALIZED_MIN_LENGTH,
  uninitializedFloat32,
  uninitializedInt32,
} from '../../lib/backend/buffers.js';

describe('uninitialized kernel outputs', () => {
  it('have the length asked, each over an ArrayBuffer of its own', () => {
    for (const n of [0, 1, UNINITIALIZED_MIN_LENGTH - 1, UNINITIALIZED_MIN_LENGTH, 100_003]) {
      const f = uninitializedFloat32(n);
      const i = uninitializedInt32(n);
      expect(f).toBeInstanceOf(Float32Array);
      expect(i).toBeInstanceOf(Int32Array);
      for (const a of [f, i]) {
        expect(a.length).toBe(n);
        expect(a.byteOffset).toBe(0);
        expect(a.buffer.byteLength).toBe(4 * n);
      }
    }
  });

  it('are separate memory', () => {
    const a = uninitializedFloat32(UNINITIALIZED_MIN_LENGTH);
    const b = uninitializedFloat32(UNINITIALIZED_MIN_LENGTH);
    a.fill(1);
    b.fill(2);
    expect(a.every((v) => v === 1)).toBe(true);
    expect(a.buffer).not.toBe(b.buffer);
  });
});
