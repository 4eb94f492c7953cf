/**
 * Gradient-buffer reuse: arrays from gradBuffer are recycled by backward() only once nothing
 * refers to them, so reuse never changes a gradient, and a leaf's .grad is never recycled.
 */
import { describe, expect, it } from 'vitest';
import { recordOp } from '../../lib/autograd/engine.js';
import {
  clearGradPool,
  GRAD_POOL_MIN_LENGTH,
  gradBuffer,
  gradPoolStats,
  releaseGradBuffer,
  zeroedGradBuffer,
} from '../../lib/autograd/grad-buffers.js';
import { relu } from '../../lib/functional/activation.js';
import { add, mul } from '../../lib/functional/elementwise.js';
import { sum } from '../../lib/functional/reduce.js';
import { Generator } from '../../lib/random.js';
import { randn, Tensor } from '../../lib/tensor.js';

const N = 2 * GRAD_POOL_MIN_LENGTH;

function leaf(seed: number, n = N): Tensor {
  const t = randn([n], { generator: new Generator(seed) });
  t.requiresGrad = true;
  return t;
}

/** An op y = x whose rule hands back a pooled copy of the gradient, as the layers' rules do. */
function pooledIdentity(x: Tensor): Tensor {
  return recordOp(new Tensor(x.data.slice(), x.shape), 'pooledIdentity', [x], (gy) => {
    const dx = gradBuffer(gy.length);
    dx.set(gy);
    return [dx];
  });
}

/**
 * y = 2x, with a rule that clears its pooled output before reading the gradient: were the pool to
 * hand it the very array it is reading, the gradient would come out zero.
 */
function pooledDouble(x: Tensor): Tensor {
  return recordOp(
    new Tensor(
      x.data.map((v) => 2 * v),
      x.shape,
    ),
    'pooledDouble',
    [x],
    (gy) => {
      const dx = zeroedGradBuffer(gy.length);
      for (let i = 0; i < gy.length; i++) dx[i] += 2 * gy[i];
      return [dx];
    },
  );
}

/** sum(relu(x) * w): relu's rule takes a pooled array, mul's gradient feeds it. */
function loss(x: Tensor, w: Tensor): Tensor {
  return sum(mul(relu(pooledIdentity(x)), w));
}

function expectedGradX(x: Tensor, w: Tensor): Float32Array {
  const g = new Float32Array(x.size);
  for (let i = 0; i < x.size; i++) g[i] = x.data[i] > 0 ? w.data[i] : 0;
  return g;
}

describe('gradient buffers', () => {
  it('hands out arrays of the length asked; short ones bypass the pool', () => {
    clearGradPool();
    const before = gradPoolStats();
    const a = gradBuffer(N);
    expect(a.length).toBe(N);
    const z = zeroedGradBuffer(N);
    expect(z.every((v) => v === 0)).toBe(true);
    const small = gradBuffer(16);
    expect(small.length).toBe(16);
    expect(gradPoolStats().allocated - before.allocated).toBe(2);
    releaseGradBuffer(a.buffer);
    releaseGradBuffer(a.buffer); // a second release of the same array is ignored
    expect(gradPoolStats().idleBytes).toBe(N * 4);
    const b = gradBuffer(N);
    const c = gradBuffer(N);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(gradPoolStats().idleBytes).toBe(0);
  });

  it('reuses the arrays of one backward in the next, without changing any gradient', () => {
    clearGradPool();
    const x = leaf(1);
    const w = leaf(2);
    loss(x, w).backward();
    const first = Float32Array.from(x.grad!.data);
    expect(first).toEqual(expectedGradX(x, w));
    const reusedBefore = gradPoolStats().reused;
    x.grad = null;
    w.grad = null;
    loss(x, w).backward();
    expect(gradPoolStats().reused).toBeGreaterThan(reusedBefore);
    expect(Float32Array.from(x.grad!.data)).toEqual(first);
  });

  it('never recycles an array that became a leaf gradient', () => {
    clearGradPool();
    const x = leaf(3);
    const w = leaf(4);
    loss(x, w).backward();
    const kept = x.grad!.data;
    const snapshot = Float32Array.from(kept);
    // Another graph of the same sizes takes every idle array there is.
    const y = leaf(5);
    const v = leaf(6);
    loss(y, v).backward();
    loss(y, v).backward();
    expect(Float32Array.from(x.grad!.data)).toEqual(snapshot);
    expect(y.grad!.data).not.toBe(kept);
    // Accumulating into it later still adds up.
    loss(x, w).backward();
    const twice = snapshot.map((g) => 2 * g);
    expect(Float32Array.from(x.grad!.data)).toEqual(twice);
  });

  it('keeps a gradient shared by two inputs until both have consumed it', () => {
    clearGradPool();
    // add's rule returns the same array for both inputs; x + x adds it to itself.
    const x = leaf(7);
    const w = leaf(8);
    const h = pooledIdentity(x);
    sum(mul(add(h, h), w)).backward();
    expect(Float32Array.from(x.grad!.data)).toEqual(w.data.map((v) => 2 * v));
    const a = leaf(9);
    const b = leaf(10);
    // The pooled gradient of the sum reaches both branches as one array.
    sum(mul(pooledIdentity(add(pooledDouble(a), pooledDouble(b))), w)).backward();
    expect(Float32Array.from(a.grad!.data)).toEqual(w.data.map((v) => 2 * v));
    expect(Float32Array.from(b.grad!.data)).toEqual(w.data.map((v) => 2 * v));
    expect(a.grad!.data).not.toBe(b.grad!.data);
  });

  it('copies a retained gradient, so recycling cannot change it', () => {
    clearGradPool();
    const x = leaf(11);
    const w = leaf(12);
    const h = pooledIdentity(x);
    const r = relu(h);
    r.retainGrad();
    sum(mul(r, w)).backward();
    const retained = Float32Array.from(r.grad!.data);
    expect(retained).toEqual(Float32Array.from(w.data));
    loss(leaf(13), leaf(14)).backward();
    expect(Float32Array.from(r.grad!.data)).toEqual(retained);
  });
});
