/**
 * RMSprop with torch.optim.RMSprop's update:
 *
 *   d = (maximize ? -g : g) + weightDecay * w
 *   s = alpha * s + (1 - alpha) * d^2
 *   centered: a = alpha * a + (1 - alpha) * d;  avg = sqrt(s - a^2) + eps;  else avg = sqrt(s) + eps
 *   momentum > 0: buf = momentum * buf + d / avg;  w -= lr * buf;   else w -= lr * d / avg
 */
import { Optimizer, checkBoolean, checkNonNegative, type ParamsInput } from './optimizer.js';

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
}

export type RMSpropGroupOptions = Required<RMSpropOptions>;

/** momentumBuffer exists only with momentum > 0, gradAvg only when centered. */
export type RMSpropState = {
  step: number;
  squareAvg: Float32Array;
  momentumBuffer?: Float32Array;
  gradAvg?: Float32Array;
};

export class RMSprop extends Optimizer<RMSpropGroupOptions, RMSpropState> {
  constructor(params: ParamsInput<RMSpropGroupOptions>, options?: RMSpropOptions) {
    super(params, options, {
      name: 'RMSprop',
      defaults: {
        lr: 1e-2,
        alpha: 0.99,
        eps: 1e-8,
        weightDecay: 0,
        momentum: 0,
        centered: false,
        maximize: false,
      },
      stateKinds: {
        step: 'count',
        squareAvg: 'buffer',
        momentumBuffer: 'buffer',
        gradAvg: 'buffer',
      },
    });
  }

  protected override checkOptions(o: RMSpropGroupOptions, where: string): void {
    checkNonNegative(where, 'lr', o.lr);
    checkNonNegative(where, 'alpha', o.alpha);
    checkNonNegative(where, 'eps', o.eps);
    checkNonNegative(where, 'weightDecay', o.weightDecay);
    checkNonNegative(where, 'momentum', o.momentum);
    checkBoolean(where, 'centered', o.centered);
    checkBoolean(where, 'maximize', o.maximize);
  }

  protected override initState(size: number, group: RMSpropGroupOptions): RMSpropState {
    const st: RMSpropState = { step: 0, squareAvg: new Float32Array(size) };
    if (group.momentum > 0) st.momentumBuffer = new Float32Array(size);
    if (group.centered) st.gradAvg = new Float32Array(size);
    return st;
  }

  protected override updateParam(
    w: Float32Array,
    g: Float32Array,
    state: RMSpropState,
    group: RMSpropGroupOptions,
  ): void {
    const { lr, alpha, eps, weightDecay, momentum } = group;
    const sign = group.maximize ? -1 : 1;
    const n = w.length;
    state.step++;
    const s = state.squareAvg;
    // Created here too, so that changing a group's momentum / centered mid-training works.
    const a = group.centered ? (state.gradAvg ??= new Float32Array(n)) : null;
    const buf = momentum > 0 ? (state.momentumBuffer ??= new Float32Array(n)) : null;
    for (let i = 0; i < n; i++) {
      let d = sign * g[i];
      if (weightDecay !== 0) d += weightDecay * w[i];
      s[i] = alpha * s[i] + (1 - alpha) * d * d;
      let avg: number;
      if (a !== null) {
        a[i] = alpha * a[i] + (1 - alpha) * d;
        avg = Math.sqrt(s[i] - a[i] * a[i]) + eps;
      } else {
        avg = Math.sqrt(s[i]) + eps;
      }
      if (buf !== null) {
        buf[i] = momentum * buf[i] + d / avg;
        w[i] -= lr * buf[i];
      } else {
        w[i] -= (lr * d) / avg;
      }
    }
  }
}
