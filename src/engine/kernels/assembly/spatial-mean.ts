import { fill0, ldf, ldv, stf, stv } from './mem';

// Global average pooling over NHWC viewed as [N, P, C] (P = H*W), for the direct step:
//   spatialMean:     out[n, c] = (sum over p of x[n, p, c]) / P        (tfjs's mean over axes 1 and 2)
//   spatialMeanGrad: dx[n, p, c] = dy[n, c] / P                         (tfjs's mean gradient)
// Channels 4 at a time, the last C % 4 one by one.

export function spatialMean(x: i32, out: i32, N: i32, P: i32, C: i32): void {
  const c4 = C & -4;
  const div = <f32>P;
  fill0(out, (N * C) << 2);
  for (let n = 0; n < N; n++) {
    const o = out + ((n * C) << 2);
    let src = x + ((n * P * C) << 2);
    for (let p = 0; p < P; p++) {
      for (let c = 0; c < c4; c += 4) stv(o + (c << 2), f32x4.add(ldv(o + (c << 2)), ldv(src + (c << 2))));
      for (let c = c4; c < C; c++) stf(o + (c << 2), ldf(o + (c << 2)) + ldf(src + (c << 2)));
      src += C << 2;
    }
    for (let c = 0; c < C; c++) stf(o + (c << 2), ldf(o + (c << 2)) / div);
  }
}

export function spatialMeanGrad(dy: i32, dx: i32, N: i32, P: i32, C: i32): void {
  const c4 = C & -4;
  const div = f32x4.splat(<f32>P);
  for (let n = 0; n < N; n++) {
    const g = dy + ((n * C) << 2);
    let dst = dx + ((n * P * C) << 2);
    for (let p = 0; p < P; p++) {
      for (let c = 0; c < c4; c += 4) stv(dst + (c << 2), f32x4.div(ldv(g + (c << 2)), div));
      for (let c = c4; c < C; c++) stf(dst + (c << 2), ldf(g + (c << 2)) / <f32>P);
      dst += C << 2;
    }
  }
}
