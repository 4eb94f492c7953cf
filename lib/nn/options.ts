/** Constructor-argument checks shared by the layers, so a typo'd option fails loudly instead of being ignored. */
import { pair, type Size2 } from '../backend/geometry.js';
import { Generator } from '../random.js';
import { formatShape, Tensor } from '../tensor.js';

/** The options object itself, refusing keys the layer does not know. */
export function checkOptions<T extends object>(
  owner: string,
  opts: T | undefined,
  known: readonly string[],
): T {
  if (opts === undefined) return {} as T;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new TypeError(
      `${owner}: options must be an object, got ${opts === null ? 'null' : Array.isArray(opts) ? 'an array' : typeof opts}`,
    );
  }
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) {
      throw new TypeError(`${owner}: unknown option '${k}' (known options: ${known.join(', ')})`);
    }
  }
  return opts;
}

export function positiveInt(owner: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`${owner}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function boolOption(owner: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean')
    throw new TypeError(`${owner}: ${name} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

export function size2(owner: string, name: string, v: Size2, min: number): [number, number] {
  return pair(owner, name, v, min);
}

export function generatorOption(owner: string, g: unknown): Generator | undefined {
  if (g === undefined) return undefined;
  if (!(g instanceof Generator))
    throw new TypeError(`${owner}: generator must be a Generator, got ${typeof g}`);
  return g;
}

/** A 1-D float32 per-class weight of length n (or any length when n is undefined), or null. */
export function weightOption(owner: string, name: string, t: unknown, n?: number): Tensor | null {
  if (t === undefined || t === null) return null;
  if (!(t instanceof Tensor) || t.dtype !== 'float32') {
    throw new TypeError(
      `${owner}: ${name} must be a float32 Tensor, got ${t instanceof Tensor ? 'int32' : typeof t}`,
    );
  }
  if (n !== undefined && (t.ndim !== 1 || t.size !== n)) {
    throw new RangeError(`${owner}: ${name} must have shape [${n}], got ${formatShape(t.shape)}`);
  }
  return t;
}

export function formatPair(p: readonly [number, number]): string {
  return `[${p[0]}, ${p[1]}]`;
}
