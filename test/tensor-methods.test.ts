/**
 * The neural-network ops as Tensor methods (x.relu(), x.softmax(axis), ...), checked against
 * values computed here, and the creation functions' argument errors.
 */
import { describe, expect, it } from 'vitest';
import { setBackend } from '../lib/backend/index.js';
import {
  fromArray,
  full,
  ones,
  onesLike,
  tensor,
  zeros,
  zerosLike,
  type Tensor,
} from '../lib/tensor.js';
import { BACKENDS } from './functional/backends.js';
import { expectClose } from './helpers.js';

const values = [-2, -0.5, 0, 0.5, 3, -1];
const x = (): Tensor => tensor(values, [2, 3], { requiresGrad: true });

describe.each(BACKENDS)('activation methods on the %s backend', (backend) => {
  it('relu, leakyRelu, sigmoid and tanh match their definitions and record a gradient', () => {
    setBackend(backend);
    const cases: [string, (t: Tensor) => Tensor, (v: number) => number][] = [
      ['relu', (t) => t.relu(), (v) => Math.max(v, 0)],
      ['leakyRelu', (t) => t.leakyRelu(), (v) => (v > 0 ? v : 0.01 * v)],
      ['leakyRelu(0.2)', (t) => t.leakyRelu(0.2), (v) => (v > 0 ? v : 0.2 * v)],
      ['sigmoid', (t) => t.sigmoid(), (v) => 1 / (1 + Math.exp(-v))],
      ['tanh', (t) => t.tanh(), Math.tanh],
    ];
    for (const [name, method, f] of cases) {
      const y = method(x());
      expect(y.shape).toEqual([2, 3]);
      expectClose(y.data, values.map(f), 1e-6, 1e-7, name);
      expect(y.gradFn?.name).toBe(name.replace(/\(.*\)/, ''));
    }
  });

  it('softmax and logSoftmax default to the last axis and take any axis', () => {
    setBackend(backend);
    const t = fromArray([
      [1, 2, 3],
      [1, 1, 5],
    ]);
    const rows = [
      [1, 2, 3],
      [1, 1, 5],
    ].map((r) => {
      const z = r.reduce((s, v) => s + Math.exp(v), 0);
      return r.map((v) => Math.exp(v) / z);
    });
    expectClose(t.softmax().data, rows.flat(), 1e-6, 1e-7, 'softmax(-1)');
    expectClose(
      t.logSoftmax(1).data,
      rows.flat().map((p) => Math.log(p)),
      1e-6,
      1e-6,
      'logSoftmax(1)',
    );
    // Down the columns: column j of [[1,2,3],[1,1,5]] is [a, b].
    const cols = [
      [1, 1],
      [2, 1],
      [3, 5],
    ].map(([a, b]) => [
      Math.exp(a) / (Math.exp(a) + Math.exp(b)),
      Math.exp(b) / (Math.exp(a) + Math.exp(b)),
    ]);
    const byColumn = [cols.map((c) => c[0]), cols.map((c) => c[1])].flat();
    expectClose(t.softmax(0).data, byColumn, 1e-6, 1e-7, 'softmax(0)');
    expect(() => t.softmax(2)).toThrow(/softmax: axis/);
  });

  it('back-propagates through the methods', () => {
    setBackend(backend);
    const t = x();
    t.relu().sum().backward();
    expect(Array.from(t.grad!.data)).toEqual(values.map((v) => (v > 0 ? 1 : 0)));
  });
});

describe('creation errors name the function that was called', () => {
  it('zeros, ones, full, zerosLike, onesLike', () => {
    expect(() => zeros([2, -1])).toThrow(
      'zeros: shape must be an array of non-negative integers, got [2,-1]',
    );
    expect(() => ones([1.5])).toThrow(
      'ones: shape must be an array of non-negative integers, got [1.5]',
    );
    expect(() => full([2], '3' as never)).toThrow('full: value must be a number, got string');
    expect(() => zerosLike([2, 3] as never)).toThrow('zerosLike: t must be a Tensor, got object');
    expect(() => onesLike(null as never)).toThrow('onesLike: t must be a Tensor, got null');
  });

  it('tensor from a typed array checks the shape itself', () => {
    expect(() => tensor(new Float32Array(4), [3])).toThrow(
      'tensor: shape [3] needs 3 elements, got 4',
    );
    expect(() => tensor(new Float32Array(4), [2, -2])).toThrow(
      /tensor: shape must be an array of non-negative integers/,
    );
    expect(tensor(new Float32Array(6), [2, 3]).shape).toEqual([2, 3]);
  });
});
