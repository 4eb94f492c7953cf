import { describe, expect, it } from 'vitest';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import { dropout } from '../../lib/functional/dropout.js';
import { Generator } from '../../lib/random.js';
import { ones, randn, type Tensor } from '../../lib/tensor.js';
import { BACKENDS, useBackend } from './backends.js';

// Pure TypeScript (no kernel), run under both backends all the same: results must not depend on it.
describe.each(BACKENDS)('dropout on the %s backend', (backend) => {
  useBackend(backend);

  it('returns the input itself when p = 0 or not training', () => {
    const x = randn([4, 5]);
    expect(dropout(x, 0, true)).toBe(x);
    expect(dropout(x, 0.5, false)).toBe(x);
  });

  it('keeps about 1-p of the elements, scaled by 1/(1-p), and zeroes the rest', () => {
    const x = ones([100, 100]);
    const y = dropout(x, 0.3, true, new Generator(1));
    let kept = 0;
    for (const v of y.data) {
      if (v !== 0) {
        kept++;
        expect(v).toBeCloseTo(1 / 0.7, 6);
      }
    }
    // 10000 Bernoulli(0.7) draws: the standard deviation of the count is ~46.
    expect(Math.abs(kept - 7000)).toBeLessThan(250);
  });

  it('is reproducible from a seeded generator and sends the gradient through the same mask', () => {
    const x = randn([6, 7], { generator: new Generator(2), requiresGrad: true });
    const a = dropout(x, 0.5, true, new Generator(9));
    const b = dropout(x, 0.5, true, new Generator(9));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    a.backward(new Float32Array(42).fill(1));
    for (let i = 0; i < 42; i++) expect(x.grad!.data[i]).toBe(a.data[i] === 0 ? 0 : 2);
    expect(gradcheck((t: Tensor) => dropout(t, 0.4, true, new Generator(5)), [x])).toBe(true);
  });

  it('rejects bad arguments with clear messages', () => {
    const x = randn([2]);
    expect(() => dropout(x, 1, true)).toThrow('dropout: p must be a probability in [0, 1), got 1');
    expect(() => dropout(x, -0.1, true)).toThrow(
      'dropout: p must be a probability in [0, 1), got -0.1',
    );
    expect(() => dropout(x, NaN, true)).toThrow(
      'dropout: p must be a probability in [0, 1), got NaN',
    );
    expect(() => dropout(x, 0.5, 'yes' as unknown as boolean)).toThrow(
      'dropout: training must be a boolean, got string',
    );
    expect(() => dropout(x, 0.5, true, {} as Generator)).toThrow(
      'dropout: generator must be a Generator',
    );
  });
});
