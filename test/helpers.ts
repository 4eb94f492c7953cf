/** Shared test helpers: a seeded PRNG, random typed arrays and a closeness check that names the worst element. */

/** mulberry32: a tiny, fast, seedable 32-bit PRNG; the same seed always gives the same stream. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** n values uniform in [lo, hi). */
  array(n: number, lo = -1, hi = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = this.uniform(lo, hi);
    return a;
  }

  /** n pairwise-distinct values in [lo, hi) in random order: max and argmax have no ties. */
  distinct(n: number, lo = -1, hi = 1): Float32Array {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + ((hi - lo) * (i + 0.5)) / n;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}

type Numeric = ArrayLike<number>;

/**
 * Throws unless |actual[i] - expected[i]| <= atol + rtol * |expected[i]| for every i (NaN only
 * matches NaN, infinities must match exactly). The message names the worst element and how many
 * elements failed.
 */
export function expectClose(
  actual: Numeric,
  expected: Numeric,
  rtol: number,
  atol: number,
  label = 'values',
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length}, expected ${expected.length}`);
  }
  let worst = -1;
  let worstRatio = 0;
  let failures = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    let ratio: number;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      ratio = Number.isNaN(e) && Number.isNaN(a) ? 0 : Infinity;
    } else if (!Number.isFinite(e) || !Number.isFinite(a)) {
      ratio = a === e ? 0 : Infinity;
    } else {
      ratio = Math.abs(a - e) / (atol + rtol * Math.abs(e));
    }
    if (ratio > 1) failures++;
    if (ratio > worstRatio || (worst < 0 && ratio > 1)) {
      worstRatio = ratio;
      worst = i;
    }
  }
  if (failures > 0) {
    const a = actual[worst];
    const e = expected[worst];
    throw new Error(
      `${label}: ${failures} of ${actual.length} elements differ; worst at index ${worst}: ` +
        `got ${a}, expected ${e} (|diff| ${Math.abs(a - e)}, allowed ${atol + rtol * Math.abs(e)}; rtol ${rtol}, atol ${atol})`,
    );
  }
}

/** Throws unless the two integer arrays are identical, naming the first difference. */
export function expectEqualInts(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label = 'values',
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length}, expected ${expected.length}`);
  }
  let failures = 0;
  let first = -1;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      failures++;
      if (first < 0) first = i;
    }
  }
  if (failures > 0) {
    throw new Error(
      `${label}: ${failures} of ${actual.length} elements differ; first at index ${first}: got ${actual[first]}, expected ${expected[first]}`,
    );
  }
}

/** Largest absolute value (0 for an empty array). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** A Float32Array of n NaNs: outputs prefilled with it prove that a kernel overwrites them. */
export function nanArray(n: number): Float32Array {
  return new Float32Array(n).fill(NaN);
}
