/** Containers: Sequential (a chain of modules) and ModuleList (a list of modules, no forward). */
import { reluMaxPool2d } from '../functional/pooling.js';
import type { Tensor } from '../tensor.js';
import { ReLU } from './activation.js';
import { MaxPool2d } from './pooling.js';
import { uninitializedFloat32 } from '../backend/buffers.js';
import type { TensorLayout } from '../backend/kernels.js';
import {
  fusedInputLayout,
  fusesAt,
  isFloatNchw,
  isPlainLayer,
  nchwFromNhwc,
  runFusedConv,
  type FusedOutput,
} from './inference-fusion.js';
import { Module } from './module.js';

/**
 * The MaxPool2d after a ReLU at children[i], when both are exactly those classes without hooks
 * (so nothing can observe the ReLU's output) and x is a 4-D float tensor; otherwise null.
 */
function reluThenMaxPool(children: readonly Module[], i: number, x: Tensor): MaxPool2d | null {
  const pool = children[i + 1];
  if (!isPlainLayer(children[i], ReLU) || !isPlainLayer(pool, MaxPool2d)) return null;
  return isFloatNchw(x) ? (pool as MaxPool2d) : null;
}

function toModuleEntries(owner: string, args: unknown[]): [string, Module][] {
  if (args.length === 1 && !(args[0] instanceof Module)) {
    const arg = args[0];
    const entries =
      arg instanceof Map
        ? [...arg.entries()]
        : typeof arg === 'object' && arg !== null && !Array.isArray(arg)
          ? Object.entries(arg)
          : null;
    if (entries === null) {
      throw new TypeError(
        `${owner}: expected modules, or one object/Map of name -> module, got ${Array.isArray(arg) ? 'an array' : typeof arg}`,
      );
    }
    for (const [name, m] of entries) {
      if (!(m instanceof Module))
        throw new TypeError(`${owner}: entry '${String(name)}' must be a Module, got ${typeof m}`);
    }
    return entries as [string, Module][];
  }
  return args.map((m, i) => {
    if (!(m instanceof Module))
      throw new TypeError(
        `${owner}: argument ${i} must be a Module, got ${m === null ? 'null' : typeof m}`,
      );
    return [String(i), m];
  });
}

/**
 * Sequential(m0, m1, ...) feeds each module's output to the next. Children are named '0', '1', ...
 * (parameters `0.weight`, ...), or by the keys of an object/Map: Sequential({ conv: ..., relu: ... }).
 * Index with seq[i] or seq.at(i) (negative counts from the end); extend with add().
 */
export class Sequential extends Module {
  readonly [index: number]: Module;

  // Outputs of fused runs that only the next fused run reads (in the layout it reads best, see
  // ./inference-fusion.ts), reused across calls: two, as a run reads one while it writes the
  // other; fresh arrays of that size would cost page faults on every call.
  private readonly fusionBuffers: Float32Array[] = [];

  constructor(...modules: Module[] | [Record<string, Module> | Map<string, Module>]) {
    super();
    for (const [name, m] of toModuleEntries('Sequential', modules)) this.registerModule(name, m);
  }

  /** Appends a module, named by its position unless a name is given; returns this. */
  add(module: Module, name?: string): this {
    if (!(module instanceof Module))
      throw new TypeError(`Sequential.add: module must be a Module, got ${typeof module}`);
    const n = name ?? String(this.length);
    if (this.namedChildren().some(([k]) => k === n))
      throw new Error(`Sequential.add: a child named '${n}' already exists`);
    this.registerModule(n, module);
    return this;
  }

  get length(): number {
    return this.namedChildren().length;
  }

  /** The i-th module (negative i counts from the end). */
  at(i: number): Module {
    const children = this.children();
    if (!Number.isInteger(i) || i >= children.length || i < -children.length) {
      throw new RangeError(
        `Sequential.at: index must be an integer in [${-children.length}, ${children.length - 1}], got ${i}`,
      );
    }
    return children[i < 0 ? i + children.length : i];
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }

  forward(x: Tensor): Tensor {
    const children = this.children();
    let y = x;
    let layout: TensorLayout = 'nchw';
    let slot = 0;
    const output = (size: number, next: number, shape: readonly number[]): FusedOutput => {
      if (!fusesAt(children, next)) return { data: uninitializedFloat32(size), layout: 'nchw' };
      slot ^= 1;
      let b = this.fusionBuffers[slot];
      if (b === undefined || b.length !== size)
        b = this.fusionBuffers[slot] = new Float32Array(size);
      // Channels-last unless the next run reads NCHW best (a Winograd convolution, or the TS
      // kernels, which compute in NCHW).
      return { data: b, layout: fusedInputLayout(children, next, shape) };
    };
    for (let i = 0; i < children.length;) {
      // Inference: conv -> activation -> pool runs as one kernel (./inference-fusion.ts).
      const fused: ReturnType<typeof runFusedConv> = children[i].training
        ? null
        : runFusedConv(children, i, y, output, layout);
      if (fused !== null) {
        y = fused.y;
        layout = fused.layout;
        i = fused.next;
        continue;
      }
      if (layout === 'nhwc') {
        y = nchwFromNhwc(y);
        layout = 'nchw';
      }
      const pool = reluThenMaxPool(children, i, y);
      if (pool !== null) {
        // ReLU -> MaxPool2d: one op, without the full-size ReLU output (see reluMaxPool2d).
        y = reluMaxPool2d(y, pool.kernelSize, { stride: pool.stride, padding: pool.padding });
        i += 2;
        continue;
      }
      y = (children[i].call as (...a: Tensor[]) => Tensor)(y);
      i++;
    }
    return layout === 'nhwc' ? nchwFromNhwc(y) : y;
  }
}

/** ModuleList(modules): holds sub-modules so their parameters are registered; has no forward. */
export class ModuleList extends Module {
  readonly [index: number]: Module;

  constructor(modules: Iterable<Module> = []) {
    super();
    let i = 0;
    for (const m of modules) {
      if (!(m instanceof Module))
        throw new TypeError(`ModuleList: item ${i} must be a Module, got ${typeof m}`);
      this.registerModule(String(i++), m);
    }
  }

  /** Appends a module; returns this. */
  push(module: Module): this {
    if (!(module instanceof Module))
      throw new TypeError(`ModuleList.push: module must be a Module, got ${typeof module}`);
    this.registerModule(String(this.length), module);
    return this;
  }

  get length(): number {
    return this.namedChildren().length;
  }

  at(i: number): Module {
    const children = this.children();
    if (!Number.isInteger(i) || i >= children.length || i < -children.length) {
      throw new RangeError(
        `ModuleList.at: index must be an integer in [${-children.length}, ${children.length - 1}], got ${i}`,
      );
    }
    return children[i < 0 ? i + children.length : i];
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }

  forward(): Tensor {
    throw new Error('ModuleList: has no forward(); iterate over it and call the modules yourself');
  }
}
