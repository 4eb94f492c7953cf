import { describe, expect, it } from 'vitest';
import { isGradEnabled, noGrad, recordOp, setGradEnabled } from '../../lib/autograd/engine.js';
import { add, exp, mul, sub } from '../../lib/functional/elementwise.js';
import { sum } from '../../lib/functional/reduce.js';
import { Tensor, fromArray } from '../../lib/tensor.js';

const arr = (t: Tensor | null): number[] => Array.from(t!.data);

describe('backward', () => {
  it('runs rules in reverse topological order, each once, after all its consumers', () => {
    // d = (a*b) + (a*b)*c : the shared node ab must receive both contributions before its rule runs.
    const order: string[] = [];
    const tag = (t: Tensor, name: string): Tensor => {
      const out = new Tensor(t.data.slice(), t.shape);
      return recordOp(out, name, [t], (g) => {
        order.push(name);
        return [g];
      });
    };
    const a = fromArray([2], { requiresGrad: true });
    const b = fromArray([3], { requiresGrad: true });
    const c = fromArray([5], { requiresGrad: true });
    const ab = tag(mul(a, b), 'ab');
    const d = tag(add(ab, mul(ab, c)), 'd');
    d.backward();
    expect(order).toEqual(['d', 'ab']);
    // dd/da = b*(1+c) = 18, dd/db = a*(1+c) = 12, dd/dc = ab = 6
    expect(arr(a.grad)).toEqual([18]);
    expect(arr(b.grad)).toEqual([12]);
    expect(arr(c.grad)).toEqual([6]);
  });

  it('accumulates the gradient of a tensor used twice', () => {
    const x = fromArray([1.5, -2], { requiresGrad: true });
    mul(x, x).sum().backward();
    expect(arr(x.grad)).toEqual([3, -4]);
    const y = fromArray([1, 2], { requiresGrad: true });
    sum(add(y, y)).backward();
    expect(arr(y.grad)).toEqual([2, 2]);
  });

  it('adds into leaf gradients across backward calls until zeroGrad', () => {
    const x = fromArray([1, 2, 3], { requiresGrad: true });
    sum(mul(x, 2)).backward();
    sum(mul(x, 3)).backward();
    expect(arr(x.grad)).toEqual([5, 5, 5]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
    sum(x).backward();
    expect(arr(x.grad)).toEqual([1, 1, 1]);
  });

  it('keeps no gradient on non-leaves unless retainGrad', () => {
    const x = fromArray([1, 2], { requiresGrad: true });
    const h = mul(x, 3);
    const k = mul(x, 4).retainGrad();
    sum(mul(add(h, k), 2)).backward();
    expect(h.grad).toBeNull();
    expect(arr(k.grad)).toEqual([2, 2]);
    expect(arr(x.grad)).toEqual([14, 14]);
  });

  it('takes an explicit gradient for a non-scalar root and rejects a missing one', () => {
    const x = fromArray([1, 2], { requiresGrad: true });
    const y = mul(x, x);
    expect(() => y.backward()).toThrow(
      'backward: a gradient argument is required for a non-scalar tensor of shape [2]',
    );
    y.backward(fromArray([10, 100]));
    expect(arr(x.grad)).toEqual([20, 400]);
  });

  it('detach cuts the graph but shares the data', () => {
    const x = fromArray([1, 2], { requiresGrad: true });
    const y = mul(x, 3);
    const d = y.detach();
    expect(d.data).toBe(y.data);
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    // z = y * detach(y): only the first factor carries a gradient, 3 * y = [9, 18].
    sum(mul(y, d)).backward();
    expect(arr(x.grad)).toEqual([9, 18]);
  });

  it('records nothing under noGrad and restores the previous mode', () => {
    const x = fromArray([1, 2], { requiresGrad: true });
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return exp(mul(x, 2));
    });
    expect(isGradEnabled()).toBe(true);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(() => sum(y).backward()).toThrow(
      /backward: the tensor \(shape \[\]\) does not require a gradient/,
    );
    expect(() => noGrad(() => Promise.resolve(1))).toThrow(/noGrad: fn must be synchronous/);
    const prev = setGradEnabled(false);
    expect(mul(x, 2).requiresGrad).toBe(false);
    setGradEnabled(prev);
    expect(mul(x, 2).requiresGrad).toBe(true);
  });

  it('frees the graph after backward unless retainGraph, with a clear error on reuse', () => {
    const x = fromArray([1, 2], { requiresGrad: true });
    const loss = sum(mul(x, x));
    loss.backward();
    expect(() => loss.backward()).toThrow(
      'backward: the graph below this tensor was already freed by an earlier backward(); pass { retainGraph: true } to the first call to run backward twice',
    );
    expect(arr(x.grad)).toEqual([2, 4]);
  });

  it('retainGraph allows a second backward through the same graph', () => {
    const x = fromArray([1, 2], { requiresGrad: true });
    const loss = sum(mul(x, x));
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    expect(arr(x.grad)).toEqual([4, 8]);
    expect(() => loss.backward()).toThrow(
      /backward: the graph below this tensor was already freed by an earlier backward\(\); pass \{ retainGraph: true \}/,
    );
  });

  it('walks a chain of 10,000 ops without overflowing the stack', () => {
    const x = fromArray([1], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 10000; i++) y = i % 2 === 0 ? add(y, 1) : sub(y, 0.5);
    y.backward();
    expect(y.item()).toBe(1 + 5000 * 0.5);
    expect(arr(x.grad)).toEqual([1]);
  });
});
