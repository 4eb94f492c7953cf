/**
 * `convnet download`: fetches the official files from a mirror (here a local HTTP server serving
 * the real Fashion-MNIST files, when this machine has them), verifies them and reports where they
 * are; a mirror serving a corrupted file leaves nothing behind.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './capture.js';

const REAL = '/usr/share/datasets/fashion-mnist';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-download-cli-'));
let server: http.Server;
let base = '';
let corrupt = false;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const file = path.join(REAL, path.basename(req.url ?? ''));
    if (!fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const bytes = fs.readFileSync(file);
    if (corrupt) bytes[bytes.length - 10] ^= 0xff;
    res.writeHead(200).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => {
  server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!fs.existsSync(REAL))('convnet download (real files served locally)', () => {
  it('fetches, verifies and reports the four files', async () => {
    const dir = path.join(tmp, 'ok');
    const r = await runCli(['download', 'fashion-mnist', '--dir', dir, '--base-url', base]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/fetched .*train-images-idx3-ubyte.gz \(\d+ bytes, verified\)/);
    expect(r.out).toMatch(/fashion-mnist is in /);
    expect(fs.readdirSync(dir).sort()).toEqual([
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
    ]);
  });

  it('rejects a corrupted file in one line and writes nothing', async () => {
    const dir = path.join(tmp, 'bad');
    corrupt = true;
    try {
      const r = await runCli(['download', 'fashion-mnist', '--dir', dir, '--base-url', base]);
      expect(r.code).toBe(1);
      expect(r.err.split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^convnet download: downloadDataset: .* failed verification/);
      expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
    } finally {
      corrupt = false;
    }
  });
});

describe('convnet download: bad input', () => {
  it('an unknown dataset name is one line and exit status 2', async () => {
    const r = await runCli(['download', 'imagenet']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^convnet download: download needs a dataset name: fashion-mnist, mnist; got imagenet$/,
    );
  });
});
