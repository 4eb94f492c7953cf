/**
 * Adam and AdamW, with torch.optim.Adam / AdamW's update (bias-corrected moments; amsgrad keeps the
 * running maximum of the second moment):
 *
 *   d = maximize ? -g : g;   Adam: d += weightDecay * w;   AdamW: w *= 1 - lr * weightDecay
 *   t += 1;  m = beta1 * m + (1 - beta1) * d;  v = beta2 * v + (1 - beta2) * d^2
 *   vMax = max(vMax, v) (amsgrad)
 *   w -= lr / (1 - beta1^t) * m / (sqrt(amsgrad ? vMax : v) / sqrt(1 - beta2^t) + eps)
 */
import { kernels } from '../backend/index.js';
import {
  Optimizer,
  checkBoolean,
  checkNonNegative,
  checkNumberInRange,
  describeValue,
  type ParamsInput,
} from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

export type AdamGroupOptions = Required<AdamOptions>;

/** step counts this param's updates; maxExpAvgSq exists only with amsgrad. */
export type AdamState = {
  step: number;
  expAvg: Float32Array;
  expAvgSq: Float32Array;
  maxExpAvgSq?: Float32Array;
};

const ADAM_STATE_KINDS = {
  step: 'count',
  expAvg: 'buffer',
  expAvgSq: 'buffer',
  maxExpAvgSq: 'buffer',
} as const;

/** The shared math; `decoupled` picks AdamW's weight decay (applied to the weights, not the gradient). */
abstract class AdamFamily extends Optimizer<AdamGroupOptions, AdamState> {
  private readonly decoupled: boolean;

  protected constructor(
    name: string,
    decoupled: boolean,
    defaultWeightDecay: number,
    params: ParamsInput<AdamGroupOptions>,
    options: AdamOptions | undefined,
  ) {
    super(params, options, {
      name,
      defaults: {
        lr: 1e-3,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weightDecay: defaultWeightDecay,
        amsgrad: false,
        maximize: false,
      },
      stateKinds: ADAM_STATE_KINDS,
    });
    this.decoupled = decoupled;
  }

  protected override checkOptions(o: AdamGroupOptions, where: string): void {
    checkNonNegative(where, 'lr', o.lr);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) {
      throw new TypeError(
        `${where}: betas must be an array [beta1, beta2], got ${describeValue(o.betas)}`,
      );
    }
    checkNumberInRange(where, 'betas[0]', o.betas[0], 0, 1, { maxOpen: true });
    checkNumberInRange(where, 'betas[1]', o.betas[1], 0, 1, { maxOpen: true });
    checkNonNegative(where, 'eps', o.eps);
    checkNonNegative(where, 'weightDecay', o.weightDecay);
    checkBoolean(where, 'amsgrad', o.amsgrad);
    checkBoolean(where, 'maximize', o.maximize);
  }

  protected override initState(size: number, group: AdamGroupOptions): AdamState {
    const st: AdamState = {
      step: 0,
      expAvg: new Float32Array(size),
      expAvgSq: new Float32Array(size),
    };
    if (group.amsgrad) st.maxExpAvgSq = new Float32Array(size);
    return st;
  }

  protected override updateParam(
    w: Float32Array,
    g: Float32Array,
    state: AdamState,
    group: AdamGroupOptions,
  ): void {
    const { lr, eps, weightDecay, amsgrad } = group;
    const [beta1, beta2] = group.betas;
    const sign = group.maximize ? -1 : 1;
    const t = ++state.step;
    const stepSize = lr / (1 - Math.pow(beta1, t));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, t));
    const l2 = this.decoupled ? 0 : weightDecay;
    const decay = this.decoupled ? 1 - lr * weightDecay : 1;
    const m = state.expAvg;
    const v = state.expAvgSq;
    // Created here too, so that turning amsgrad on in a group mid-training works.
    const vMax = amsgrad ? (state.maxExpAvgSq ??= new Float32Array(w.length)) : null;
    // The update math lives in the kernel set (native: one vectorized pass; TS: the same loop).
    kernels().adamUpdate(
      { beta1, beta2, stepSize, bias2Sqrt: bc2Sqrt, eps, l2, decay, sign },
      w,
      g,
      m,
      v,
      vMax,
    );
  }
}

/** Adam: weight decay is L2, added to the gradient (as torch.optim.Adam). */
export class Adam extends AdamFamily {
  constructor(params: ParamsInput<AdamGroupOptions>, options?: AdamOptions) {
    super('Adam', false, 0, params, options);
  }
}

/** AdamW: decoupled weight decay, w *= 1 - lr * weightDecay before the Adam step (default 1e-2). */
export class AdamW extends AdamFamily {
  constructor(params: ParamsInput<AdamGroupOptions>, options?: AdamOptions) {
    super('AdamW', true, 1e-2, params, options);
  }
}
