/**
 * Backend selection: native when the addon loads, otherwise the TypeScript kernels, with one
 * warning that says why. CONVNET_BACKEND=ts|native forces one; setBackend() does the same at
 * run time.
 */
import os from 'node:os';
import type { Isa, Kernels } from './kernels.js';
import { loadNativeBackend, type NativeBackend } from './native.js';
import { tsKernels } from './ts/index.js';

export type BackendName = 'native' | 'ts';

export interface BackendInfo {
  name: BackendName;
  /** Instruction set of the micro-kernels in use; `scalar` for the TS backend. */
  isa: Isa;
  /** Threads the native pool uses (1 for the TS backend, which runs on the JS thread). */
  threads: number;
  /** Why the native backend is not in use (null when it is). */
  reason: string | null;
}

interface Active {
  kernels: Kernels;
  native: NativeBackend | null;
  reason: string | null;
}

let active: Active | null = null;
let nativeCache: { backend: NativeBackend } | { error: string } | null = null;
let warned = false;
let requestedThreads: number | null = null;

function defaultThreads(): number {
  const env = process.env.CONVNET_NUM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`CONVNET_NUM_THREADS must be a positive integer, got '${env}'`);
    }
    return n;
  }
  return os.availableParallelism();
}

function tryNative(): { backend: NativeBackend } | { error: string } {
  if (nativeCache === null) {
    try {
      const backend = loadNativeBackend();
      backend.setNumThreads(requestedThreads ?? defaultThreads());
      nativeCache = { backend };
    } catch (e) {
      nativeCache = { error: e instanceof Error ? e.message : String(e) };
    }
  }
  return nativeCache;
}

function useTs(reason: string, warn: boolean): Active {
  if (warn && !warned) {
    warned = true;
    process.emitWarning(
      `convnet: using the pure-TypeScript backend (slower) because ${reason}. ` +
        'Run `npm rebuild convnet` with a C++ toolchain (python3, make, g++ or clang) to build the native one.',
      { code: 'CONVNET_TS_BACKEND' },
    );
  }
  return { kernels: tsKernels, native: null, reason };
}

function select(name: BackendName | undefined): Active {
  if (name === 'ts') return useTs('the ts backend was requested', false);
  const r = tryNative();
  if ('backend' in r) return { kernels: r.backend.kernels, native: r.backend, reason: null };
  if (name === 'native') {
    throw new Error(`convnet: the native backend was requested but cannot be loaded: ${r.error}`);
  }
  return useTs(r.error, true);
}

function parseBackendName(fn: string, arg: string, v: unknown): BackendName {
  if (v !== 'native' && v !== 'ts') {
    throw new RangeError(`${fn}: ${arg} must be 'native' or 'ts', got ${JSON.stringify(v)}`);
  }
  return v;
}

function current(): Active {
  if (active === null) {
    const env = process.env.CONVNET_BACKEND;
    active = select(
      env === undefined || env === ''
        ? undefined
        : parseBackendName('CONVNET_BACKEND', 'value', env),
    );
  }
  return active;
}

/** The kernel set in use (selects a backend on first call). */
export function kernels(): Kernels {
  return current().kernels;
}

/** Switches the backend for all later operations. 'native' throws if the addon cannot load. */
export function setBackend(name: BackendName): void {
  active = select(parseBackendName('setBackend', 'name', name));
}

export function backendInfo(): BackendInfo {
  const a = current();
  if (a.native !== null) {
    return { name: 'native', isa: a.native.isa(), threads: a.native.numThreads(), reason: null };
  }
  return { name: 'ts', isa: 'scalar', threads: 1, reason: a.reason };
}

/** Sets the native thread pool's size (the TS backend always runs on the calling thread). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`setNumThreads: n must be a positive integer, got ${n}`);
  }
  requestedThreads = n;
  if (nativeCache !== null && 'backend' in nativeCache) nativeCache.backend.setNumThreads(n);
}

export function getNumThreads(): number {
  return backendInfo().threads;
}

/** Whether the native addon can be loaded on this machine (does not switch backends). */
export function nativeAvailable(): boolean {
  return 'backend' in tryNative();
}

export type { Isa, Kernels } from './kernels.js';
export * from './geometry.js';
