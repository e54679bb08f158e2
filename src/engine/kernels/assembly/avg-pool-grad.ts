import { fill0, ldf, ldv, stf, stv } from './mem';

// avgPoolGrad(dy, dx, N, H, W, C, OH, OW, sh, sw, fh, fw, padT, padL, mult): the average-pooling
// input gradient as tfjs's cpu backend defines it: dx[cell] = (sum of dy over the windows that
// contain the cell) * mult, mult = 1 / (fh * fw) (the full window size, padding included, as tfjs
// does), so first every window adds its dy into its in-bounds cells (channels 4 at a time), then
// one pass scales. Non-overlapping windows give cpu's bits; overlapping ones add the same terms
// in another order.
export function avgPoolGrad(dy: i32, dx: i32, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, fh: i32, fw: i32, padT: i32, padL: i32, mult: f32): void {
  const total = N * H * W * C;
  fill0(dx, total << 2);
  const c4 = C & -4;
  let src = dy;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = max(oh * sh - padT, 0);
      const h1 = min(oh * sh - padT + fh, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = max(ow * sw - padL, 0);
        const w1 = min(ow * sw - padL + fw, W);
        for (let h = h0; h < h1; h++) {
          for (let w = w0; w < w1; w++) {
            let dst = dx + ((((n * H + h) * W + w) * C) << 2);
            let s = src;
            for (let c = 0; c < c4; c += 4) {
              stv(dst, f32x4.add(ldv(dst), ldv(s)));
              dst += 16;
              s += 16;
            }
            for (let c = c4; c < C; c++) {
              stf(dst, ldf(dst) + ldf(s));
              dst += 4;
              s += 4;
            }
          }
        }
        src += C << 2;
      }
    }
  }
  const t4 = total & -4;
  const m = f32x4.splat(mult);
  for (let i = 0; i < t4; i += 4) stv(dx + (i << 2), f32x4.mul(ldv(dx + (i << 2)), m));
  for (let i = t4; i < total; i++) stf(dx + (i << 2), ldf(dx + (i << 2)) * mult);
}
