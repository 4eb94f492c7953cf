import { describe, expect, it } from 'vitest';
import { noGrad } from '../../lib/autograd/engine.js';
import { Conv2d } from '../../lib/nn/conv.js';
import { fuseConvBn } from '../../lib/nn/fuse.js';
import { BatchNorm1d, BatchNorm2d } from '../../lib/nn/normalization.js';
import { Generator } from '../../lib/random.js';
import { rand, randn, type Tensor } from '../../lib/tensor.js';
import { BACKENDS, useBackend } from '../functional/backends.js';
import { expectClose } from '../helpers.js';

/** A BatchNorm2d with running statistics and affine parameters far from their defaults. */
function trainedBn(channels: number, gen: Generator, affine = true): BatchNorm2d {
  const bn = new BatchNorm2d(channels, { affine, eps: 1e-3 });
  bn.running_mean!.data.set(randn([channels], { generator: gen }).data);
  bn.running_var!.data.set(rand([channels], { generator: gen, low: 0.2, high: 3 }).data);
  if (affine) {
    bn.weight!.data.set(rand([channels], { generator: gen, low: 0.5, high: 2 }).data);
    bn.bias!.data.set(randn([channels], { generator: gen }).data);
  }
  return bn.eval();
}

/** bn(conv(x)) per element, from the definition of batch norm in evaluation mode. */
function unfused(conv: Conv2d, bn: BatchNorm2d, x: Tensor): Float32Array {
  return noGrad(() => bn.forward(conv.forward(x))).data as Float32Array;
}

describe.each(BACKENDS)('fuseConvBn on the %s backend', (backend) => {
  useBackend(backend);

  const configs = [
    { name: '3x3 pad 1 with bias', in: 3, out: 8, k: 3, opts: { padding: 1 } },
    { name: '1x1 stride 2 without bias', in: 4, out: 6, k: 1, opts: { stride: 2, bias: false } },
    { name: 'grouped 3x3', in: 4, out: 8, k: 3, opts: { groups: 2 } },
    {
      name: "depthwise 'same'",
      in: 5,
      out: 5,
      k: 3,
      opts: { groups: 5, padding: 'same' as const },
    },
  ];
  configs.forEach((c, idx) => {
    for (const affine of [true, false]) {
      it(`${c.name}${affine ? '' : ', bn without affine'}: one conv computes bn(conv(x))`, () => {
        const gen = new Generator(40 + idx);
        const conv = new Conv2d(c.in, c.out, c.k, { ...c.opts, generator: gen }).eval();
        const bn = trainedBn(c.out, gen, affine);
        const x = randn([2, c.in, 7, 6], { generator: gen });
        const want = unfused(conv, bn, x);
        const fused = fuseConvBn(conv, bn);
        expect(fused.bias).not.toBeNull();
        expect(fused.training).toBe(false);
        const got = noGrad(() => fused.forward(x)).data as Float32Array;
        expect(Array.from(got.slice(0, 3))).not.toEqual(
          Array.from((noGrad(() => conv.forward(x)).data as Float32Array).slice(0, 3)),
        );
        expectClose(got, want, 1e-4, 1e-5, 'fused output');
        // Neither input module changed.
        expectClose(unfused(conv, bn, x), want, 0, 0, 'the originals still compute the same');
      });
    }
  });
});

describe('fuseConvBn argument checks', () => {
  it('rejects other modules, mismatched channels and batch norm without running statistics', () => {
    const conv = new Conv2d(2, 4, 3);
    expect(() => fuseConvBn({} as Conv2d, new BatchNorm2d(4))).toThrow(
      /^fuseConvBn: conv must be a Conv2d, got Object$/,
    );
    expect(() => fuseConvBn(conv, new BatchNorm1d(4) as unknown as BatchNorm2d)).toThrow(
      /^fuseConvBn: bn must be a BatchNorm2d, got BatchNorm1d$/,
    );
    expect(() => fuseConvBn(conv, new BatchNorm2d(3))).toThrow(
      /^fuseConvBn: bn must normalize the conv's 4 output channels, got BatchNorm2d\(3\)$/,
    );
    expect(() => fuseConvBn(conv, new BatchNorm2d(4, { trackRunningStats: false }))).toThrow(
      /^fuseConvBn: bn must track running statistics/,
    );
  });
});
