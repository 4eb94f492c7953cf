/** The Flatten layer. */
import { flatten } from '../functional/shape.js';
import { formatShape, Tensor } from '../tensor.js';
import { Module } from './module.js';

/**
 * Flatten(startDim = 1, endDim = -1): merges dimensions startDim..endDim, so [N, C, H, W] becomes
 * [N, C*H*W] by default (the batch dimension is kept, as torch.nn.Flatten). Shares the input's data.
 */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    for (const [name, v] of [
      ['startDim', startDim],
      ['endDim', endDim],
    ] as const) {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        throw new TypeError(`Flatten: ${name} must be an integer, got ${JSON.stringify(v)}`);
      }
    }
    if (startDim >= 0 && endDim >= 0 && startDim > endDim) {
      throw new RangeError(
        `Flatten: startDim (${startDim}) must not come after endDim (${endDim})`,
      );
    }
    this.startDim = startDim;
    this.endDim = endDim;
  }

  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor))
      throw new TypeError(`Flatten: input must be a Tensor, got ${typeof x}`);
    const nd = x.ndim;
    const s = this.startDim < 0 ? this.startDim + nd : this.startDim;
    const e = this.endDim < 0 ? this.endDim + nd : this.endDim;
    if (s < 0 || s >= nd || e < 0 || e >= nd || s > e) {
      throw new RangeError(
        `Flatten(startDim=${this.startDim}, endDim=${this.endDim}): cannot flatten input of shape ${formatShape(x.shape)}`,
      );
    }
    return flatten(x, this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}
