/**
 * Downloads MNIST-style datasets from their official mirrors, verifies them, and writes each file
 * atomically, so a directory never holds a partial or unverified file.
 *
 * Verification: every file must parse as IDX with the expected dtype and shape, and where the
 * catalog holds a checksum, the SHA-256 of its decompressed content must match. Checksums are of
 * the decompressed content rather than the .gz file because mirrors and distributions recompress
 * (Debian's dataset-fashion-mnist .gz files differ byte-wise from the official ones, yet hold the
 * same IDX data). Only checksums computed from real files are listed: the Fashion-MNIST ones were
 * computed from the official data as shipped by Debian; no MNIST file was at hand, so MNIST is
 * verified by size and IDX structure alone (exact element counts and shapes, labels in 0..9).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { writeFileAtomic } from '../io/atomic.js';
import { isGzip, parseIdx } from './idx.js';

export type DatasetName = 'fashion-mnist' | 'mnist';
export type Split = 'train' | 'test';

export interface DatasetFile {
  split: Split;
  kind: 'images' | 'labels';
  /** The official (gzipped) file name. */
  file: string;
  /** IDX shape: [count, 28, 28] for images, [count] for labels. */
  shape: number[];
  /** SHA-256 (hex) of the decompressed IDX content; absent where none could be verified. */
  sha256?: string;
}

/** A dataset of four MNIST-style IDX files; custom specs serve other datasets (KMNIST, ...). */
export interface DatasetSpec {
  name: string;
  /** The official mirror the files are fetched from by default. */
  baseUrl: string;
  files: DatasetFile[];
  classes: readonly string[];
  /** The Debian package that installs the files under /usr/share/datasets/<name>, if any. */
  debianPackage?: string;
}

function mnistFiles(sha: Partial<Record<string, string>>): DatasetFile[] {
  const f = (split: Split, kind: 'images' | 'labels', file: string, n: number): DatasetFile => ({
    split,
    kind,
    file,
    shape: kind === 'images' ? [n, 28, 28] : [n],
    ...(sha[file] !== undefined ? { sha256: sha[file] } : {}),
  });
  return [
    f('train', 'images', 'train-images-idx3-ubyte.gz', 60000),
    f('train', 'labels', 'train-labels-idx1-ubyte.gz', 60000),
    f('test', 'images', 't10k-images-idx3-ubyte.gz', 10000),
    f('test', 'labels', 't10k-labels-idx1-ubyte.gz', 10000),
  ];
}

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

export const MNIST_CLASSES: readonly string[] = Object.freeze([
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
]);

export const DATASET_CATALOG: Readonly<Record<DatasetName, DatasetSpec>> = Object.freeze({
  'fashion-mnist': {
    name: 'fashion-mnist',
    baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    files: mnistFiles({
      'train-images-idx3-ubyte.gz':
        'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
      'train-labels-idx1-ubyte.gz':
        'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
      't10k-images-idx3-ubyte.gz':
        '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
      't10k-labels-idx1-ubyte.gz':
        '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    }),
    classes: FASHION_MNIST_CLASSES,
    debianPackage: 'dataset-fashion-mnist',
  },
  mnist: {
    name: 'mnist',
    baseUrl: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    files: mnistFiles({}),
    classes: MNIST_CLASSES,
  },
});

export function datasetSpec(fn: string, name: string): DatasetSpec {
  if (!Object.prototype.hasOwnProperty.call(DATASET_CATALOG, name)) {
    throw new RangeError(
      `${fn}: unknown dataset ${JSON.stringify(name)}; known: ${Object.keys(DATASET_CATALOG).join(', ')}`,
    );
  }
  return DATASET_CATALOG[name as DatasetName];
}

export type FetchLike = (
  url: string,
  init?: { signal?: AbortSignal },
) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

export interface DownloadOptions {
  /** Where the files go (created if missing). */
  dir: string;
  /** The mirror to fetch from (default: the dataset's official one). */
  baseUrl?: string;
  /** The fetch implementation (default: the global fetch). */
  fetch?: FetchLike;
  /** Fetch files again even if a verified copy is already in `dir`. */
  force?: boolean;
  signal?: AbortSignal;
  /** Called after each file is in place. */
  onFile?: (info: { file: string; path: string; bytes: number; skipped: boolean }) => void;
}

export interface DownloadResult {
  dir: string;
  /** The paths of the dataset's files, downloaded or already present. */
  files: string[];
}

/**
 * Checks one file's bytes against the catalog; returns a problem description, or null if the
 * file is good.
 */
export function verifyDatasetFile(
  bytes: Uint8Array,
  spec: DatasetFile,
  opts: { name: string; numClasses: number },
): string | null {
  const name = opts.name;
  let raw: Uint8Array = bytes;
  if (isGzip(bytes)) {
    try {
      raw = zlib.gunzipSync(bytes);
    } catch (e) {
      return `corrupt gzip data (${(e as Error).message})`;
    }
  }
  let arr;
  try {
    arr = parseIdx(raw, { name, ndim: spec.shape.length, dtype: 'uint8' });
  } catch (e) {
    return (e as Error).message;
  }
  if (arr.shape.join(',') !== spec.shape.join(',')) {
    return `expected shape [${spec.shape.join(',')}], got [${arr.shape.join(',')}]`;
  }
  if (spec.kind === 'labels') {
    const bad = arr.data.findIndex((v) => v >= opts.numClasses);
    if (bad >= 0)
      return `label ${arr.data[bad]} at index ${bad} is not a class index 0..${opts.numClasses - 1}`;
  }
  if (spec.sha256 !== undefined) {
    const got = createHash('sha256').update(raw).digest('hex');
    if (got !== spec.sha256) {
      return `SHA-256 of the decompressed content is ${got}, expected ${spec.sha256} (corrupt or not the official file)`;
    }
  }
  return null;
}

function checkSpec(spec: DatasetSpec): DatasetSpec {
  const ok =
    spec !== null &&
    typeof spec === 'object' &&
    typeof spec.name === 'string' &&
    typeof spec.baseUrl === 'string' &&
    Array.isArray(spec.classes) &&
    spec.classes.length > 0 &&
    Array.isArray(spec.files) &&
    spec.files.every(
      (f) =>
        typeof f.file === 'string' &&
        /^[\w.-]+$/.test(f.file) &&
        Array.isArray(f.shape) &&
        (f.kind === 'images' || f.kind === 'labels'),
    );
  if (!ok) {
    throw new TypeError(
      'downloadDataset: dataset must be a known name or a spec { name, baseUrl, classes, files: [{ split, kind, file, shape, sha256? }] } with plain file names',
    );
  }
  return spec;
}

function joinUrl(base: string, file: string): string {
  return base.endsWith('/') ? base + file : `${base}/${file}`;
}

/**
 * Fetches the dataset's four files into `opts.dir`, verifying each before it is written. A file
 * already there that verifies is kept (unless `force`). On failure the error names the URL and the
 * problem, and the bad file is not written.
 */
export async function downloadDataset(
  dataset: DatasetName | DatasetSpec,
  opts: DownloadOptions,
): Promise<DownloadResult> {
  const spec =
    typeof dataset === 'string' ? datasetSpec('downloadDataset', dataset) : checkSpec(dataset);
  const verifyOpts = (name: string) => ({ name, numClasses: spec.classes.length });
  if (
    opts === null ||
    typeof opts !== 'object' ||
    typeof opts.dir !== 'string' ||
    opts.dir === ''
  ) {
    throw new TypeError(
      `downloadDataset: opts.dir must be a non-empty string, got ${JSON.stringify(opts?.dir)}`,
    );
  }
  const baseUrl = opts.baseUrl ?? spec.baseUrl;
  if (typeof baseUrl !== 'string' || !/^https?:\/\//.test(baseUrl)) {
    throw new TypeError(
      `downloadDataset: opts.baseUrl must be an http(s) URL, got ${JSON.stringify(opts.baseUrl)}`,
    );
  }
  const fetchFn: FetchLike = opts.fetch ?? (globalThis.fetch as unknown as FetchLike);
  if (typeof fetchFn !== 'function') {
    throw new TypeError('downloadDataset: no fetch available; pass opts.fetch');
  }
  fs.mkdirSync(opts.dir, { recursive: true });
  const files: string[] = [];
  for (const f of spec.files) {
    const dest = path.join(opts.dir, f.file);
    files.push(dest);
    if (
      !opts.force &&
      fs.existsSync(dest) &&
      verifyDatasetFile(fs.readFileSync(dest), f, verifyOpts(dest)) === null
    ) {
      opts.onFile?.({ file: f.file, path: dest, bytes: fs.statSync(dest).size, skipped: true });
      continue;
    }
    const url = joinUrl(baseUrl, f.file);
    let bytes: Uint8Array;
    try {
      const res = await fetchFn(url, opts.signal ? { signal: opts.signal } : undefined);
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new Error(`downloadDataset: cannot fetch ${url}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const problem = verifyDatasetFile(bytes, f, verifyOpts(url));
    if (problem !== null) {
      throw new Error(
        `downloadDataset: ${url} failed verification: ${problem}; nothing was written to ${dest}`,
      );
    }
    writeFileAtomic(dest, bytes);
    opts.onFile?.({ file: f.file, path: dest, bytes: bytes.length, skipped: false });
  }
  return { dir: opts.dir, files };
}
