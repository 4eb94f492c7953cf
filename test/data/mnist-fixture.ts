/** Tiny MNIST-style IDX files for tests, with known pixel values. */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { writeIdx } from '../../lib/data/idx.js';

export interface FixtureOptions {
  n?: number;
  /** Image side (28 for valid files). */
  side?: number;
  /** Label count (default n). */
  labels?: number;
  /** Label of sample i (default i % 10). */
  label?: (i: number) => number;
  gzip?: boolean;
  prefix?: 'train' | 't10k';
}

/** Pixel j of image i: (i * 7 + j) % 256, so every image differs and values are known. */
export function fixturePixel(i: number, j: number): number {
  return (i * 7 + j) % 256;
}

export function writeMnistFixture(
  dir: string,
  opts: FixtureOptions = {},
): { images: string; labels: string } {
  const n = opts.n ?? 5;
  const side = opts.side ?? 28;
  const prefix = opts.prefix ?? 'train';
  const ext = opts.gzip === false ? '' : '.gz';
  fs.mkdirSync(dir, { recursive: true });
  const pixels = new Uint8Array(n * side * side);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < side * side; j++) pixels[i * side * side + j] = fixturePixel(i, j);
  const nl = opts.labels ?? n;
  const labels = new Uint8Array(nl);
  for (let i = 0; i < nl; i++) labels[i] = (opts.label ?? ((k) => k % 10))(i);
  const images = path.join(dir, `${prefix}-images-idx3-ubyte${ext}`);
  const labelsPath = path.join(dir, `${prefix}-labels-idx1-ubyte${ext}`);
  writeIdx(images, { dtype: 'uint8', shape: [n, side, side], data: pixels });
  writeIdx(labelsPath, { dtype: 'uint8', shape: [nl], data: labels });
  return { images, labels: labelsPath };
}
