import { describe, expect, it } from 'vitest';
import { init } from '../../lib/nn/index.js';
import { Generator, manualSeed } from '../../lib/random.js';
import { zeros, type Tensor } from '../../lib/tensor.js';

function moments(t: Tensor): { mean: number; std: number; maxAbs: number } {
  let s = 0;
  let ss = 0;
  let m = 0;
  for (const v of t.data) {
    s += v;
    ss += v * v;
    m = Math.max(m, Math.abs(v));
  }
  const mean = s / t.size;
  return { mean, std: Math.sqrt(ss / t.size - mean * mean), maxAbs: m };
}

describe('init', () => {
  it('computes fans as torch: fanIn = in * receptive field, fanOut = out * receptive field', () => {
    expect(init.calculateFanInAndFanOut(zeros([32, 16, 3, 3]))).toEqual({
      fanIn: 144,
      fanOut: 288,
    });
    expect(init.calculateFanInAndFanOut(zeros([10, 5]))).toEqual({ fanIn: 5, fanOut: 10 });
    expect(() => init.calculateFanInAndFanOut(zeros([5]))).toThrow(
      'init.calculateFanInAndFanOut: fan in and fan out need a tensor with at least 2 dimensions, got shape [5]',
    );
  });

  it('calculateGain matches torch', () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('conv2d')).toBe(1);
    expect(init.calculateGain('sigmoid')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.sqrt(2), 12);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.01 ** 2)), 12);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(init.calculateGain('selu')).toBe(0.75);
    expect(() => init.calculateGain('swish' as 'relu')).toThrow(
      'init.calculateGain: unsupported nonlinearity "swish"',
    );
  });

  it('kaimingUniform and kaimingNormal have the variance gain² / fan', () => {
    const gen = new Generator(1);
    const t = zeros([64, 50, 3, 3]); // fanIn 450, fanOut 576
    init.kaimingUniform(t, { nonlinearity: 'relu', generator: gen });
    let bound = Math.sqrt(2) * Math.sqrt(3 / 450);
    let m = moments(t);
    expect(m.maxAbs).toBeLessThanOrEqual(bound);
    expect(m.std).toBeCloseTo(bound / Math.sqrt(3), 3);
    init.kaimingUniform(t, { a: Math.sqrt(5), generator: gen });
    bound = 1 / Math.sqrt(450);
    m = moments(t);
    expect(m.maxAbs).toBeLessThanOrEqual(bound);
    expect(m.maxAbs).toBeGreaterThan(0.99 * bound);
    init.kaimingNormal(t, { mode: 'fanOut', nonlinearity: 'relu', generator: gen });
    m = moments(t);
    expect(m.std).toBeCloseTo(Math.sqrt(2 / 576), 3);
    expect(Math.abs(m.mean)).toBeLessThan(0.002);
    init.kaimingNormal(t, { mode: 'fan_in', generator: gen });
    expect(moments(t).std).toBeCloseTo(Math.sqrt(2 / (1 + 1e-4)) / Math.sqrt(450), 3);
    expect(() => init.kaimingNormal(t, { mode: 'fanAvg' as 'fanIn' })).toThrow(
      `init.kaimingNormal: mode must be 'fanIn' or 'fanOut', got "fanAvg"`,
    );
  });

  it('xavierUniform and xavierNormal have the variance gain² * 2 / (fanIn + fanOut)', () => {
    const gen = new Generator(2);
    const t = zeros([300, 200]);
    init.xavierUniform(t, { gain: 2, generator: gen });
    const a = 2 * Math.sqrt(6 / 500);
    let m = moments(t);
    expect(m.maxAbs).toBeLessThanOrEqual(a);
    expect(m.std).toBeCloseTo(a / Math.sqrt(3), 3);
    init.xavierNormal(t, { generator: gen });
    m = moments(t);
    expect(m.std).toBeCloseTo(Math.sqrt(2 / 500), 3);
  });

  it('uniform, normal, constant, zeros and ones fill in place and return the tensor', () => {
    const gen = new Generator(3);
    const t = zeros([100, 100]);
    expect(init.uniform(t, -3, -1, gen)).toBe(t);
    let m = moments(t);
    expect(Math.min(...t.data)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...t.data)).toBeLessThan(-1);
    expect(m.mean).toBeCloseTo(-2, 1);
    init.normal(t, 5, 0.5, gen);
    m = moments(t);
    expect(m.mean).toBeCloseTo(5, 1);
    expect(m.std).toBeCloseTo(0.5, 1);
    expect(Array.from(init.constant(zeros([3]), 2.5).data)).toEqual([2.5, 2.5, 2.5]);
    expect(Array.from(init.ones(zeros([2])).data)).toEqual([1, 1]);
    expect(Array.from(init.zeros(init.ones(zeros([2]))).data)).toEqual([0, 0]);
  });

  it('draws from the default generator, reproducibly after manualSeed, or from the one given', () => {
    manualSeed(42);
    const a = init.kaimingUniform(zeros([4, 4]));
    manualSeed(42);
    const b = init.kaimingUniform(zeros([4, 4]));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const c = init.xavierNormal(zeros([4, 4]), { generator: new Generator(7) });
    const d = init.xavierNormal(zeros([4, 4]), { generator: new Generator(7) });
    expect(Array.from(c.data)).toEqual(Array.from(d.data));
    expect(Array.from(c.data)).not.toEqual(Array.from(a.data));
  });

  it('rejects bad arguments', () => {
    expect(() => init.uniform(zeros([2], { dtype: 'int32' }))).toThrow(
      'init.uniform: tensor must be float32, got int32 of shape [2]',
    );
    expect(() => init.uniform(zeros([2]), 1, 0)).toThrow(
      'init.uniform: low (1) must not exceed high (0)',
    );
    expect(() => init.normal(zeros([2]), 0, -1)).toThrow('init.normal: std must be >= 0, got -1');
    expect(() => init.constant(zeros([2]), NaN)).toThrow(
      'init.constant: value must be a finite number, got NaN',
    );
    expect(() => init.xavierUniform(zeros([2]))).toThrow(
      'init.xavierUniform: fan in and fan out need a tensor with at least 2 dimensions',
    );
    expect(() => init.kaimingUniform(zeros([2, 2]), { generator: {} as Generator })).toThrow(
      'init.kaimingUniform: generator must be a Generator',
    );
  });
});
