import { describe, expect, it } from 'vitest';
import { clipGradNorm, clipGradValue } from '../../lib/optim/index.js';
import { Tensor } from '../../lib/tensor.js';
import { expectClose } from '../helpers.js';
import { fixtures, type ClipNormCase } from './torch-fixtures.js';

function withGrad(g: number[] | null, shape = [g?.length ?? 1]): Tensor {
  const t = new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape, true);
  if (g !== null) t.grad = new Tensor(Float32Array.from(g), shape);
  return t;
}

describe('clipGradNorm against PyTorch', () => {
  it.each(
    fixtures.clipGradNorm.map(
      (c) => [`normType ${c.normType}, maxNorm ${c.maxNorm}`, c] as [string, ClipNormCase],
    ),
  )('%s', (_label, c) => {
    const params = [withGrad(c.grads[0], [2, 3]), withGrad(c.grads[1]), withGrad(null, [3])];
    const normType = c.normType === 'Infinity' ? Infinity : c.normType;
    const total = clipGradNorm(params, c.maxNorm, normType);
    expect(total).toBeCloseTo(c.totalNorm, 5);
    expectClose(params[0].grad!.data, c.expected[0], 1e-6, 1e-7, 'first grad');
    expectClose(params[1].grad!.data, c.expected[1], 1e-6, 1e-7, 'second grad');
    expect(params[2].grad).toBeNull();
  });

  it('covers clipping and not clipping for every norm type', () => {
    for (const p of [2, 1, 3, 'Infinity']) {
      const cases = fixtures.clipGradNorm.filter((c) => c.normType === p);
      expect(cases.some((c) => c.totalNorm > c.maxNorm)).toBe(true);
      expect(cases.some((c) => c.totalNorm < c.maxNorm)).toBe(true);
    }
  });

  it('returns 0 when no param has a gradient, and handles non-finite norms', () => {
    expect(clipGradNorm([withGrad(null)], 1)).toBe(0);
    const p = withGrad([Infinity, 1]);
    expect(clipGradNorm(p, 1)).toBe(Infinity);
    expect(Array.from(p.grad!.data)).toEqual([Infinity, 1]);
    expect(() => clipGradNorm(p, 1, 2, { errorIfNonfinite: true })).toThrow(
      'clipGradNorm: the total norm of order 2 of the gradients is Infinity',
    );
    expect(Number.isNaN(clipGradNorm(withGrad([NaN, 1]), 1, Infinity))).toBe(true);
  });

  it('checks its arguments', () => {
    const p = withGrad([1]);
    expect(() => clipGradNorm(p, -1)).toThrow(
      'clipGradNorm: maxNorm must be a non-negative number, got -1',
    );
    expect(() => clipGradNorm(p, 1, 0)).toThrow(
      'clipGradNorm: normType must be a positive number or Infinity, got 0',
    );
    expect(() => clipGradNorm(5 as never, 1)).toThrow(
      'clipGradNorm: params must be a Tensor or an iterable of Tensors, got 5',
    );
    expect(() => clipGradNorm([p, 'w'] as never, 1)).toThrow(
      'clipGradNorm: params[1] must be a Tensor, got "w"',
    );
  });
});

describe('clipGradValue', () => {
  it('clamps like torch', () => {
    const c = fixtures.clipGradValue;
    const p = withGrad(c.grads);
    clipGradValue([p], c.clipValue);
    expect(Array.from(p.grad!.data)).toEqual(c.expected);
  });

  it('checks its arguments', () => {
    expect(() => clipGradValue([withGrad([1])], -0.5)).toThrow(
      'clipGradValue: clipValue must be a non-negative number, got -0.5',
    );
  });
});
