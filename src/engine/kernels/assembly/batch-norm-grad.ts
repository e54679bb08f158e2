import { fill0, ldf, ldv, stf, stv } from './mem';

// Batch normalization's training-mode gradients over a [rows, C] tensor (every axis but the last
// reduced), in closed form for tfjs-layers' arithmetic y = gamma * (x - mean) / sqrt(var + eps) + beta
// with the batch's mean and biased variance:
//   dbeta = sum dy;  dgamma = sum dy * xhat;  dx = gamma / sqrt(var + eps) * (dy - (dbeta + xhat * dgamma) / m)
// Passes over the rows, channels 4 at a time, each reducing in row order as tfjs's Mean and Sum kernels
// here do (the statistics as tf.moments computes them: the mean, then the mean of squared deviations).
// Where tfjs ops took ~12 kernel calls and as many full-size temporaries, these read x and dy a few
// times and write dx once.

// acc[c] (+)= f(row) over all rows, for the column loops below.
@inline
function columnPass(x: i32, dy: i32, acc: i32, mean: i32, inv: i32, rows: i32, cols: i32, KIND: i32): void {
  const c4 = cols & -4;
  let p = x;
  let q = dy;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < c4; c += 4) {
      const k = c << 2;
      const a = acc + k;
      if (KIND === 0) stv(a, f32x4.add(ldv(a), ldv(p)));
      if (KIND === 1) {
        const d = f32x4.sub(ldv(p), ldv(mean + k));
        stv(a, f32x4.add(ldv(a), f32x4.mul(d, d)));
      }
      if (KIND === 2) {
        const g = ldv(q);
        stv(a, f32x4.add(ldv(a), g));
        const xhat = f32x4.mul(f32x4.sub(ldv(p), ldv(mean + k)), ldv(inv + k));
        stv(a + (cols << 2), f32x4.add(ldv(a + (cols << 2)), f32x4.mul(g, xhat)));
      }
      p += 16;
      q += 16;
    }
    for (let c = c4; c < cols; c++) {
      const k = c << 2;
      const a = acc + k;
      if (KIND === 0) stf(a, ldf(a) + ldf(p));
      if (KIND === 1) {
        const d = ldf(p) - ldf(mean + k);
        stf(a, ldf(a) + d * d);
      }
      if (KIND === 2) {
        const g = ldf(q);
        stf(a, ldf(a) + g);
        const xhat = (ldf(p) - ldf(mean + k)) * ldf(inv + k);
        stf(a + (cols << 2), ldf(a + (cols << 2)) + g * xhat);
      }
      p += 4;
      q += 4;
    }
  }
}

// The statistics and gradient sums of rows [0, rows) of x (a shard of the batch: the caller offsets x and
// dy), each into `out` (zeroed here); the caller combines the shards' sums in shard order, the same
// order on one replica and on several, so that every replica gets the same bits as one would.
//   batchNormSums:     out[c] = sum x
//   batchNormSquares:  out[c] = sum (x - mean)^2
//   batchNormGradSums: out[c] = sum dy, out[C + c] = sum dy * xhat, xhat = (x - mean) * inv
export function batchNormSums(x: i32, out: i32, rows: i32, cols: i32): void {
  fill0(out, cols << 2);
  columnPass(x, 0, out, 0, 0, rows, cols, 0);
}

export function batchNormSquares(x: i32, mean: i32, out: i32, rows: i32, cols: i32): void {
  fill0(out, cols << 2);
  columnPass(x, 0, out, mean, 0, rows, cols, 1);
}

export function batchNormGradSums(x: i32, dy: i32, mean: i32, inv: i32, out: i32, rows: i32, cols: i32): void {
  fill0(out, cols << 3);
  columnPass(x, dy, out, mean, inv, rows, cols, 2);
}

// dx = scale * (dy - (dbeta + xhat * dgamma) / rows) over rows [0, rows): sums = [dbeta | dgamma] of the whole
// batch, divided by this shard's rows (see src/engine/direct/batch-norm.ts for the units).
export function batchNormGradApply(x: i32, dy: i32, mean: i32, inv: i32, scale: i32, sums: i32, dx: i32, rows: i32,
  cols: i32): void {
  const m = <f32>rows;
  const dbeta = sums;
  const dgamma = sums + (cols << 2);
  const c4 = cols & -4;
  const mv = f32x4.splat(m);
  let p = x;
  let q = dy;
  let o = dx;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < c4; c += 4) {
      const k = c << 2;
      const xhat = f32x4.mul(f32x4.sub(ldv(p), ldv(mean + k)), ldv(inv + k));
      const t = f32x4.div(f32x4.add(ldv(dbeta + k), f32x4.mul(xhat, ldv(dgamma + k))), mv);
      stv(o, f32x4.mul(f32x4.sub(ldv(q), t), ldv(scale + k)));
      p += 16;
      q += 16;
      o += 16;
    }
    for (let c = c4; c < cols; c++) {
      const k = c << 2;
      const xhat = (ldf(p) - ldf(mean + k)) * ldf(inv + k);
      stf(o, (ldf(q) - (ldf(dbeta + k) + xhat * ldf(dgamma + k)) / m) * ldf(scale + k));
      p += 4;
      q += 4;
      o += 4;
    }
  }
}
