/**
 * gradcheck: compares the gradients that backward() computes with central finite differences,
 * so that users (and our tests) can check a gradient rule.
 */
import { Generator } from '../random.js';
import { Tensor, formatShape } from '../tensor.js';
import { noGrad } from './engine.js';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-3: float32 forwards round at ~6e-8 relative). */
  eps?: number;
  /** Absolute tolerance (default 1e-3). */
  atol?: number;
  /** Relative tolerance, against the numeric gradient's magnitude (default 1e-2). */
  rtol?: number;
  /** Seed of the random weights that reduce the output to a scalar (default 0). */
  seed?: number;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

function checkOption(name: string, v: unknown, def: number, positive: boolean): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (positive && v === 0)) {
    throw new RangeError(
      `gradcheck: opts.${name} must be a ${positive ? 'positive' : 'non-negative'} finite number, got ${String(v)}`,
    );
  }
  return v;
}

/**
 * Checks d(fn(...inputs))/d(input) for every input with requiresGrad against central
 * differences. The output is reduced to a scalar with fixed random weights w (so no errors can
 * cancel), the analytic gradient comes from one backward(w), and each numeric derivative from
 * two float32 forwards whose weighted sums are taken in float64, divided by the step actually
 * taken after float32 rounding. Inputs' data and `.grad` are restored afterwards.
 *
 * An element passes when |analytic - numeric| <= atol + rtol * |numeric|. Returns true, or
 * throws an Error naming the input, the element, both values and how many elements failed.
 * Keep inputs away from kinks (|x| near 0 for abs, ties for max) and fn deterministic.
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  opts: GradcheckOptions = {},
): true {
  if (typeof fn !== 'function') {
    throw new TypeError(`gradcheck: fn must be a function, got ${typeof fn}`);
  }
  if (!Array.isArray(inputs) || !inputs.every((t) => t instanceof Tensor)) {
    throw new TypeError('gradcheck: inputs must be an array of Tensors');
  }
  if (!inputs.some((t) => t.requiresGrad)) {
    throw new RangeError('gradcheck: no input has requiresGrad=true; nothing to check');
  }
  const eps = checkOption('eps', opts.eps, 1e-3, true);
  const atol = checkOption('atol', opts.atol, 1e-3, false);
  const rtol = checkOption('rtol', opts.rtol, 1e-2, false);
  const seed = opts.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new RangeError(`gradcheck: opts.seed must be a finite number, got ${String(seed)}`);
  }

  const out = fn(...inputs);
  if (!(out instanceof Tensor) || out.dtype !== 'float32') {
    throw new TypeError('gradcheck: fn must return a float32 Tensor');
  }
  if (!out.requiresGrad) {
    throw new Error(
      'gradcheck: the output of fn does not require a gradient (is it computed from the inputs?)',
    );
  }
  // Weights rounded to float32 so that backward() and the float64 sums use the very same values.
  const gen = new Generator(seed);
  const w = new Float64Array(out.size);
  for (let i = 0; i < w.length; i++) w[i] = Math.fround(gen.uniform() * 2 - 1);

  const savedGrads = inputs.map((t) => t.grad);
  const analytic: (Float32Array | null)[] = [];
  try {
    for (const t of inputs) t.grad = null;
    out.backward(Float32Array.from(w));
    for (const t of inputs)
      analytic.push(
        t.requiresGrad && t.grad !== null ? (t.grad.data as Float32Array).slice() : null,
      );
  } finally {
    inputs.forEach((t, i) => (t.grad = savedGrads[i]));
  }

  const weighted = (): number => {
    const y = noGrad(() => fn(...inputs));
    if (y.size !== w.length) {
      throw new Error(
        `gradcheck: fn returned ${y.size} elements on a re-run, first ${w.length}; it must be deterministic`,
      );
    }
    let s = 0;
    for (let i = 0; i < w.length; i++) s += w[i] * y.data[i];
    return s;
  };

  inputs.forEach((t, which) => {
    if (!t.requiresGrad) return;
    const data = t.data as Float32Array;
    const a = analytic[which];
    let failures = 0;
    let first = '';
    let worst = 0;
    for (let i = 0; i < data.length; i++) {
      const orig = data[i];
      let numeric: number;
      try {
        const hi = Math.fround(orig + eps);
        const lo = Math.fround(orig - eps);
        data[i] = hi;
        const fHi = weighted();
        data[i] = lo;
        const fLo = weighted();
        numeric = (fHi - fLo) / (hi - lo);
      } finally {
        data[i] = orig;
      }
      const an = a === null ? 0 : a[i];
      const diff = Math.abs(an - numeric);
      const tol = atol + rtol * Math.abs(numeric);
      if (!(diff <= tol)) {
        failures++;
        worst = Math.max(worst, diff);
        if (first === '') {
          first =
            `element ${i} (index [${unravel(i, t.shape).join(',')}]): analytic ${an}, numeric ${numeric}, ` +
            `|difference| ${diff} > tolerance ${tol}`;
        }
      }
    }
    if (failures > 0) {
      throw new Error(
        `gradcheck: gradient mismatch for input ${which} (shape ${formatShape(t.shape)}) at ${first}; ` +
          `${failures} of ${data.length} elements differ (largest difference ${worst})` +
          (a === null ? '; backward() gave this input no gradient' : ''),
      );
    }
  });
  return true;
}
