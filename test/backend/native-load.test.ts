/**
 * Loading the native backend: backendInfo() reports it with the best instruction set of this
 * CPU, setIsa / availableIsas / setNumThreads work, and CONVNET_ARCH or a missing binary give
 * clear errors (or, through lib/backend/index.ts, the TS fallback with the reason).
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Isa } from '../../lib/backend/kernels.js';

type NativeModule = typeof import('../../lib/backend/native.js');
type IndexModule = typeof import('../../lib/backend/index.js');

/** Fresh copies of the modules, so that their load-time state (caches, env) starts over. */
async function freshNative(): Promise<NativeModule> {
  vi.resetModules();
  return import('../../lib/backend/native.js');
}
async function freshIndex(): Promise<IndexModule> {
  vi.resetModules();
  return import('../../lib/backend/index.js');
}

/** The levels this CPU supports, by the rules of native/core/cpu_features.cc (Linux x64/arm64). */
function expectedIsas(): Isa[] {
  if (process.arch === 'arm64') return ['neon', 'scalar'];
  if (process.arch !== 'x64') return ['scalar'];
  let flags: string[] = [];
  try {
    flags =
      /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(/\s+/) ?? [];
  } catch {
    return ['sse2', 'scalar'];
  }
  return flags.includes('avx2') && flags.includes('fma')
    ? ['avx2', 'sse2', 'scalar']
    : ['sse2', 'scalar'];
}

const savedEnv = { ...process.env };
afterEach(() => {
  for (const key of [
    'CONVNET_ARCH',
    'CONVNET_CONV_ALGO',
    'CONVNET_BACKEND',
    'CONVNET_PREBUILD',
    'CONVNET_NUM_THREADS',
  ]) {
    if (savedEnv[key] === undefined) delete process.env[key];
    else process.env[key] = savedEnv[key];
  }
});

const tsOnly = process.env.CONVNET_BACKEND === 'ts';

describe.skipIf(tsOnly)('native backend loading', () => {
  it('backendInfo() reports native with the best instruction set of this CPU', async () => {
    delete process.env.CONVNET_ARCH;
    const index = await freshIndex();
    const native = (await freshNative()).loadNativeBackend();
    native.setIsa(native.availableIsas()[0]);
    const info = index.backendInfo();
    expect(info.name).toBe('native');
    expect(info.reason).toBeNull();
    expect(info.isa).toBe(expectedIsas()[0]);
    expect(index.kernels().name).toBe('native');
  });

  it('availableIsas() lists the levels of this CPU, best first, and setIsa() switches', async () => {
    const native = (await freshNative()).loadNativeBackend();
    const isas = native.availableIsas();
    expect(isas).toEqual(expectedIsas());
    for (const isa of isas) {
      native.setIsa(isa);
      expect(native.isa()).toBe(isa);
      const c = new Float32Array(4);
      native.kernels.gemm(
        { transA: false, transB: false, m: 2, n: 2, k: 2, alpha: 1, beta: 0 },
        new Float32Array([1, 2, 3, 4]),
        new Float32Array([5, 6, 7, 8]),
        c,
      );
      expect(Array.from(c)).toEqual([19, 22, 43, 50]);
    }
    native.setIsa(isas[0]);
  });

  it('a level the CPU lacks is an Error naming it and the available ones', async () => {
    const native = (await freshNative()).loadNativeBackend();
    const missing: Isa = process.arch === 'arm64' ? 'avx2' : 'neon';
    const available = native.availableIsas().join(', ');
    const before = native.isa();
    expect(() => native.setIsa(missing)).toThrow(
      `setIsa: instruction set '${missing}' is not supported by this CPU or build (available: ${available})`,
    );
    expect(native.isa()).toBe(before);
  });

  it('setNumThreads() resizes the pool, directly and through the backend index', async () => {
    const index = await freshIndex();
    const native = (await freshNative()).loadNativeBackend();
    for (const n of [1, 3, 2]) {
      native.setNumThreads(n);
      expect(native.numThreads()).toBe(n);
    }
    index.setNumThreads(4);
    expect(index.backendInfo().threads).toBe(4);
    expect(native.numThreads()).toBe(4);
    index.setNumThreads(2);
    expect(index.getNumThreads()).toBe(2);
  });

  it('fmaPeak() measures a positive rate', async () => {
    const native = (await freshNative()).loadNativeBackend();
    expect(native.fmaPeak(1, 0.01)).toBeGreaterThan(0);
  });

  it('CONVNET_ARCH forces a level at load', async () => {
    const fallback = expectedIsas()[1] ?? 'scalar';
    process.env.CONVNET_ARCH = fallback;
    const native = (await freshNative()).loadNativeBackend();
    expect(native.isa()).toBe(fallback);
    native.setIsa(native.availableIsas()[0]);
  });

  it('CONVNET_ARCH with an unknown value or a level the CPU lacks is a clear error', async () => {
    process.env.CONVNET_ARCH = 'avx512';
    let mod = await freshNative();
    expect(() => mod.loadNativeBackend()).toThrow(
      "CONVNET_ARCH must be one of scalar, sse2, avx2, neon, got 'avx512'",
    );
    const missing = process.arch === 'arm64' ? 'avx2' : 'neon';
    process.env.CONVNET_ARCH = missing;
    mod = await freshNative();
    expect(() => mod.loadNativeBackend()).toThrow(
      `CONVNET_ARCH=${missing}, but this CPU supports only ${expectedIsas().join(', ')}`,
    );
  });

  it('CONVNET_CONV_ALGO picks the convolution algorithm; an unknown value is a clear error', async () => {
    process.env.CONVNET_CONV_ALGO = 'fastest';
    const mod0 = await freshNative();
    expect(() => mod0.loadNativeBackend()).toThrow(
      "CONVNET_CONV_ALGO must be one of auto, direct, winograd, got 'fastest'",
    );
    // The setting lives in the addon, shared by the whole process: end on the default.
    for (const algo of ['winograd', 'direct', 'auto']) {
      process.env.CONVNET_CONV_ALGO = algo;
      const mod = await freshNative();
      expect(() => mod.loadNativeBackend()).not.toThrow();
    }
  });

  it('through the index, a bad CONVNET_ARCH falls back to TS and reports why', async () => {
    process.env.CONVNET_ARCH = 'avx512';
    const index = await freshIndex();
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const info = index.backendInfo();
      expect(info.name).toBe('ts');
      expect(info.reason).toContain('CONVNET_ARCH');
      expect(() => index.setBackend('native')).toThrow(/CONVNET_ARCH must be one of/);
    } finally {
      warn.mockRestore();
    }
  });

  it('no binary at the searched paths is an error that names them', async () => {
    process.env.CONVNET_PREBUILD = '/nonexistent/convnet';
    const mod = await freshNative();
    expect(() => mod.loadNativeBackend()).toThrow(
      /^no native binary found in \/nonexistent\/convnet\/build\/Release or \/nonexistent\/convnet\/prebuilds\/\w+-\w+ \(No native build was found/,
    );
  });
});
