/**
 * Input transforms for image data (data augmentation and normalization).
 *
 * Design: a transform is a function of an image tensor, either one sample [C,H,W] or a whole
 * batch [N,C,H,W], returning a new tensor (its input is never modified). The DataLoader applies it
 * to each batch of inputs, which is much faster than per-sample calls; random transforms draw a
 * separate choice for every sample of the batch. Targets are not transformed.
 *
 * Randomness: a transform uses, in order of preference, the generator handed to it in `ctx` (the
 * DataLoader passes one derived from its seed and the epoch, so a resumed run sees the same
 * augmentations), the generator built from its own `seed` option, or the default generator.
 */
import { Generator, defaultGenerator } from '../random.js';
import { Tensor, formatShape } from '../tensor.js';

export interface TransformContext {
  generator?: Generator;
}

export type Transform = (input: Tensor, ctx?: TransformContext) => Tensor;

export interface RandomTransformOptions {
  /** Seeds a generator owned by this transform, used when the caller hands none. */
  seed?: number;
}

interface ImageDims {
  n: number;
  c: number;
  h: number;
  w: number;
}

function imageDims(fn: string, x: unknown): ImageDims {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`${fn}: input must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
  if (!(x.data instanceof Float32Array)) {
    throw new TypeError(
      `${fn}: input must be a float32 tensor, got int32 of shape ${formatShape(x.shape)}`,
    );
  }
  if (x.ndim === 4) return { n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3] };
  if (x.ndim === 3) return { n: 1, c: x.shape[0], h: x.shape[1], w: x.shape[2] };
  throw new RangeError(
    `${fn}: input must be [C,H,W] or [N,C,H,W], got shape ${formatShape(x.shape)}`,
  );
}

function checkSeed(fn: string, seed: number | undefined): Generator | null {
  if (seed === undefined) return null;
  if (!Number.isFinite(seed))
    throw new RangeError(`${fn}: opts.seed must be a finite number, got ${seed}`);
  return new Generator(seed);
}

function pickGenerator(own: Generator | null, ctx: TransformContext | undefined): Generator {
  return ctx?.generator ?? own ?? defaultGenerator;
}

/** Applies transforms in order. */
export function compose(transforms: readonly Transform[]): Transform {
  if (!Array.isArray(transforms) || !transforms.every((t) => typeof t === 'function')) {
    throw new TypeError('compose: transforms must be an array of transform functions');
  }
  const list = [...transforms];
  return (input, ctx) => list.reduce((x, t) => t(x, ctx), input);
}

function perChannel(fn: string, arg: string, v: number | readonly number[]): number[] {
  const arr = typeof v === 'number' ? [v] : v;
  if (
    !Array.isArray(arr) ||
    arr.length === 0 ||
    !arr.every((x) => typeof x === 'number' && Number.isFinite(x))
  ) {
    throw new TypeError(
      `${fn}: ${arg} must be a finite number or a non-empty array of them, got ${JSON.stringify(v)}`,
    );
  }
  return [...arr];
}

/**
 * (x - mean[c]) / std[c] for each channel c. A single number (or one-element array) applies to
 * every channel; otherwise the lengths must match the channel count.
 */
export function normalize(
  mean: number | readonly number[],
  std: number | readonly number[],
): Transform {
  const m = perChannel('normalize', 'mean', mean);
  const s = perChannel('normalize', 'std', std);
  if (!s.every((v) => v > 0))
    throw new RangeError(`normalize: std must be positive, got ${JSON.stringify(std)}`);
  return (input) => {
    const { n, c, h, w } = imageDims('normalize', input);
    for (const [arg, arr] of [
      ['mean', m],
      ['std', s],
    ] as const) {
      if (arr.length !== 1 && arr.length !== c) {
        throw new RangeError(
          `normalize: ${arg} has ${arr.length} values but the input has ${c} channels`,
        );
      }
    }
    const x = input.f32;
    const out = new Float32Array(x.length);
    const plane = h * w;
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        const mu = m.length === 1 ? m[0] : m[ch];
        const inv = 1 / (s.length === 1 ? s[0] : s[ch]);
        const base = (i * c + ch) * plane;
        for (let k = base; k < base + plane; k++) out[k] = (x[k] - mu) * inv;
      }
    }
    return new Tensor(out, input.shape);
  };
}

/** Mirrors each image left-right with probability p (independently per sample). */
export function randomHorizontalFlip(p = 0.5, opts: RandomTransformOptions = {}): Transform {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new RangeError(`randomHorizontalFlip: p must be a probability in [0, 1], got ${p}`);
  }
  const own = checkSeed('randomHorizontalFlip', opts.seed);
  return (input, ctx) => {
    const { n, c, h, w } = imageDims('randomHorizontalFlip', input);
    const gen = pickGenerator(own, ctx);
    const x = input.f32;
    const out = new Float32Array(x);
    const sample = c * h * w;
    for (let i = 0; i < n; i++) {
      // One draw per sample even when p is 0 or 1, so the stream does not depend on p.
      if (!(gen.uniform() < p)) continue;
      for (let row = i * sample; row < (i + 1) * sample; row += w) {
        for (let k = 0; k < w; k++) out[row + k] = x[row + w - 1 - k];
      }
    }
    return new Tensor(out, input.shape);
  };
}

export interface RandomCropOptions extends RandomTransformOptions {
  /** Zeros added on every side before cropping: one number, or [vertical, horizontal]. */
  padding?: number | readonly [number, number];
}

/**
 * Pads each image with zeros, then cuts a window of `size` ([h, w] or one number for a square) at
 * a random position, independently per sample; the classic CIFAR/MNIST augmentation is
 * randomCrop(28, { padding: 2 }).
 */
export function randomCrop(
  size: number | readonly [number, number],
  opts: RandomCropOptions = {},
): Transform {
  const sz = typeof size === 'number' ? [size, size] : size;
  if (!Array.isArray(sz) || sz.length !== 2 || !sz.every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError(
      `randomCrop: size must be a positive integer or [height, width], got ${JSON.stringify(size)}`,
    );
  }
  const padArg = opts.padding ?? 0;
  const pad = typeof padArg === 'number' ? [padArg, padArg] : padArg;
  if (!Array.isArray(pad) || pad.length !== 2 || !pad.every((v) => Number.isInteger(v) && v >= 0)) {
    throw new RangeError(
      `randomCrop: opts.padding must be a non-negative integer or [vertical, horizontal], got ${JSON.stringify(opts.padding)}`,
    );
  }
  const own = checkSeed('randomCrop', opts.seed);
  const [oh, ow] = sz;
  const [py, px] = pad;
  return (input, ctx) => {
    const { n, c, h, w } = imageDims('randomCrop', input);
    if (oh > h + 2 * py || ow > w + 2 * px) {
      throw new RangeError(
        `randomCrop: crop ${oh}x${ow} is larger than the padded image ${h + 2 * py}x${w + 2 * px}`,
      );
    }
    const gen = pickGenerator(own, ctx);
    const x = input.f32;
    const out = new Float32Array(n * c * oh * ow);
    for (let i = 0; i < n; i++) {
      // Top-left corner of the window, in unpadded image coordinates.
      const y0 = gen.randint(h + 2 * py - oh + 1) - py;
      const x0 = gen.randint(w + 2 * px - ow + 1) - px;
      const xa = Math.max(0, -x0);
      const xb = Math.min(ow, w - x0);
      for (let ch = 0; ch < c; ch++) {
        const src = (i * c + ch) * h * w;
        const dst = (i * c + ch) * oh * ow;
        for (let y = 0; y < oh; y++) {
          const sy = y0 + y;
          if (sy < 0 || sy >= h || xb <= xa) continue;
          const s = src + sy * w + x0;
          out.set(x.subarray(s + xa, s + xb), dst + y * ow + xa);
        }
      }
    }
    const shape = input.ndim === 4 ? [n, c, oh, ow] : [c, oh, ow];
    return new Tensor(out, shape);
  };
}
