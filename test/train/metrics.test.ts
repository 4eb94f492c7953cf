import { describe, expect, it } from 'vitest';
import {
  accuracy,
  confusionMatrix,
  MetricTracker,
  predictClasses,
  topKAccuracy,
} from '../../lib/train/metrics.js';
import { tensor } from '../../lib/tensor.js';

const logits = tensor(
  [
    [0.1, 0.7, 0.2], // predicts 1
    [0.5, 0.3, 0.2], // predicts 0
    [0.2, 0.3, 0.5], // predicts 2
    [0.4, 0.35, 0.25], // predicts 0
  ],
  [4, 3],
);
const targets = tensor([1, 1, 2, 2], [4], { dtype: 'int32' });

describe('metrics', () => {
  it('accuracy and top-k', () => {
    expect(Array.from(predictClasses(logits))).toEqual([1, 0, 2, 0]);
    expect(accuracy(logits, targets)).toBe(0.5);
    // row 1: target 1 is second (0.3 < 0.5) -> in top 2; row 3: target 2 is last -> not in top 2
    expect(topKAccuracy(logits, targets, 2)).toBe(0.75);
    expect(topKAccuracy(logits, targets, 3)).toBe(1);
  });

  it('confusion matrix counts [target][predicted]', () => {
    expect(confusionMatrix([1, 0, 2, 0], [1, 1, 2, 2], 3)).toEqual([
      [0, 0, 0],
      [1, 1, 0],
      [1, 0, 1],
    ]);
    expect(() => confusionMatrix([3], [0], 3)).toThrow(/class indices must be in \[0, 3\)/);
  });

  it('MetricTracker weights batches by size', () => {
    const t = new MetricTracker(['accuracy', 'top2']);
    t.update(1.0, logits, targets);
    const one = tensor([[0, 1, 0]], [1, 3]);
    t.update(4.0, one, tensor([1], [1], { dtype: 'int32' }));
    const r = t.result();
    expect(r.loss).toBeCloseTo((1.0 * 4 + 4.0) / 5, 6);
    expect(r.accuracy).toBeCloseTo(3 / 5, 6);
    expect(r.top2).toBeCloseTo(4 / 5, 6);
  });

  it('checks shapes', () => {
    expect(() => accuracy(tensor([1, 2, 3], [3]), targets)).toThrow(
      /logits must be 2-D \[N, C\], got shape \[3\]/,
    );
    expect(() => topKAccuracy(logits, targets, 4)).toThrow(
      /k must be an integer in \[1, 3\], got 4/,
    );
  });
});
