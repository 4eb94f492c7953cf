import { describe, expect, it } from 'vitest';
import { countFlops, countMacs } from '../../lib/models/flops.js';
import { lenet5 } from '../../lib/models/lenet.js';
import { createModel, modelNames, specOf } from '../../lib/models/registry.js';
import { simpleCnn } from '../../lib/models/simple-cnn.js';
import { randn } from '../../lib/tensor.js';

describe('model zoo: first members', () => {
  it('LeNet-5 has the classic 61,706 parameters and output [N, 10]', () => {
    const m = lenet5();
    expect(m.numParameters()).toBe(61_706);
    expect(m.call(randn([3, 1, 28, 28])).shape).toEqual([3, 10]);
    // conv1 28*28*6*25 + conv2 10*10*16*150 + fc 400*120 + 120*84 + 84*10
    expect(countMacs(m, [1, 28, 28])).toBe(117_600 + 240_000 + 48_000 + 10_080 + 840);
  });

  it('simpleCnn: the reference CNN layout and its parameter count', () => {
    const m = simpleCnn();
    // conv 1->32 3x3: 320; conv 32->64: 18,496; linear 1600->128: 204,928; 128->10: 1,290
    expect(m.numParameters()).toBe(320 + 18_496 + 204_928 + 1_290);
    expect(m.call(randn([2, 1, 28, 28])).shape).toEqual([2, 10]);
    expect(countFlops(m, [1, 28, 28])).toBe(
      2 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 288 + 1600 * 128 + 1280),
    );
  });

  it('options change the architecture and are validated', () => {
    const m = simpleCnn({
      width: 8,
      hidden: 16,
      numClasses: 5,
      inChannels: 3,
      inputSize: 32,
      activation: 'leaky-relu',
    });
    expect(m.call(randn([1, 3, 32, 32])).shape).toEqual([1, 5]);
    expect(() => simpleCnn({ width: 0 })).toThrow(
      /simpleCnn: width must be a positive integer, got 0/,
    );
    expect(() => simpleCnn({ activation: 'gelu' as never })).toThrow(
      /simpleCnn: activation must be one of relu, leaky-relu, sigmoid, tanh, linear, got "gelu"/,
    );
    expect(() => simpleCnn({ depth: 3 } as never)).toThrow(/simpleCnn: unknown option\(s\) depth/);
    expect(() => lenet5({ pool: 'min' as never })).toThrow(
      /lenet5: pool must be one of max, avg, got "min"/,
    );
  });

  it('createModel remembers the spec and rejects unknown names', () => {
    expect(modelNames()).toEqual(expect.arrayContaining(['simple-cnn', 'lenet5']));
    const m = createModel('lenet5', { activation: 'tanh' });
    expect(specOf(m)).toEqual({ name: 'lenet5', options: { activation: 'tanh' } });
    expect(() => createModel('alexnet')).toThrow(
      /createModel: unknown model "alexnet"; available: simple-cnn, lenet5/,
    );
  });
});
