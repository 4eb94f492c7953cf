/**
 * SGD with optional momentum, dampening, Nesterov momentum, L2 weight decay and maximize, with
 * exactly torch.optim.SGD's update:
 *
 *   d = (maximize ? -g : g) + weightDecay * w
 *   buf = d on the first step, else momentum * buf + (1 - dampening) * d      (when momentum != 0)
 *   d = nesterov ? d + momentum * buf : buf                                    (when momentum != 0)
 *   w = w - lr * d
 */
import {
  Optimizer,
  checkBoolean,
  checkNonNegative,
  checkNumberInRange,
  type ParamsInput,
} from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
  maximize?: boolean;
}

export type SGDGroupOptions = Required<SGDOptions>;

/** momentumBuffer stays null until the first step that uses momentum (its first value is d itself). */
export type SGDState = { momentumBuffer: Float32Array | null };

export class SGD extends Optimizer<SGDGroupOptions, SGDState> {
  constructor(params: ParamsInput<SGDGroupOptions>, options: SGDOptions) {
    super(params, options, {
      name: 'SGD',
      defaults: {
        lr: undefined,
        momentum: 0,
        dampening: 0,
        nesterov: false,
        weightDecay: 0,
        maximize: false,
      },
      stateKinds: { momentumBuffer: 'lazyBuffer' },
    });
  }

  protected override checkOptions(o: SGDGroupOptions, where: string): void {
    checkNonNegative(where, 'lr', o.lr);
    checkNonNegative(where, 'momentum', o.momentum);
    checkNumberInRange(where, 'dampening', o.dampening, -Number.MAX_VALUE, Number.MAX_VALUE, {
      what: 'a finite number',
    });
    checkNonNegative(where, 'weightDecay', o.weightDecay);
    checkBoolean(where, 'nesterov', o.nesterov);
    checkBoolean(where, 'maximize', o.maximize);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new RangeError(
        `${where}: nesterov requires momentum > 0 and dampening = 0, got momentum ${o.momentum} and dampening ${o.dampening}`,
      );
    }
  }

  protected override initState(): SGDState {
    return { momentumBuffer: null };
  }

  protected override updateParam(
    w: Float32Array,
    g: Float32Array,
    state: SGDState,
    group: SGDGroupOptions,
  ): void {
    const { lr, momentum, dampening, nesterov, weightDecay } = group;
    const sign = group.maximize ? -1 : 1;
    const n = w.length;
    if (momentum === 0) {
      for (let i = 0; i < n; i++) {
        let d = sign * g[i];
        if (weightDecay !== 0) d += weightDecay * w[i];
        w[i] -= lr * d;
      }
      return;
    }
    let buf = state.momentumBuffer;
    const first = buf === null;
    if (buf === null) {
      buf = new Float32Array(n);
      state.momentumBuffer = buf;
    }
    const keep = 1 - dampening;
    for (let i = 0; i < n; i++) {
      let d = sign * g[i];
      if (weightDecay !== 0) d += weightDecay * w[i];
      buf[i] = first ? d : momentum * buf[i] + keep * d;
      w[i] -= lr * (nesterov ? d + momentum * buf[i] : buf[i]);
    }
  }
}
