/**
 * A small PNG decoder for `convnet predict`: 8-bit (and 16-bit) grayscale, gray+alpha, RGB, RGBA and
 * palette images, non-interlaced. Pixels come back as grayscale in [0, 1].
 */
import zlib from 'node:zlib';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

export interface GrayImage {
  width: number;
  height: number;
  /** Row-major luminance in [0, 1]. */
  data: Float32Array;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodePng(bytes: Uint8Array, name = 'PNG'): GrayImage {
  const fail = (why: string): never => {
    throw new Error(`decodePng: ${name}: ${why}`);
  };
  if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v))
    fail('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let bitDepth = 0;
  let colorType = -1;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const start = pos + 8;
    if (start + len + 4 > bytes.length) fail(`truncated ${type} chunk`);
    const body = bytes.subarray(start, start + len);
    if (type === 'IHDR') {
      width = view.getUint32(start);
      height = view.getUint32(start + 4);
      bitDepth = bytes[start + 8];
      colorType = bytes[start + 9];
      if (bytes[start + 12] !== 0) fail('interlaced PNGs are not supported');
    } else if (type === 'PLTE') {
      palette = body;
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      break;
    }
    pos = start + len + 4;
  }
  if (width === 0 || height === 0) fail('missing or empty IHDR');
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (channels === undefined) fail(`unsupported colour type ${colorType}`);
  if (bitDepth !== 8 && !(bitDepth === 16 && colorType !== 3))
    fail(`unsupported bit depth ${bitDepth}`);
  if (colorType === 3 && palette === null) fail('palette image without a PLTE chunk');
  let raw: Uint8Array;
  try {
    raw = zlib.inflateSync(Buffer.concat(idat));
  } catch (e) {
    return fail(`corrupt image data (${(e as Error).message})`);
  }
  const bpp = channels * (bitDepth / 8);
  const stride = width * bpp;
  if (raw.length < height * (stride + 1)) fail('image data is shorter than its dimensions');
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : null;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? row[x - bpp] : 0;
      const b = prev ? prev[x] : 0;
      const c = prev && x >= bpp ? prev[x - bpp] : 0;
      let v = src[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) v += paeth(a, b, c);
      else if (filter !== 0) fail(`bad filter type ${filter} on row ${y}`);
      row[x] = v & 255;
    }
  }
  const out = new Float32Array(width * height);
  const sample = (i: number): number => (bitDepth === 16 ? pixels[i * 2] : pixels[i]);
  for (let p = 0; p < width * height; p++) {
    let r: number;
    let g: number;
    let b: number;
    let alpha = 255;
    if (colorType === 3) {
      const idx = pixels[p] * 3;
      [r, g, b] = [palette![idx] ?? 0, palette![idx + 1] ?? 0, palette![idx + 2] ?? 0];
    } else if (channels <= 2) {
      r = g = b = sample(p * channels);
      if (channels === 2) alpha = sample(p * 2 + 1);
    } else {
      r = sample(p * channels);
      g = sample(p * channels + 1);
      b = sample(p * channels + 2);
      if (channels === 4) alpha = sample(p * 4 + 3);
    }
    out[p] = ((0.299 * r + 0.587 * g + 0.114 * b) / 255) * (alpha / 255);
  }
  return { width, height, data: out };
}

/** Bilinear resize of a grayscale image. */
export function resizeGray(img: GrayImage, width: number, height: number): GrayImage {
  if (img.width === width && img.height === height) return img;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.max(0, ((y + 0.5) * img.height) / height - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(img.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.max(0, ((x + 0.5) * img.width) / width - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(img.width - 1, x0 + 1);
      const fx = sx - x0;
      const d = img.data;
      out[y * width + x] =
        (1 - fy) * ((1 - fx) * d[y0 * img.width + x0] + fx * d[y0 * img.width + x1]) +
        fy * ((1 - fx) * d[y1 * img.width + x0] + fx * d[y1 * img.width + x1]);
    }
  }
  return { width, height, data: out };
}
