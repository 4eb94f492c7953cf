/**
 * MNIST and Fashion-MNIST as TensorDatasets: images float32 [N,1,28,28] scaled to [0,1], labels
 * int32 [N].
 *
 * Where the files are looked for, in order:
 *   1. the `root` option
 *   2. $CONVNET_DATA/<name>
 *   3. the download directory, $XDG_CACHE_HOME/convnet/<name> (default ~/.cache/convnet/<name>),
 *      where `convnet download <name>` and `{ download: true }` put the files
 *   4. /usr/share/datasets/<name> (Debian's dataset-fashion-mnist package)
 *   5. the subset bundled with convnet (6,000 training and 1,000 test images of Fashion-MNIST),
 *      only with `bundled: true`; `datasets.fashionMnistSubset()` loads it directly.
 * File names are the official ones, gzipped or not. A directory holding broken files is an error,
 * not a reason to look further: silently training on other data would be worse.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { packageRoot } from '../package-root.js';
import { Tensor } from '../tensor.js';
import { TensorDataset } from './dataset.js';
import {
  DATASET_CATALOG,
  downloadDataset,
  type DatasetFile,
  type DatasetName,
  type DatasetSpec,
  type FetchLike,
  type Split,
} from './download.js';
import { readIdx } from './idx.js';

export { FASHION_MNIST_CLASSES, MNIST_CLASSES } from './download.js';

/** Where the bundled Fashion-MNIST subset lives, relative to the package root. */
export const BUNDLED_SUBSET_DIR = path.join('data', 'fashion-mnist-subset');

export interface MnistOptions {
  split: Split;
  /** A directory holding the four IDX files; looked in first. */
  root?: string;
  /** Download the official files when they are found nowhere (into root, $CONVNET_DATA/<name> or the cache). */
  download?: boolean;
  /** Fall back to the bundled subset (Fashion-MNIST only) when the full files are found nowhere. */
  bundled?: boolean;
  /** Where system packages put datasets (default /usr/share/datasets). */
  systemRoot?: string;
  /** Passed to downloadDataset. */
  baseUrl?: string;
  fetch?: FetchLike;
}

/** A loaded MNIST-style split. */
export class MnistDataset extends TensorDataset {
  readonly name: string;
  readonly split: Split;
  readonly classes: readonly string[];
  /** The directory the files were read from. */
  readonly dir: string;
  /** Whether this is the bundled subset rather than the full dataset. */
  readonly bundled: boolean;

  constructor(
    inputs: Tensor,
    targets: Tensor,
    info: { name: string; split: Split; classes: readonly string[]; dir: string; bundled: boolean },
  ) {
    super(inputs, targets);
    this.name = info.name;
    this.split = info.split;
    this.classes = info.classes;
    this.dir = info.dir;
    this.bundled = info.bundled;
  }
}

interface Place {
  dir: string;
  why: string;
}

/** The default download directory of a dataset. */
export function defaultDownloadDir(name: string): string {
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'convnet', name);
}

/** The directories searched for `name`, in order, each with why it is searched. */
export function dataSearchPath(
  name: string,
  opts: { root?: string; systemRoot?: string; bundled?: boolean } = {},
): Place[] {
  const places: Place[] = [];
  if (opts.root !== undefined)
    places.push({ dir: path.resolve(opts.root), why: 'the root option' });
  const env = process.env.CONVNET_DATA;
  if (env) places.push({ dir: path.resolve(env, name), why: '$CONVNET_DATA' });
  places.push({ dir: defaultDownloadDir(name), why: 'the download directory' });
  const debian = (DATASET_CATALOG as Record<string, DatasetSpec>)[name]?.debianPackage;
  places.push({
    dir: path.join(opts.systemRoot ?? '/usr/share/datasets', name),
    why: debian ? `Debian's ${debian} package` : 'system datasets',
  });
  if (opts.bundled && name === 'fashion-mnist') {
    places.push({ dir: path.join(packageRoot(), BUNDLED_SUBSET_DIR), why: 'the bundled subset' });
  }
  return places;
}

/** The path of a dataset file in `dir`, gzipped or not, or null. */
function findFile(dir: string, gzName: string): string | null {
  for (const candidate of [gzName, gzName.replace(/\.gz$/, '')]) {
    const p = path.join(dir, candidate);
    if (fs.existsSync(p) && fs.statSync(p).isFile()) return p;
  }
  return null;
}

function splitFiles(spec: DatasetSpec, split: Split): { images: DatasetFile; labels: DatasetFile } {
  const images = spec.files.find((f) => f.split === split && f.kind === 'images');
  const labels = spec.files.find((f) => f.split === split && f.kind === 'labels');
  if (!images || !labels) throw new Error(`dataset ${spec.name} has no ${split} split`);
  return { images, labels };
}

/** Reads one split from `dir`; every inconsistency is an error naming the file. */
export function loadMnistDir(
  dir: string,
  name: DatasetName,
  split: Split,
  opts: { bundled?: boolean } = {},
): MnistDataset {
  const fn = 'loadMnistDir';
  const spec = DATASET_CATALOG[name];
  if (spec === undefined) {
    throw new RangeError(
      `${fn}: unknown dataset ${JSON.stringify(name)}; known: ${Object.keys(DATASET_CATALOG).join(', ')}`,
    );
  }
  checkSplit(fn, split);
  const { images, labels } = splitFiles(spec, split);
  const imagesPath = findFile(dir, images.file);
  const labelsPath = findFile(dir, labels.file);
  if (imagesPath === null || labelsPath === null) {
    throw new Error(
      `${fn}: ${dir} has no ${imagesPath === null ? images.file : labels.file} (gzipped or not)`,
    );
  }
  const img = readIdx(imagesPath, { ndim: 3, dtype: 'uint8' });
  const [n, h, w] = img.shape;
  if (h !== 28 || w !== 28) {
    throw new Error(`IDX file ${imagesPath}: expected 28x28 images, got ${h}x${w}`);
  }
  const lab = readIdx(labelsPath, { ndim: 1, dtype: 'uint8' });
  if (lab.shape[0] !== n) {
    throw new Error(
      `IDX files ${imagesPath} and ${labelsPath} disagree: ${n} images but ${lab.shape[0]} labels`,
    );
  }
  const numClasses = spec.classes.length;
  const targets = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = lab.data[i];
    if (v >= numClasses) {
      throw new Error(
        `IDX file ${labelsPath}: label ${v} at index ${i} is not a class index 0..${numClasses - 1}`,
      );
    }
    targets[i] = v;
  }
  const pixels = img.data;
  const inputs = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) inputs[i] = pixels[i] / 255;
  return new MnistDataset(new Tensor(inputs, [n, 1, h, w]), new Tensor(targets, [n]), {
    name,
    split,
    classes: spec.classes,
    dir,
    bundled: opts.bundled ?? false,
  });
}

function checkSplit(fn: string, split: unknown): asserts split is Split {
  if (split !== 'train' && split !== 'test') {
    throw new RangeError(`${fn}: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  }
}

function checkOptions(fn: string, opts: MnistOptions): void {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(
      `${fn}: options { split: 'train' | 'test', root?, download? } are required, got ${String(opts)}`,
    );
  }
  checkSplit(fn, opts.split);
  for (const k of ['root', 'systemRoot', 'baseUrl'] as const) {
    if (opts[k] !== undefined && (typeof opts[k] !== 'string' || opts[k] === '')) {
      throw new TypeError(
        `${fn}: opts.${k} must be a non-empty string, got ${JSON.stringify(opts[k])}`,
      );
    }
  }
}

/** What was missing in a directory, for the not-found message. */
function describeMissing(dir: string, files: DatasetFile[]): string {
  if (!fs.existsSync(dir)) return 'does not exist';
  const missing = files.filter((f) => findFile(dir, f.file) === null).map((f) => f.file);
  return `has no ${missing.join(' or ')}`;
}

function notFoundError(fn: string, spec: DatasetSpec, split: Split, places: Place[]): Error {
  const { images, labels } = splitFiles(spec, split);
  const lines = places.map(
    (p) => `  ${p.dir}  (${p.why}): ${describeMissing(p.dir, [images, labels])}`,
  );
  if (!process.env.CONVNET_DATA) lines.push('  ($CONVNET_DATA is not set)');
  const how = [`run \`convnet download ${spec.name}\``, `pass { download: true }`];
  if (spec.debianPackage) how.push(`on Debian, \`apt-get install ${spec.debianPackage}\``);
  let msg =
    `${fn}: ${spec.name} ${split} split not found. Looked for ${images.file} and ${labels.file} (gzipped or not) in:\n` +
    `${lines.join('\n')}\n` +
    `To get the files: ${how.join(', or ')}; or set $CONVNET_DATA to a directory holding ${spec.name}/.`;
  if (spec.name === 'fashion-mnist') {
    msg +=
      ' For a small offline sample, use datasets.fashionMnistSubset({ split }) or pass { bundled: true }.';
  }
  return new Error(msg);
}

function findAndLoad(fn: string, name: DatasetName, opts: MnistOptions): MnistDataset | Error {
  const spec = DATASET_CATALOG[name];
  const places = dataSearchPath(name, opts);
  const { images, labels } = splitFiles(spec, opts.split);
  for (const p of places) {
    if (findFile(p.dir, images.file) !== null && findFile(p.dir, labels.file) !== null) {
      return loadMnistDir(p.dir, name, opts.split, { bundled: p.why === 'the bundled subset' });
    }
  }
  return notFoundError(fn, spec, opts.split, places);
}

function loadSync(fn: string, name: DatasetName, opts: MnistOptions): MnistDataset {
  checkOptions(fn, opts);
  if (opts.download) {
    throw new TypeError(
      `${fn}: download needs the async form; use await datasets.${fn.replace(/Sync$/, '')}(...)`,
    );
  }
  const r = findAndLoad(fn, name, opts);
  if (r instanceof Error) throw r;
  return r;
}

async function loadAsync(fn: string, name: DatasetName, opts: MnistOptions): Promise<MnistDataset> {
  checkOptions(fn, opts);
  // With download, the bundled subset must not satisfy the request before the download is tried.
  const r = findAndLoad(fn, name, opts.download ? { ...opts, bundled: false } : opts);
  if (!(r instanceof Error)) return r;
  if (!opts.download) throw r;
  const env = process.env.CONVNET_DATA;
  const dir = opts.root ?? (env ? path.join(env, name) : defaultDownloadDir(name));
  await downloadDataset(name, { dir, baseUrl: opts.baseUrl, fetch: opts.fetch });
  return loadMnistDir(path.resolve(dir), name, opts.split);
}

/** The bundled Fashion-MNIST subset (6,000 training and 1,000 test images, class-balanced). */
function fashionMnistSubset(opts: { split: Split }): MnistDataset {
  const fn = 'fashionMnistSubset';
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(
      `${fn}: options { split: 'train' | 'test' } are required, got ${String(opts)}`,
    );
  }
  checkSplit(fn, opts.split);
  return loadMnistDir(path.join(packageRoot(), BUNDLED_SUBSET_DIR), 'fashion-mnist', opts.split, {
    bundled: true,
  });
}

export const datasets = {
  /** Fashion-MNIST (Zalando, MIT licence): 60,000 training and 10,000 test images in 10 classes. */
  fashionMnist: (opts: MnistOptions): Promise<MnistDataset> =>
    loadAsync('fashionMnist', 'fashion-mnist', opts),
  /** MNIST handwritten digits: 60,000 training and 10,000 test images. */
  mnist: (opts: MnistOptions): Promise<MnistDataset> => loadAsync('mnist', 'mnist', opts),
  /** Like fashionMnist, without the download option. */
  fashionMnistSync: (opts: MnistOptions): MnistDataset =>
    loadSync('fashionMnistSync', 'fashion-mnist', opts),
  mnistSync: (opts: MnistOptions): MnistDataset => loadSync('mnistSync', 'mnist', opts),
  fashionMnistSubset,
};
