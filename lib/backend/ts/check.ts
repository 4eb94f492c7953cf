/** Cheap O(1) argument checks shared by the TS kernels: a short typed array would otherwise
 * read as NaN or silently drop writes. */
export function requireLength(
  fn: string,
  name: string,
  arr: { length: number },
  needed: number,
): void {
  if (arr.length < needed) {
    throw new RangeError(`${fn}: ${name} must have at least ${needed} elements, got ${arr.length}`);
  }
}

export function requireSameLength(
  fn: string,
  name: string,
  arr: { length: number },
  refName: string,
  ref: { length: number },
): void {
  if (arr.length !== ref.length) {
    throw new RangeError(
      `${fn}: ${name} must have as many elements as ${refName} (${ref.length}), got ${arr.length}`,
    );
  }
}
