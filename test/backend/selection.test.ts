/**
 * Backend selection through lib/backend/index.ts with the native binary hidden (CONVNET_PREBUILD
 * pointed at an empty directory): the TS fallback takes over with one warning that says why, and
 * computes what the native backend computes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

type IndexModule = typeof import('../../lib/backend/index.js');

const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'convnet-no-binary-'));
const saved = { ...process.env };
afterEach(() => {
  for (const key of ['CONVNET_BACKEND', 'CONVNET_PREBUILD']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  vi.restoreAllMocks();
});

async function freshIndex(env: Record<string, string>): Promise<IndexModule> {
  Object.assign(process.env, env);
  vi.resetModules();
  return import('../../lib/backend/index.js');
}

function convOnce(index: IndexModule): Float32Array {
  const g = index.conv2dGeometry('conv2d', [2, 3, 9, 7], [4, 3, 3, 2], {
    stride: [2, 1],
    padding: 1,
  });
  const x = Float32Array.from({ length: 2 * 3 * 9 * 7 }, (_, i) => Math.sin(i));
  const w = Float32Array.from({ length: 4 * 3 * 3 * 2 }, (_, i) => Math.cos(i * 0.7));
  const y = new Float32Array(2 * 4 * g.outHeight * g.outWidth);
  index.kernels().conv2d(g, x, w, new Float32Array([0.1, -0.2, 0.3, 0]), y);
  return y;
}

const tsOnly = saved.CONVNET_BACKEND === 'ts';

describe.skipIf(tsOnly)('backend selection', () => {
  it('without the native binary: ts, one warning with the reason, and the same results', async () => {
    const native = convOnce(await freshIndex({}));
    expect((await freshIndex({})).backendInfo().name).toBe('native');

    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const index = await freshIndex({ CONVNET_PREBUILD: empty });
    const results = [convOnce(index), convOnce(index), convOnce(index)];
    const info = index.backendInfo();
    expect(info.name).toBe('ts');
    expect(info.isa).toBe('scalar');
    expect(info.reason).toMatch(/no native binary found in .*convnet-no-binary-/);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(
      /pure-TypeScript backend .* because no native binary found/,
    );
    for (const y of results) {
      for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - native[i])).toBeLessThan(1e-5);
    }
  });

  it('CONVNET_BACKEND=native without the binary is an error that says why', async () => {
    const index = await freshIndex({ CONVNET_PREBUILD: empty, CONVNET_BACKEND: 'native' });
    expect(() => index.kernels()).toThrow(
      /the native backend was requested but cannot be loaded: no native binary found/,
    );
    expect(() => index.setBackend('native')).toThrow(/cannot be loaded/);
  });

  it('CONVNET_BACKEND=ts and setBackend switch without a warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const index = await freshIndex({ CONVNET_BACKEND: 'ts' });
    expect(index.backendInfo()).toEqual({
      name: 'ts',
      isa: 'scalar',
      threads: 1,
      reason: 'the ts backend was requested',
    });
    index.setBackend('native');
    expect(index.backendInfo().name).toBe('native');
    index.setBackend('ts');
    expect(index.kernels().name).toBe('ts');
    expect(warn).not.toHaveBeenCalled();
    expect(() => index.setBackend('gpu' as never)).toThrow(
      /setBackend: name must be 'native' or 'ts', got "gpu"/,
    );
  });

  it('CONVNET_BACKEND with an unknown value is a clear error', async () => {
    const index = await freshIndex({ CONVNET_BACKEND: 'cuda' });
    expect(() => index.kernels()).toThrow(
      /CONVNET_BACKEND: value must be 'native' or 'ts', got "cuda"/,
    );
  });
});
