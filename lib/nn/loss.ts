/** Loss modules: CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCEWithLogitsLoss. Call as loss.call(input, target). */
import {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  DEFAULT_IGNORE_INDEX,
  l1Loss,
  mseLoss,
  nllLoss,
} from '../functional/loss.js';
import { requireReduction, type Reduction } from '../functional/tensor-checks.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { checkOptions, weightOption } from './options.js';

function ignoreIndexOption(owner: string, v: unknown): number {
  if (v === undefined) return DEFAULT_IGNORE_INDEX;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TypeError(`${owner}: ignoreIndex must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

export interface CrossEntropyLossOptions {
  /** A rescaling weight per class, shape [C] (saved in the state dict as `weight`). */
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}

/** crossEntropy(input, target) as a module: logits [N, C] (or [N, C, ...]) against class indices or probabilities. */
export class CrossEntropyLoss extends Module {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly reduction: Reduction;
  readonly labelSmoothing: number;

  constructor(opts?: CrossEntropyLossOptions) {
    super();
    const o = checkOptions('CrossEntropyLoss', opts, [
      'weight',
      'ignoreIndex',
      'reduction',
      'labelSmoothing',
    ]);
    this.registerBuffer('weight', weightOption('CrossEntropyLoss', 'weight', o.weight));
    if (this.weight !== null && this.weight.ndim !== 1) {
      throw new RangeError(
        `CrossEntropyLoss: weight must be 1-D (one weight per class), got ${this.weight.ndim}-D`,
      );
    }
    this.ignoreIndex = ignoreIndexOption('CrossEntropyLoss', o.ignoreIndex);
    this.reduction = requireReduction('CrossEntropyLoss', o.reduction ?? 'mean');
    const s = o.labelSmoothing ?? 0;
    if (typeof s !== 'number' || !(s >= 0 && s <= 1)) {
      throw new RangeError(
        `CrossEntropyLoss: labelSmoothing must be a number in [0, 1], got ${String(s)}`,
      );
    }
    this.labelSmoothing = s;
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
      labelSmoothing: this.labelSmoothing,
    });
  }

  override extraRepr(): string {
    return `reduction='${this.reduction}'${this.labelSmoothing > 0 ? `, labelSmoothing=${this.labelSmoothing}` : ''}`;
  }
}

export interface NLLLossOptions {
  weight?: Tensor | null;
  ignoreIndex?: number;
  reduction?: Reduction;
}

/** nllLoss(input, target) as a module: log-probabilities against class indices. */
export class NLLLoss extends Module {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly reduction: Reduction;

  constructor(opts?: NLLLossOptions) {
    super();
    const o = checkOptions('NLLLoss', opts, ['weight', 'ignoreIndex', 'reduction']);
    this.registerBuffer('weight', weightOption('NLLLoss', 'weight', o.weight));
    if (this.weight !== null && this.weight.ndim !== 1) {
      throw new RangeError(
        `NLLLoss: weight must be 1-D (one weight per class), got ${this.weight.ndim}-D`,
      );
    }
    this.ignoreIndex = ignoreIndexOption('NLLLoss', o.ignoreIndex);
    this.reduction = requireReduction('NLLLoss', o.reduction ?? 'mean');
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, {
      weight: this.weight,
      ignoreIndex: this.ignoreIndex,
      reduction: this.reduction,
    });
  }

  override extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}

/** mseLoss(input, target) as a module. */
export class MSELoss extends Module {
  readonly reduction: Reduction;

  constructor(opts?: { reduction?: Reduction }) {
    super();
    this.reduction = requireReduction(
      'MSELoss',
      checkOptions('MSELoss', opts, ['reduction']).reduction ?? 'mean',
    );
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }

  override extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}

/** l1Loss(input, target) as a module. */
export class L1Loss extends Module {
  readonly reduction: Reduction;

  constructor(opts?: { reduction?: Reduction }) {
    super();
    this.reduction = requireReduction(
      'L1Loss',
      checkOptions('L1Loss', opts, ['reduction']).reduction ?? 'mean',
    );
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, { reduction: this.reduction });
  }

  override extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}

export interface BCEWithLogitsLossOptions {
  /** Broadcastable to the input (saved in the state dict as `weight`). */
  weight?: Tensor | null;
  /** Weight of positive examples, broadcastable to the input, usually [C] (saved as `pos_weight`). */
  posWeight?: Tensor | null;
  reduction?: Reduction;
}

/** binaryCrossEntropyWithLogits(input, target) as a module. */
export class BCEWithLogitsLoss extends Module {
  declare readonly weight: Tensor | null;
  declare readonly pos_weight: Tensor | null;
  readonly reduction: Reduction;

  constructor(opts?: BCEWithLogitsLossOptions) {
    super();
    const o = checkOptions('BCEWithLogitsLoss', opts, ['weight', 'posWeight', 'reduction']);
    this.registerBuffer('weight', weightOption('BCEWithLogitsLoss', 'weight', o.weight));
    this.registerBuffer('pos_weight', weightOption('BCEWithLogitsLoss', 'posWeight', o.posWeight));
    this.reduction = requireReduction('BCEWithLogitsLoss', o.reduction ?? 'mean');
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, {
      weight: this.weight,
      posWeight: this.pos_weight,
      reduction: this.reduction,
    });
  }

  override extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}
