import { fill0, ldf, ldv, stf, stv } from './mem';

// Depthwise convolution gradients, NHWC, filter [fh, fw, C, M], output channels Q = C*M
// (output channel q = c*M + m reads input channel c), for a window of stride (sh, sw),
// dilation (dh, dw) and top/left padding (pt, pl):
//   y[n, oh, ow, q] = sum over (kh, kw) of x[n, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl, q / M] * f[kh, kw, q]
// With M = 1 the channels of x, f and dy line up, and the loops run 4 channels at a time (SIMD).

// depthwiseFilterGrad(x, dy, df, ...): df[kh, kw, q] = sum over (n, oh, ow) in that order of
// x[n, ih, iw, q / M] * dy[n, oh, ow, q], taps outside the input skipped.
export function depthwiseFilterGrad(x: i32, dy: i32, df: i32, n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32,
  mult: i32, sh: i32, sw: i32, fh: i32, fw: i32, dh: i32, dw: i32, pt: i32, pl: i32): void {
  const q = c * mult;
  fill0(df, fh * fw * q << 2);
  const vec = mult == 1 ? q & -4 : 0;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      for (let s = 0; s < ow; s++) {
        const dyRow = dy + (((b * oh + r) * ow + s) * q << 2);
        for (let kh = 0; kh < fh; kh++) {
          const ih = r * sh + kh * dh - pt;
          if (ih < 0 || ih >= h) continue;
          for (let kw = 0; kw < fw; kw++) {
            const iw = s * sw + kw * dw - pl;
            if (iw < 0 || iw >= w) continue;
            const xRow = x + (((b * h + ih) * w + iw) * c << 2);
            const dfRow = df + ((kh * fw + kw) * q << 2);
            for (let k = 0; k < vec; k += 4) {
              const o = k << 2;
              stv(dfRow + o, f32x4.add(ldv(dfRow + o), f32x4.mul(ldv(xRow + o), ldv(dyRow + o))));
            }
            for (let k = vec; k < q; k++) {
              stf(dfRow + (k << 2), ldf(dfRow + (k << 2)) + ldf(xRow + ((k / mult) << 2)) * ldf(dyRow + (k << 2)));
            }
          }
        }
      }
    }
  }
}

// depthwiseInputGrad(dy, f, dx, ...): dx[n, ih, iw, c] = sum over the output cells (oh, ow) in
// order and the taps (kh, kw) that read (ih, iw), of sum over m of dy[n, oh, ow, c*M + m] * f[kh, kw, c*M + m].
export function depthwiseInputGrad(dy: i32, f: i32, dx: i32, n: i32, h: i32, w: i32, c: i32, oh: i32, ow: i32,
  mult: i32, sh: i32, sw: i32, fh: i32, fw: i32, dh: i32, dw: i32, pt: i32, pl: i32): void {
  const q = c * mult;
  fill0(dx, n * h * w * c << 2);
  const vec = mult == 1 ? c & -4 : 0;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      for (let s = 0; s < ow; s++) {
        const dyRow = dy + (((b * oh + r) * ow + s) * q << 2);
        for (let kh = 0; kh < fh; kh++) {
          const ih = r * sh + kh * dh - pt;
          if (ih < 0 || ih >= h) continue;
          for (let kw = 0; kw < fw; kw++) {
            const iw = s * sw + kw * dw - pl;
            if (iw < 0 || iw >= w) continue;
            const dxRow = dx + (((b * h + ih) * w + iw) * c << 2);
            const fRow = f + ((kh * fw + kw) * q << 2);
            for (let k = 0; k < vec; k += 4) {
              const o = k << 2;
              stv(dxRow + o, f32x4.add(ldv(dxRow + o), f32x4.mul(ldv(dyRow + o), ldv(fRow + o))));
            }
            for (let ch = vec; ch < c; ch++) {
              let sum: f32 = 0;
              for (let m = 0; m < mult; m++) {
                const at = (ch * mult + m) << 2;
                sum += ldf(dyRow + at) * ldf(fRow + at);
              }
              stf(dxRow + (ch << 2), ldf(dxRow + (ch << 2)) + sum);
            }
          }
        }
      }
    }
  }
}
