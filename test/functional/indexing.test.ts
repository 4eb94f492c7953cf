/** index(x, i): x[i] and x[[i, j, ...]] along the first axis, as in PyTorch and NumPy. */
import { describe, expect, it } from 'vitest';
import { gradcheck } from '../../lib/autograd/gradcheck.js';
import { index } from '../../lib/functional/shape.js';
import { Generator } from '../../lib/random.js';
import { arange, randn, tensor, type Tensor } from '../../lib/tensor.js';

/** x = [[[0,1],[2,3],[4,5]], [[6,7],[8,9],[10,11]], ...]: entry (n, r, c) holds 6n + 2r + c. */
const x = arange(24).reshape(4, 3, 2);

describe('index', () => {
  it('an integer picks one sample and drops the first axis; negative counts from the end', () => {
    expect(index(x, 1).toArray()).toEqual([
      [6, 7],
      [8, 9],
      [10, 11],
    ]);
    expect(index(x, -1).toArray()).toEqual([
      [18, 19],
      [20, 21],
      [22, 23],
    ]);
    expect(x.index(0).index(2).toArray()).toEqual([4, 5]);
    expect(arange(5).index(3).shape).toEqual([]);
    expect(arange(5).index(3).item()).toBe(3);
    // A 0-d int32 tensor counts as an integer, as in torch.
    expect(index(x, tensor(new Int32Array([2]), [])).shape).toEqual([3, 2]);
  });

  it('a list of indices picks a batch, in that order, repeats allowed', () => {
    const picked = index(x, [3, 0, 3]);
    expect(picked.shape).toEqual([3, 3, 2]);
    expect((picked.toArray() as number[][][]).map((s) => s[0][0])).toEqual([18, 0, 18]);
    expect(x.index(new Int32Array([1])).shape).toEqual([1, 3, 2]);
    expect(x.index(tensor([2, 1], undefined, { dtype: 'int32' })).toArray()).toEqual([
      [
        [12, 13],
        [14, 15],
        [16, 17],
      ],
      [
        [6, 7],
        [8, 9],
        [10, 11],
      ],
    ]);
    expect(x.index([]).shape).toEqual([0, 3, 2]);
  });

  it('keeps int32 data int32', () => {
    const labels = tensor([4, 5, 6], undefined, { dtype: 'int32' });
    expect(labels.index([2, 0]).dtype).toBe('int32');
    expect(Array.from(labels.index([2, 0]).data)).toEqual([6, 4]);
    expect(labels.index(1).item()).toBe(5);
  });

  it('back-propagates into the picked rows, adding up repeats', () => {
    const w = arange(6).reshape(3, 2).setRequiresGrad();
    index(w, [2, 0, 2]).sum().backward();
    expect(Array.from(w.grad!.data)).toEqual([1, 1, 0, 0, 2, 2]);
    const v = arange(6).reshape(3, 2).setRequiresGrad();
    index(v, -2)
      .mul(tensor([10, 20]))
      .sum()
      .backward();
    expect(Array.from(v.grad!.data)).toEqual([0, 0, 10, 20, 0, 0]);
    const gen = new Generator(7);
    const make = (): Tensor => randn([4, 3], { generator: gen, requiresGrad: true });
    expect(gradcheck((t) => index(t, 2), [make()])).toBe(true);
    expect(gradcheck((t) => index(t, [1, 3, 1]), [make()])).toBe(true);
  });

  it('rejects bad indices, naming the function, the shape and the value', () => {
    expect(() => index(x, 4)).toThrow(
      'index: index must be an integer in [-4, 3] for the first axis of shape [4,3,2], got 4',
    );
    expect(() => index(x, -5)).toThrow(/index: index must be an integer in \[-4, 3\]/);
    expect(() => index(x, 1.5)).toThrow(/index: index must be an integer/);
    expect(() => index(x, [0, 4])).toThrow(
      'index: indices[1] = 4 is out of range for an axis of size 4',
    );
    expect(() => index(x, randn([2]))).toThrow(/index: indices must be a 1-D int32 tensor/);
    expect(() => index(tensor([1], []), 0)).toThrow('index: cannot index a 0-d tensor');
    expect(() => index([1, 2] as never, 0)).toThrow(/index: x must be a Tensor/);
  });
});
