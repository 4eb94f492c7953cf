/**
 * im2col / col2im for one image and one group of channels.
 *
 * The column matrix has K = channels * KH * KW rows and P = OH * OW columns:
 * col[(c * KH + kh) * KW + kw, oh * OW + ow] = x[c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw]
 * (zero where that falls into padding). For each kernel column the range of ow that lands
 * inside the image is computed once, so the inner loops carry no bounds tests.
 */
import type { Conv2dGeometry } from '../kernels.js';

/** The first ow in [0, outW] with ow*sw + off >= 0. */
function validLo(off: number, sw: number, outW: number): number {
  return Math.min(outW, Math.max(0, Math.ceil(-off / sw)));
}

/** One past the last ow in [lo, outW] with ow*sw + off < width. */
function validHi(lo: number, off: number, sw: number, width: number, outW: number): number {
  return Math.max(lo, Math.min(outW, Math.floor((width - 1 - off) / sw) + 1));
}

/** Fills col[0 .. K*P) from channels [c0, c0 + channels) of x's image starting at xOff. */
export function im2col(
  g: Conv2dGeometry,
  x: Float32Array,
  xOff: number,
  channels: number,
  col: Float32Array,
): void {
  const { inHeight: H, inWidth: W, kernelH: KH, kernelW: KW, outHeight: OH, outWidth: OW } = g;
  const { strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw } = g;
  const HW = H * W;
  let dst = 0;
  for (let c = 0; c < channels; c++) {
    const plane = xOff + c * HW;
    for (let kh = 0; kh < KH; kh++) {
      const hOff = kh * dh - ph;
      for (let kw = 0; kw < KW; kw++) {
        const wOff = kw * dw - pw;
        const lo = validLo(wOff, sw, OW);
        const hi = validHi(lo, wOff, sw, W, OW);
        for (let oh = 0; oh < OH; oh++, dst += OW) {
          const ih = oh * sh + hOff;
          if (ih < 0 || ih >= H) {
            col.fill(0, dst, dst + OW);
            continue;
          }
          for (let ow = 0; ow < lo; ow++) col[dst + ow] = 0;
          const src = plane + ih * W + wOff;
          if (sw === 1) {
            for (let ow = lo; ow < hi; ow++) col[dst + ow] = x[src + ow];
          } else {
            for (let ow = lo; ow < hi; ow++) col[dst + ow] = x[src + ow * sw];
          }
          for (let ow = hi; ow < OW; ow++) col[dst + ow] = 0;
        }
      }
    }
  }
}

/** Adds col[0 .. K*P) back into channels of dx's image starting at dxOff (the adjoint of im2col). */
export function col2imAdd(
  g: Conv2dGeometry,
  col: Float32Array,
  channels: number,
  dx: Float32Array,
  dxOff: number,
): void {
  const { inHeight: H, inWidth: W, kernelH: KH, kernelW: KW, outHeight: OH, outWidth: OW } = g;
  const { strideH: sh, strideW: sw, padH: ph, padW: pw, dilationH: dh, dilationW: dw } = g;
  const HW = H * W;
  let src = 0;
  for (let c = 0; c < channels; c++) {
    const plane = dxOff + c * HW;
    for (let kh = 0; kh < KH; kh++) {
      const hOff = kh * dh - ph;
      for (let kw = 0; kw < KW; kw++) {
        const wOff = kw * dw - pw;
        const lo = validLo(wOff, sw, OW);
        const hi = validHi(lo, wOff, sw, W, OW);
        for (let oh = 0; oh < OH; oh++, src += OW) {
          const ih = oh * sh + hOff;
          if (ih < 0 || ih >= H) continue;
          const dst = plane + ih * W + wOff;
          if (sw === 1) {
            for (let ow = lo; ow < hi; ow++) dx[dst + ow] += col[src + ow];
          } else {
            for (let ow = lo; ow < hi; ow++) dx[dst + ow * sw] += col[src + ow];
          }
        }
      }
    }
  }
}
