import { describe, expect, it } from 'vitest';

import { compose, normalize, randomCrop, randomHorizontalFlip } from '../../lib/data/transforms.js';
import { Generator } from '../../lib/random.js';
import { Tensor } from '../../lib/tensor.js';

/** [n,c,h,w] with value 1000*n + 100*c + 10*y + x, so every position is identifiable. */
function grid(n: number, c: number, h: number, w: number): Tensor {
  const d = new Float32Array(n * c * h * w);
  let k = 0;
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) d[k++] = 1000 * i + 100 * ch + 10 * y + x;
  return new Tensor(d, [n, c, h, w]);
}

describe('normalize', () => {
  it('subtracts the channel mean and divides by the channel std', () => {
    const x = new Tensor(Float32Array.of(1, 2, 3, 4, 10, 20, 30, 40), [1, 2, 2, 2]);
    const y = normalize([2, 20], [0.5, 10])(x);
    expect([...y.data]).toEqual([-2, 0, 2, 4, -1, 0, 1, 2]);
    expect([...x.data]).toEqual([1, 2, 3, 4, 10, 20, 30, 40]); // input untouched
    const one = normalize(0.5, 0.25)(new Tensor(Float32Array.of(0, 1), [1, 1, 2]));
    expect(one.shape).toEqual([1, 1, 2]);
    expect([...one.data]).toEqual([-2, 2]);
  });

  it('uses Fashion-MNIST statistics on a sample', () => {
    const y = normalize([0.286], [0.353])(new Tensor(Float32Array.of(0, 1), [1, 1, 2]));
    expect(y.data[0]).toBeCloseTo(-0.286 / 0.353, 6);
    expect(y.data[1]).toBeCloseTo((1 - 0.286) / 0.353, 6);
  });

  it('checks its arguments', () => {
    expect(() => normalize([0, 0, 0], [1, 1, 1])(grid(1, 2, 1, 1))).toThrow(
      'normalize: mean has 3 values but the input has 2 channels',
    );
    expect(() => normalize(0, 0)).toThrow('normalize: std must be positive, got 0');
    expect(() => normalize([], [1])).toThrow(
      /normalize: mean must be a finite number or a non-empty array/,
    );
    expect(() => normalize(0, 1)(new Tensor(new Float32Array(4), [4]))).toThrow(
      'normalize: input must be [C,H,W] or [N,C,H,W], got shape [4]',
    );
  });
});

describe('randomHorizontalFlip', () => {
  it('p=1 mirrors every row, p=0 copies', () => {
    const x = grid(2, 2, 2, 3);
    const y = randomHorizontalFlip(1, { seed: 0 })(x);
    // row of sample 1, channel 1, y=1: 1110 1111 1112 -> 1112 1111 1110
    const off = ((1 * 2 + 1) * 2 + 1) * 3;
    expect([...y.data.subarray(off, off + 3)]).toEqual([1112, 1111, 1110]);
    expect([...randomHorizontalFlip(0)(x).data]).toEqual([...x.data]);
  });

  it('flips each sample independently, as drawn from the generator', () => {
    const x = grid(64, 1, 1, 2);
    const y = randomHorizontalFlip(0.5)(x, { generator: new Generator(7) });
    const ref = new Generator(7);
    let flipped = 0;
    for (let i = 0; i < 64; i++) {
      const flip = ref.uniform() < 0.5;
      flipped += flip ? 1 : 0;
      expect([y.data[2 * i], y.data[2 * i + 1]]).toEqual(
        flip ? [1000 * i + 1, 1000 * i] : [1000 * i, 1000 * i + 1],
      );
    }
    expect(flipped).toBeGreaterThan(10);
    expect(flipped).toBeLessThan(54);
  });

  it('is reproducible from its seed and works on one [C,H,W] sample', () => {
    const x = new Tensor(Float32Array.of(1, 2, 3), [1, 1, 3]);
    const a = randomHorizontalFlip(0.5, { seed: 3 });
    const b = randomHorizontalFlip(0.5, { seed: 3 });
    for (let k = 0; k < 5; k++) expect([...a(x).data]).toEqual([...b(x).data]);
    expect(() => randomHorizontalFlip(1.5)).toThrow(
      'randomHorizontalFlip: p must be a probability in [0, 1], got 1.5',
    );
  });
});

describe('randomCrop', () => {
  it('without padding at full size is the identity', () => {
    const x = grid(2, 1, 3, 3);
    expect([...randomCrop(3, { seed: 1 })(x).data]).toEqual([...x.data]);
  });

  it('cuts windows at the drawn offsets, zero outside the image', () => {
    const x = grid(20, 2, 4, 4);
    const y = randomCrop([3, 4], { padding: 2 })(x, { generator: new Generator(11) });
    expect(y.shape).toEqual([20, 2, 3, 4]);
    const ref = new Generator(11);
    let sawZero = false;
    for (let i = 0; i < 20; i++) {
      const y0 = ref.randint(4 + 4 - 3 + 1) - 2;
      const x0 = ref.randint(4 + 4 - 4 + 1) - 2;
      for (let c = 0; c < 2; c++) {
        for (let r = 0; r < 3; r++) {
          for (let col = 0; col < 4; col++) {
            const sy = y0 + r;
            const sx = x0 + col;
            const inside = sy >= 0 && sy < 4 && sx >= 0 && sx < 4;
            const want = inside ? 1000 * i + 100 * c + 10 * sy + sx : 0;
            if (!inside) sawZero = true;
            expect(y.data[((i * 2 + c) * 3 + r) * 4 + col]).toBe(want);
          }
        }
      }
    }
    expect(sawZero).toBe(true);
  });

  it('keeps a 3-D sample 3-D and checks its arguments', () => {
    const y = randomCrop(2, { padding: [0, 1], seed: 5 })(
      new Tensor(new Float32Array(9).fill(1), [1, 3, 3]),
    );
    expect(y.shape).toEqual([1, 2, 2]);
    expect(() => randomCrop(0)).toThrow(/randomCrop: size must be a positive integer/);
    expect(() => randomCrop(2, { padding: -1 })).toThrow(
      /randomCrop: opts.padding must be a non-negative integer/,
    );
    expect(() => randomCrop(9, { padding: 1 })(grid(1, 1, 3, 3))).toThrow(
      'randomCrop: crop 9x9 is larger than the padded image 5x5',
    );
    expect(() => randomCrop(2)(new Tensor(new Int32Array(9), [1, 3, 3]))).toThrow(
      /randomCrop: input must be a float32 tensor/,
    );
  });
});

describe('compose', () => {
  it('applies transforms in order with the shared context', () => {
    const x = grid(1, 1, 1, 2); // [0, 1]
    const t = compose([normalize(1, 2), randomHorizontalFlip(1)]);
    expect([...t(x, { generator: new Generator(0) }).data]).toEqual([0, -0.5]);
    expect(() => compose([normalize(0, 1), 5 as never])).toThrow(
      'compose: transforms must be an array of transform functions',
    );
  });
});
