import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  dataSearchPath,
  datasets,
  defaultDownloadDir,
  loadMnistDir,
} from '../../lib/data/datasets.js';
import { encodeIdx, readIdx } from '../../lib/data/idx.js';
import { packageRoot } from '../../lib/package-root.js';
import { fixturePixel, writeMnistFixture } from './mnist-fixture.js';

const REAL_DIR = '/usr/share/datasets/fashion-mnist';
const haveReal = fs.existsSync(path.join(REAL_DIR, 'train-labels-idx1-ubyte.gz'));

let tmp: string;
let systemRoot: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-datasets-'));
  systemRoot = path.join(tmp, 'system');
  fs.mkdirSync(systemRoot);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeEach(() => {
  // The real environment must not leak in: no CONVNET_DATA, and a cache directory of our own.
  vi.stubEnv('CONVNET_DATA', '');
  vi.stubEnv('XDG_CACHE_HOME', path.join(tmp, 'cache'));
});
afterEach(() => vi.unstubAllEnvs());

let counter = 0;
const fresh = (name: string): string => path.join(tmp, `${name}-${counter++}`);

describe('loadMnistDir', () => {
  it('scales pixels to [0,1] as float32 [N,1,28,28] and labels to int32 [N]', () => {
    const dir = fresh('ok');
    writeMnistFixture(dir, { n: 4, label: (i) => [3, 0, 9, 1][i] });
    const ds = loadMnistDir(dir, 'fashion-mnist', 'train');
    expect(ds.length).toBe(4);
    expect(ds.inputs.shape).toEqual([4, 1, 28, 28]);
    expect(ds.inputs.dtype).toBe('float32');
    expect(ds.targets.dtype).toBe('int32');
    expect([...ds.targets.data]).toEqual([3, 0, 9, 1]);
    for (const [i, j] of [
      [0, 0],
      [1, 5],
      [3, 783],
      [2, 100],
    ]) {
      expect(ds.inputs.data[i * 784 + j]).toBeCloseTo(fixturePixel(i, j) / 255, 7);
    }
    expect(ds.classes).toBe(FASHION_MNIST_CLASSES);
    expect(ds.classes[9]).toBe('Ankle boot');
    expect(ds.bundled).toBe(false);
    expect(ds.get(1).target).toBe(0);
  });

  it('reads uncompressed files too, and the test split from t10k files', () => {
    const dir = fresh('plain');
    writeMnistFixture(dir, { n: 3, gzip: false, prefix: 't10k' });
    const ds = loadMnistDir(dir, 'mnist', 'test');
    expect(ds.length).toBe(3);
    expect(ds.classes).toBe(MNIST_CLASSES);
  });

  it('rejects label counts that disagree with image counts, naming both files', () => {
    const dir = fresh('count');
    const f = writeMnistFixture(dir, { n: 5, labels: 4 });
    expect(() => loadMnistDir(dir, 'fashion-mnist', 'train')).toThrow(
      `IDX files ${f.images} and ${f.labels} disagree: 5 images but 4 labels`,
    );
  });

  it('rejects out-of-range labels and images that are not 28x28', () => {
    const dir = fresh('label');
    const f = writeMnistFixture(dir, { n: 3, label: (i) => (i === 2 ? 10 : 0) });
    expect(() => loadMnistDir(dir, 'fashion-mnist', 'train')).toThrow(
      `IDX file ${f.labels}: label 10 at index 2 is not a class index 0..9`,
    );
    const dir2 = fresh('side');
    const g = writeMnistFixture(dir2, { n: 2, side: 27 });
    expect(() => loadMnistDir(dir2, 'fashion-mnist', 'train')).toThrow(
      `IDX file ${g.images}: expected 28x28 images, got 27x27`,
    );
  });

  it('rejects a labels file with images dimensions', () => {
    const dir = fresh('dims');
    const f = writeMnistFixture(dir, { n: 2 });
    fs.writeFileSync(
      f.labels,
      encodeIdx({ dtype: 'uint8', shape: [2, 1], data: new Uint8Array(2) }, { gzip: true }),
    );
    expect(() => loadMnistDir(dir, 'fashion-mnist', 'train')).toThrow(
      `IDX file ${f.labels}: expected 1 dimension(s), got 2`,
    );
  });
});

describe('datasets lookup order', () => {
  it('searches root, $CONVNET_DATA, the download directory, then the system directory', () => {
    vi.stubEnv('CONVNET_DATA', '/env/data');
    const places = dataSearchPath('fashion-mnist', { root: '/my/root', systemRoot: '/sys' });
    expect(places.map((p) => p.dir)).toEqual([
      path.resolve('/my/root'),
      path.resolve('/env/data/fashion-mnist'),
      path.join(tmp, 'cache', 'convnet', 'fashion-mnist'),
      path.join('/sys', 'fashion-mnist'),
    ]);
    expect(defaultDownloadDir('mnist')).toBe(path.join(tmp, 'cache', 'convnet', 'mnist'));
    expect(dataSearchPath('fashion-mnist', { bundled: true }).at(-1)?.dir).toBe(
      path.join(packageRoot(), 'data', 'fashion-mnist-subset'),
    );
    // MNIST has no bundled subset.
    expect(dataSearchPath('mnist', { bundled: true }).some((p) => p.why.includes('bundled'))).toBe(
      false,
    );
  });

  it('takes the first directory that holds the split, skipping incomplete ones', async () => {
    const root = fresh('root');
    const envRoot = fresh('env');
    const sys = fresh('sys');
    writeMnistFixture(path.join(envRoot, 'fashion-mnist'), { n: 2 });
    writeMnistFixture(path.join(sys, 'fashion-mnist'), { n: 3 });
    // root has only the images: not a match.
    writeMnistFixture(root, { n: 7 });
    fs.rmSync(path.join(root, 'train-labels-idx1-ubyte.gz'));

    const fromSys = await datasets.fashionMnist({ split: 'train', root, systemRoot: sys });
    expect(fromSys.length).toBe(3);
    expect(fromSys.dir).toBe(path.join(sys, 'fashion-mnist'));

    vi.stubEnv('CONVNET_DATA', envRoot);
    expect((await datasets.fashionMnist({ split: 'train', root, systemRoot: sys })).length).toBe(2);

    writeMnistFixture(root, { n: 7 });
    const fromRoot = datasets.fashionMnistSync({ split: 'train', root, systemRoot: sys });
    expect(fromRoot.length).toBe(7);
    expect(fromRoot.dir).toBe(path.resolve(root));
  });

  it('reports every place it looked and how to get the files', async () => {
    const root = fresh('empty-root');
    fs.mkdirSync(root);
    writeMnistFixture(root, { n: 2 });
    fs.rmSync(path.join(root, 'train-labels-idx1-ubyte.gz'));
    const err = await datasets.fashionMnist({ split: 'train', root, systemRoot }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const msg = err!.message;
    expect(msg).toContain('fashionMnist: fashion-mnist train split not found');
    expect(msg).toContain('train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz');
    expect(msg).toContain(
      `${path.resolve(root)}  (the root option): has no train-labels-idx1-ubyte.gz`,
    );
    expect(msg).toContain(
      `${path.join(tmp, 'cache', 'convnet', 'fashion-mnist')}  (the download directory): does not exist`,
    );
    expect(msg).toContain(
      `${path.join(systemRoot, 'fashion-mnist')}  (Debian's dataset-fashion-mnist package): does not exist`,
    );
    expect(msg).toContain('$CONVNET_DATA is not set');
    expect(msg).toContain('convnet download fashion-mnist');
    expect(msg).toContain('apt-get install dataset-fashion-mnist');
    expect(msg).toContain('datasets.fashionMnistSubset');
    // The order of the lines is the search order.
    expect(msg.indexOf('(the root option)')).toBeLessThan(msg.indexOf('(the download directory)'));
    expect(msg.indexOf('(the download directory)')).toBeLessThan(msg.indexOf("(Debian's"));

    const mnistErr = (() => {
      try {
        datasets.mnistSync({ split: 'test', systemRoot });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(mnistErr).toContain('mnistSync: mnist test split not found');
    expect(mnistErr).toContain('t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz');
    expect(mnistErr).not.toContain('apt-get');
  });

  it('falls back to the bundled subset only when asked', async () => {
    await expect(datasets.fashionMnist({ split: 'test', systemRoot })).rejects.toThrow(/not found/);
    const ds = await datasets.fashionMnist({ split: 'test', systemRoot, bundled: true });
    expect(ds.bundled).toBe(true);
    expect(ds.length).toBe(1000);
    expect(ds.dir).toBe(path.join(packageRoot(), 'data', 'fashion-mnist-subset'));
  });

  it('checks its options', async () => {
    await expect(datasets.fashionMnist({ split: 'val' as never })).rejects.toThrow(
      `fashionMnist: split must be 'train' or 'test', got "val"`,
    );
    await expect(datasets.mnist(undefined as never)).rejects.toThrow(/mnist: options \{ split/);
    expect(() => datasets.fashionMnistSync({ split: 'train', root: '' })).toThrow(
      /opts.root must be a non-empty string/,
    );
    expect(() => datasets.fashionMnistSync({ split: 'train', download: true })).toThrow(
      /download needs the async form/,
    );
    expect(() => datasets.fashionMnistSubset({ split: 'all' as never })).toThrow(
      /fashionMnistSubset: split must be/,
    );
  });
});

describe('bundled Fashion-MNIST subset', () => {
  it('is class-balanced: 600 training and 100 test images per class', () => {
    const train = datasets.fashionMnistSubset({ split: 'train' });
    const test = datasets.fashionMnistSubset({ split: 'test' });
    expect(train.inputs.shape).toEqual([6000, 1, 28, 28]);
    expect(test.inputs.shape).toEqual([1000, 1, 28, 28]);
    for (const [ds, per] of [
      [train, 600],
      [test, 100],
    ] as const) {
      const counts = new Array(10).fill(0);
      for (const v of ds.targets.data) counts[v]++;
      expect(counts).toEqual(new Array(10).fill(per));
      let max = 0;
      for (const v of ds.inputs.data) max = Math.max(max, v);
      expect(max).toBe(1); // real photos reach full white
    }
    const dir = path.join(packageRoot(), 'data', 'fashion-mnist-subset');
    expect(fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8')).toContain(
      'Copyright © 2017 Zalando SE',
    );
  });

  it.skipIf(!haveReal)('holds exactly the first images of each class of the real files', () => {
    const dir = path.join(packageRoot(), 'data', 'fashion-mnist-subset');
    for (const [prefix, per] of [
      ['train', 600],
      ['t10k', 100],
    ] as const) {
      const realImages = readIdx(path.join(REAL_DIR, `${prefix}-images-idx3-ubyte.gz`));
      const realLabels = readIdx(path.join(REAL_DIR, `${prefix}-labels-idx1-ubyte.gz`));
      const subImages = readIdx(path.join(dir, `${prefix}-images-idx3-ubyte.gz`));
      const subLabels = readIdx(path.join(dir, `${prefix}-labels-idx1-ubyte.gz`));
      const taken = new Array(10).fill(0);
      let k = 0;
      for (let i = 0; i < realLabels.data.length && k < subLabels.data.length; i++) {
        const c = realLabels.data[i];
        if (taken[c] === per) continue;
        taken[c]++;
        expect(subLabels.data[k]).toBe(c);
        const a = realImages.data.subarray(i * 784, (i + 1) * 784);
        const b = subImages.data.subarray(k * 784, (k + 1) * 784);
        if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0)
          throw new Error(`${prefix} image ${k} differs from real image ${i}`);
        k++;
      }
      expect(k).toBe(per * 10);
    }
  });
});

describe('datasets with download: true', () => {
  let server: http.Server;
  let baseUrl: string;
  const served = new Map<string, Uint8Array>();
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const body = served.get(req.url ?? '');
      if (body === undefined) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mnist/`;
    // MNIST-shaped files (the catalog checks the official shapes): blank images, labels i % 10.
    for (const [prefix, n] of [
      ['train', 60000],
      ['t10k', 10000],
    ] as const) {
      const labels = new Uint8Array(n).map((_, i) => i % 10);
      served.set(
        `/mnist/${prefix}-images-idx3-ubyte.gz`,
        encodeIdx(
          { dtype: 'uint8', shape: [n, 28, 28], data: new Uint8Array(n * 784) },
          { gzip: true },
        ),
      );
      served.set(
        `/mnist/${prefix}-labels-idx1-ubyte.gz`,
        encodeIdx({ dtype: 'uint8', shape: [n], data: labels }, { gzip: true }),
      );
    }
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('downloads into root when the files are nowhere, then loads them', async () => {
    const root = fresh('dl');
    const ds = await datasets.mnist({ split: 'test', root, systemRoot, download: true, baseUrl });
    expect(ds.length).toBe(10000);
    expect([...ds.targets.data.subarray(0, 12)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(fs.readdirSync(root).sort()).toEqual([
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
    ]);
  });

  it('without root, downloads into $CONVNET_DATA/<name>, or else the cache directory', async () => {
    const envRoot = fresh('env-dl');
    vi.stubEnv('CONVNET_DATA', envRoot);
    const a = await datasets.mnist({ split: 'test', systemRoot, download: true, baseUrl });
    expect(a.dir).toBe(path.join(envRoot, 'mnist'));
    expect(fs.readdirSync(path.join(envRoot, 'mnist'))).toHaveLength(4);
    vi.stubEnv('CONVNET_DATA', '');
    const b = await datasets.mnist({ split: 'test', systemRoot, download: true, baseUrl });
    expect(b.dir).toBe(path.join(tmp, 'cache', 'convnet', 'mnist'));
    // Found there next time, without downloading.
    expect(datasets.mnistSync({ split: 'test', systemRoot }).dir).toBe(b.dir);
  });
});
