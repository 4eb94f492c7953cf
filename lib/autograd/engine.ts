/**
 * Define-by-run autograd. Each differentiable op calls `recordOp` with its inputs and a backward
 * rule; `backward()` walks the graph in reverse topological order and accumulates gradients.
 * Gradient rules work on raw Float32Arrays: they receive the gradient of the op's output and
 * return one gradient (same length as the input's data) or null per input.
 */
import { kernels } from '../backend/index.js';
import type { Tensor } from '../tensor.js';
import { adoptGradBuffer, gradBuffer, pooledArrayOf, releaseGradBuffer } from './grad-buffers.js';

export type BackwardRule = (gradOutput: Float32Array) => (Float32Array | null)[];

export interface GradFn {
  /** The op's name, for error messages and graph inspection. */
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly backward: BackwardRule;
}

/** Marks a node whose graph was freed by a previous backward() without retainGraph. */
export const RELEASED: GradFn = Object.freeze({
  name: 'released',
  inputs: [],
  backward: () => {
    throw new Error('unreachable');
  },
});

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording any graph (inference): results do not require gradients and keep
 * no references to their inputs. `fn` must be synchronous; for async code use `setGradEnabled`.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    const r = fn();
    if (r instanceof Promise) {
      throw new TypeError(
        'noGrad: fn must be synchronous (it returned a Promise); use setGradEnabled(false) around async code',
      );
    }
    return r;
  } finally {
    gradEnabled = prev;
  }
}

/** Turns graph recording on or off; returns the previous setting. */
export function setGradEnabled(enabled: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = enabled;
  return prev;
}

/**
 * Attaches a backward rule to `out` when recording is on and some input requires a gradient.
 * Returns `out` for chaining.
 */
export function recordOp(
  out: Tensor,
  name: string,
  inputs: readonly Tensor[],
  backward: BackwardRule,
): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradFn = { name, inputs, backward };
  }
  return out;
}

/** Reverse topological order of the graph below `root` (iterative: deep nets recurse too far). */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const inputs = top.t.gradFn?.inputs ?? [];
    if (top.next < inputs.length) {
      const child = inputs[top.next++];
      if (child.requiresGrad && !visited.has(child)) {
        visited.add(child);
        stack.push({ t: child, next: 0 });
      }
    } else {
      order.push(top.t);
      stack.pop();
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  /** Keep the graph so backward() can be called through it again (default false). */
  retainGraph?: boolean;
}

/**
 * Computes d(root)/d(leaf) for every leaf that requires a gradient and adds it into leaf.grad.
 * `gradient` defaults to 1 for a one-element root.
 */
export function backward(root: Tensor, gradient?: Float32Array, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new Error(
      `backward: the tensor (shape [${root.shape.join(',')}]) does not require a gradient; no input of the computation has requiresGrad=true, or it was computed under noGrad`,
    );
  }
  if (root.gradFn === RELEASED) {
    throw new Error(
      'backward: the graph below this tensor was already freed by an earlier backward(); pass { retainGraph: true } to the first call to run backward twice',
    );
  }
  let seed: Float32Array;
  if (gradient === undefined) {
    if (root.size !== 1) {
      throw new RangeError(
        `backward: a gradient argument is required for a non-scalar tensor of shape [${root.shape.join(',')}]`,
      );
    }
    seed = new Float32Array([1]);
  } else {
    if (gradient.length !== root.size) {
      throw new RangeError(
        `backward: gradient must have ${root.size} elements (shape [${root.shape.join(',')}]), got ${gradient.length}`,
      );
    }
    seed = gradient;
  }

  const order = topoOrder(root);
  // owned=false: the array may be shared with another input or be the caller's; copy before adding.
  const grads = new Map<Tensor, { g: Float32Array; owned: boolean }>();
  const refs = new GradRefs();
  grads.set(root, { g: seed, owned: false });
  refs.add(seed);

  for (const t of order) {
    const entry = grads.get(t);
    if (entry === undefined) continue;
    grads.delete(t);
    const fn = t.gradFn;
    if (fn === null || fn === RELEASED) {
      storeLeafGrad(t, entry.g, refs);
      continue;
    }
    if (t.retainsGrad) accumulateLeafGrad(t, entry.g);
    const inputGrads = fn.backward(entry.g);
    if (!opts.retainGraph) t.gradFn = RELEASED;
    for (let i = 0; i < fn.inputs.length; i++) {
      const input = fn.inputs[i];
      const g = inputGrads[i];
      if (!input.requiresGrad || g === null || g === undefined) continue;
      if (g.length !== input.size) {
        throw new Error(
          `backward: internal error in the gradient of ${fn.name}: input ${i} has ${input.size} elements but its gradient has ${g.length}`,
        );
      }
      const prev = grads.get(input);
      if (prev === undefined) {
        grads.set(input, { g, owned: false });
        refs.add(g);
      } else {
        let acc = prev.g;
        // A pooled array that nothing else refers to (a residual block's shortcut gradient, say)
        // is added into as it is; anything else is copied first.
        if (!prev.owned && !isSoleReference(prev.g, refs)) {
          acc = gradBuffer(prev.g.length);
          acc.set(prev.g);
          refs.add(acc);
          refs.drop(prev.g);
        }
        addInto(acc, g);
        grads.set(input, { g: acc, owned: true });
      }
    }
    // The output's gradient and any input gradient that was added into another are consumed now;
    // pooled arrays nothing refers to any more go back to the pool.
    refs.drop(entry.g);
    for (const g of inputGrads) if (g !== null && g !== undefined) refs.releaseIfUnreferenced(g);
  }
}

/**
 * How many pending gradients refer to each array's memory (views count against their buffer),
 * so that arrays from gradBuffer are reused as soon as the last reference is consumed, and never
 * while one remains.
 */
class GradRefs {
  private readonly counts = new Map<ArrayBufferLike, number>();

  add(g: Float32Array): void {
    this.counts.set(g.buffer, (this.counts.get(g.buffer) ?? 0) + 1);
  }

  count(g: Float32Array): number {
    return this.counts.get(g.buffer) ?? 0;
  }

  drop(g: Float32Array): void {
    const n = (this.counts.get(g.buffer) ?? 0) - 1;
    if (n > 0) {
      this.counts.set(g.buffer, n);
      return;
    }
    this.counts.delete(g.buffer);
    releaseGradBuffer(g.buffer);
  }

  releaseIfUnreferenced(g: Float32Array): void {
    if (!this.counts.has(g.buffer)) releaseGradBuffer(g.buffer);
  }
}

/**
 * A leaf's gradient arrives: a pooled array that only this entry refers to becomes the leaf's
 * .grad as it is (no copy); anything else is copied or added in.
 */
function storeLeafGrad(t: Tensor, g: Float32Array, refs: GradRefs): void {
  const whole = g.byteOffset === 0 && g.byteLength === g.buffer.byteLength;
  if (t.grad === null && whole && refs.count(g) === 1 && pooledArrayOf(g.buffer) === g) {
    adoptGradBuffer(g.buffer);
    t.grad = t.makeGradTensor(g);
    refs.drop(g); // no longer pooled: drop() only forgets the count
    return;
  }
  accumulateLeafGrad(t, g);
  refs.drop(g);
}

/**
 * Whether g is a whole array from gradBuffer that only one pending gradient refers to: then no
 * one else can see it (the pool hands it out again only once the engine lets go of it), and it
 * may be changed in place.
 */
function isSoleReference(g: Float32Array, refs: GradRefs): boolean {
  return (
    g.byteOffset === 0 &&
    g.byteLength === g.buffer.byteLength &&
    refs.count(g) === 1 &&
    pooledArrayOf(g.buffer) === g
  );
}

/** Below this many elements a JS loop beats the native call's fixed cost. */
const NATIVE_ADD_MIN = 2048;

/** acc += g (gradient accumulation). */
function addInto(acc: Float32Array, g: Float32Array): void {
  if (acc.length >= NATIVE_ADD_MIN) {
    kernels().axpy(g, acc, 1);
    return;
  }
  for (let j = 0; j < acc.length; j++) acc[j] += g[j];
}

function accumulateLeafGrad(t: Tensor, g: Float32Array): void {
  if (t.grad === null) {
    t.grad = t.makeGradTensor(Float32Array.from(g));
  } else {
    addInto(t.grad.data as Float32Array, g);
  }
}
