/** Option checks shared by the model builders. */

export function checkOptions(fn: string, opts: unknown, known: readonly string[]): void {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`${fn}: options must be an object, got ${JSON.stringify(opts)}`);
  }
  const unknown = Object.keys(opts).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new RangeError(
      `${fn}: unknown option(s) ${unknown.join(', ')}; known: ${known.join(', ')}`,
    );
  }
}

export function positiveInt(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`${fn}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function probability(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) {
    throw new RangeError(`${fn}: ${name} must be a number in [0, 1), got ${JSON.stringify(v)}`);
  }
  return v;
}

export function oneOf<T extends string>(
  fn: string,
  name: string,
  v: unknown,
  allowed: readonly T[],
): T {
  if (!allowed.includes(v as T)) {
    throw new RangeError(
      `${fn}: ${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`,
    );
  }
  return v as T;
}
