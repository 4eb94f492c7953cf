/** The fully connected layer. */
import { linear } from '../functional/linear.js';
import type { Generator } from '../random.js';
import { formatShape, Tensor, zeros } from '../tensor.js';
import { defaultLayerInit } from './init.js';
import { Module } from './module.js';
import { boolOption, checkOptions, generatorOption, positiveInt } from './options.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default: the default generator). */
  generator?: Generator;
}

/**
 * Linear(inFeatures, outFeatures, { bias }), as torch.nn.Linear: y = x · weightᵀ + bias with
 * weight [outFeatures, inFeatures], for x of shape [..., inFeatures].
 */
export class Linear extends Module {
  declare readonly weight: Tensor;
  declare readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts?: LinearOptions) {
    super();
    const o = checkOptions('Linear', opts, ['bias', 'generator']);
    this.inFeatures = positiveInt('Linear', 'inFeatures', inFeatures);
    this.outFeatures = positiveInt('Linear', 'outFeatures', outFeatures);
    const hasBias = boolOption('Linear', 'bias', o.bias, true);
    const gen = generatorOption('Linear', o.generator);
    this.registerParameter('weight', zeros([outFeatures, inFeatures]));
    this.registerParameter('bias', hasBias ? zeros([outFeatures]) : null);
    this.resetParameters(gen);
  }

  /** Re-draws the weights with PyTorch's default initialisation. */
  resetParameters(generator?: Generator): void {
    defaultLayerInit(this.weight, this.bias, generator);
  }

  forward(x: Tensor): Tensor {
    const name = `Linear(${this.inFeatures}->${this.outFeatures})`;
    if (!(x instanceof Tensor))
      throw new TypeError(`${name}: input must be a Tensor, got ${typeof x}`);
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new RangeError(
        `${name}: expected input with last dimension ${this.inFeatures}, got shape ${formatShape(x.shape)}`,
      );
    }
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
