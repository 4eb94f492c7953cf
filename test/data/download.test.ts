import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  DATASET_CATALOG,
  downloadDataset,
  type DatasetSpec,
  type FetchLike,
} from '../../lib/data/download.js';
import { encodeIdx } from '../../lib/data/idx.js';

const REAL_DIR = '/usr/share/datasets/fashion-mnist';
const haveReal = fs.existsSync(path.join(REAL_DIR, 't10k-labels-idx1-ubyte.gz'));

const N = 5;
const images = encodeIdx({
  dtype: 'uint8',
  shape: [N, 28, 28],
  data: new Uint8Array(N * 784).map((_, i) => i % 251),
});
const labels = encodeIdx({ dtype: 'uint8', shape: [N], data: Uint8Array.of(3, 1, 4, 1, 5) });
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A four-file dataset shaped like MNIST, with checksums of the content the server sends. */
function toySpec(baseUrl: string, withChecksums = true): DatasetSpec {
  const f = (split: 'train' | 'test', kind: 'images' | 'labels', file: string) => ({
    split,
    kind,
    file,
    shape: kind === 'images' ? [N, 28, 28] : [N],
    ...(withChecksums ? { sha256: sha(kind === 'images' ? images : labels) } : {}),
  });
  return {
    name: 'toy',
    baseUrl,
    classes: ['a', 'b', 'c', 'd', 'e', 'f'],
    files: [
      f('train', 'images', 'train-images-idx3-ubyte.gz'),
      f('train', 'labels', 'train-labels-idx1-ubyte.gz'),
      f('test', 'images', 't10k-images-idx3-ubyte.gz'),
      f('test', 'labels', 't10k-labels-idx1-ubyte.gz'),
    ],
  };
}

let server: http.Server;
let base: string;
const routes = new Map<string, Uint8Array>();
const hits: string[] = [];

function serveToy(prefix: string): void {
  for (const p of ['train', 't10k']) {
    routes.set(`${prefix}${p}-images-idx3-ubyte.gz`, zlib.gzipSync(images));
    routes.set(`${prefix}${p}-labels-idx1-ubyte.gz`, zlib.gzipSync(labels));
  }
}

let tmp: string;
let n = 0;
const fresh = (): string => path.join(tmp, `d${n++}`);
const listDir = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-download-'));
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    const body = routes.get(req.url ?? '');
    if (body === undefined) res.writeHead(404, 'Not Found').end();
    else res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  routes.clear();
  hits.length = 0;
});

describe('downloadDataset', () => {
  it('fetches, verifies and writes the four files; a second run keeps them', async () => {
    serveToy('/toy/');
    const dir = fresh();
    const seen: string[] = [];
    const r = await downloadDataset(toySpec(`${base}/toy/`), {
      dir,
      onFile: (f) => seen.push(`${f.file}:${f.skipped}`),
    });
    expect(r.files).toEqual(toySpec('').files.map((f) => path.join(dir, f.file)));
    expect(listDir(dir)).toEqual(
      toySpec('')
        .files.map((f) => f.file)
        .sort(),
    );
    expect(zlib.gunzipSync(fs.readFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz')))).toEqual(
      Buffer.from(labels),
    );
    expect(seen).toEqual(toySpec('').files.map((f) => `${f.file}:false`));
    expect(hits.length).toBe(4);

    await downloadDataset(toySpec(`${base}/toy`), { dir }); // no trailing slash: joined all the same
    expect(hits.length).toBe(4); // nothing fetched again
    await downloadDataset(toySpec(`${base}/toy`), { dir, force: true });
    expect(hits.length).toBe(8);
  });

  it('rejects a file whose content does not match its checksum, writing nothing for it', async () => {
    serveToy('/bad/');
    const tampered = Uint8Array.from(images);
    tampered[500] ^= 1; // still valid IDX of the right shape: only the checksum can tell
    routes.set('/bad/train-images-idx3-ubyte.gz', zlib.gzipSync(tampered));
    const dir = fresh();
    const err = await downloadDataset(toySpec(`${base}/bad/`), { dir }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain(
      `downloadDataset: ${base}/bad/train-images-idx3-ubyte.gz failed verification`,
    );
    expect(err?.message).toContain(
      `SHA-256 of the decompressed content is ${sha(tampered)}, expected ${sha(images)}`,
    );
    expect(err?.message).toContain('nothing was written');
    expect(listDir(dir)).toEqual([]); // no file, no temporary file
  });

  it('rejects a corrupt gzip stream and a wrong structure even without checksums', async () => {
    serveToy('/gz/');
    const gz = zlib.gzipSync(images);
    gz[gz.length - 5] ^= 0xff; // breaks the CRC/size trailer
    routes.set('/gz/train-images-idx3-ubyte.gz', gz);
    const dir = fresh();
    await expect(downloadDataset(toySpec(`${base}/gz/`, false), { dir })).rejects.toThrow(
      /failed verification: corrupt gzip data/,
    );
    expect(listDir(dir)).toEqual([]);

    serveToy('/shape/');
    routes.set(
      '/shape/train-labels-idx1-ubyte.gz',
      zlib.gzipSync(encodeIdx({ dtype: 'uint8', shape: [4], data: new Uint8Array(4) })),
    );
    const dir2 = fresh();
    await expect(downloadDataset(toySpec(`${base}/shape/`, false), { dir: dir2 })).rejects.toThrow(
      /train-labels-idx1-ubyte\.gz failed verification: expected shape \[5\], got \[4\]/,
    );
    // The images file before it verified and stays; the bad one is absent.
    expect(listDir(dir2)).toEqual(['train-images-idx3-ubyte.gz']);

    serveToy('/label/');
    routes.set(
      '/label/t10k-labels-idx1-ubyte.gz',
      zlib.gzipSync(encodeIdx({ dtype: 'uint8', shape: [5], data: Uint8Array.of(0, 1, 2, 6, 0) })),
    );
    await expect(
      downloadDataset(toySpec(`${base}/label/`, false), { dir: fresh() }),
    ).rejects.toThrow(/label 6 at index 3 is not a class index 0\.\.5/);
  });

  it('replaces a corrupt local copy', async () => {
    serveToy('/fix/');
    const dir = fresh();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), 'garbage');
    await downloadDataset(toySpec(`${base}/fix/`), { dir });
    expect(zlib.gunzipSync(fs.readFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz')))).toEqual(
      Buffer.from(labels),
    );
  });

  it('reports HTTP errors with the URL', async () => {
    await expect(downloadDataset(toySpec(`${base}/missing/`), { dir: fresh() })).rejects.toThrow(
      `downloadDataset: cannot fetch ${base}/missing/train-images-idx3-ubyte.gz: HTTP 404 Not Found`,
    );
  });

  it('uses an injected fetch', async () => {
    const urls: string[] = [];
    const fake: FetchLike = async (url) => {
      urls.push(url);
      const body = url.includes('images') ? zlib.gzipSync(images) : labels; // plain IDX is accepted too
      return {
        ok: true,
        status: 200,
        statusText: 'OK',
        arrayBuffer: async () => new Uint8Array(body).buffer,
      };
    };
    await downloadDataset(toySpec('https://example.invalid/x/'), { dir: fresh(), fetch: fake });
    expect(urls).toEqual(toySpec('').files.map((f) => `https://example.invalid/x/${f.file}`));
  });

  it('checks its arguments', async () => {
    await expect(downloadDataset('cifar' as never, { dir: fresh() })).rejects.toThrow(
      'downloadDataset: unknown dataset "cifar"; known: fashion-mnist, mnist',
    );
    await expect(downloadDataset('mnist', {} as never)).rejects.toThrow(
      /downloadDataset: opts.dir must be a non-empty string/,
    );
    await expect(downloadDataset('mnist', { dir: fresh(), baseUrl: 'ftp://x/' })).rejects.toThrow(
      /opts.baseUrl must be an http\(s\) URL/,
    );
    await expect(downloadDataset({ name: 'x' } as never, { dir: fresh() })).rejects.toThrow(
      /dataset must be a known name or a spec/,
    );
  });

  it('defaults to the official mirrors', () => {
    expect(DATASET_CATALOG['fashion-mnist'].baseUrl).toBe(
      'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    );
    expect(DATASET_CATALOG['fashion-mnist'].files.every((f) => f.sha256?.length === 64)).toBe(true);
    // No MNIST file was available to compute checksums from: structure checks only.
    expect(DATASET_CATALOG.mnist.files.some((f) => f.sha256 !== undefined)).toBe(false);
  });

  it.skipIf(!haveReal)(
    'accepts the real Fashion-MNIST files against the hard-coded checksums',
    async () => {
      for (const f of DATASET_CATALOG['fashion-mnist'].files)
        routes.set(`/fm/${f.file}`, fs.readFileSync(path.join(REAL_DIR, f.file)));
      const dir = fresh();
      await downloadDataset('fashion-mnist', { dir, baseUrl: `${base}/fm/` });
      expect(listDir(dir)).toHaveLength(4);
      expect(fs.readFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'))).toEqual(
        fs.readFileSync(path.join(REAL_DIR, 't10k-labels-idx1-ubyte.gz')),
      );
    },
  );
});
