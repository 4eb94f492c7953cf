/** The dropout layer. */
import { dropout } from '../functional/dropout.js';
import type { Generator } from '../random.js';
import { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { checkOptions, generatorOption } from './options.js';

/**
 * Dropout(p = 0.5): in training mode zeroes each element with probability p and scales the rest
 * by 1/(1-p); in evaluation mode (after eval()) passes the input through.
 */
export class Dropout extends Module {
  readonly p: number;
  private readonly generator: Generator | undefined;

  constructor(p = 0.5, opts?: { generator?: Generator }) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) {
      throw new RangeError(`Dropout: p must be a probability in [0, 1), got ${String(p)}`);
    }
    this.p = p;
    this.generator = generatorOption(
      'Dropout',
      checkOptions('Dropout', opts, ['generator']).generator,
    );
  }

  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor))
      throw new TypeError(`Dropout: input must be a Tensor, got ${typeof x}`);
    return dropout(x, this.p, this.training, this.generator);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
