import { fill0, ldf, ldv, stf, stv } from './mem';

// columnSum(x, out, rows, cols): out[c] = sum over r of x[r*cols + c], rows in order
// (bias gradients: reduce all leading axes of a [rows, cols] tensor).
export function columnSum(x: i32, out: i32, rows: i32, cols: i32): void {
  fill0(out, cols << 2);
  const vecCols = cols & -4;
  let p = x;
  for (let r = 0; r < rows; r++) {
    let q = out;
    for (let c = 0; c < vecCols; c += 4) {
      stv(q, f32x4.add(ldv(q), ldv(p)));
      p += 16;
      q += 16;
    }
    for (let c = vecCols; c < cols; c++) {
      stf(q, ldf(q) + ldf(p));
      p += 4;
      q += 4;
    }
  }
}

// addRowVector(x, b, out, rows, cols): out[r*cols + c] = x[r*cols + c] + b[c] (bias add).
export function addRowVector(x: i32, b: i32, out: i32, rows: i32, cols: i32): void {
  const vecCols = cols & -4;
  let p = x;
  let o = out;
  for (let r = 0; r < rows; r++) {
    let q = b;
    for (let c = 0; c < vecCols; c += 4) {
      stv(o, f32x4.add(ldv(p), ldv(q)));
      p += 16;
      q += 16;
      o += 16;
    }
    for (let c = vecCols; c < cols; c++) {
      stf(o, ldf(p) + ldf(q));
      p += 4;
      q += 4;
      o += 4;
    }
  }
}

// reluBackward(dy, y, dx, n): dx[i] = y[i] > 0 ? dy[i] : 0, the ReLU gradient from its output
// (dx may be dy: in place).
export function reluBackward(dy: i32, y: i32, dx: i32, n: i32): void {
  const n4 = n & -4;
  const zero = f32x4.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const off = i << 2;
    stv(dx + off, v128.and(ldv(dy + off), f32x4.gt(ldv(y + off), zero)));
  }
  for (let i = n4; i < n; i++) {
    const off = i << 2;
    stf(dx + off, select<f32>(ldf(dy + off), 0, ldf(y + off) > 0));
  }
}

// mulRowVector(x, b, out, rows, cols): out[r*cols + c] = x[r*cols + c] * b[c] (per-channel scale).
export function mulRowVector(x: i32, b: i32, out: i32, rows: i32, cols: i32): void {
  const vecCols = cols & -4;
  let p = x;
  let o = out;
  for (let r = 0; r < rows; r++) {
    let q = b;
    for (let c = 0; c < vecCols; c += 4) {
      stv(o, f32x4.mul(ldv(p), ldv(q)));
      p += 16;
      q += 16;
      o += 16;
    }
    for (let c = vecCols; c < cols; c++) {
      stf(o, ldf(p) * ldf(q));
      p += 4;
      q += 4;
      o += 4;
    }
  }
}

// subRowVector(x, b, out, rows, cols): out[r*cols + c] = x[r*cols + c] - b[c] (centring by a
// per-channel mean).
export function subRowVector(x: i32, b: i32, out: i32, rows: i32, cols: i32): void {
  const vecCols = cols & -4;
  let p = x;
  let o = out;
  for (let r = 0; r < rows; r++) {
    let q = b;
    for (let c = 0; c < vecCols; c += 4) {
      stv(o, f32x4.sub(ldv(p), ldv(q)));
      p += 16;
      q += 16;
      o += 16;
    }
    for (let c = vecCols; c < cols; c++) {
      stf(o, ldf(p) - ldf(q));
      p += 4;
      q += 4;
      o += 4;
    }
  }
}

// affineRowVector(x, m, a, b, out, rows, cols): out[r*cols + c] = (x[r*cols + c] - m[c]) * a[c] + b[c]
// (batch normalization with per-channel mean m, scale a = gamma / sqrt(var + eps), offset b).
export function affineRowVector(x: i32, m: i32, a: i32, b: i32, out: i32, rows: i32, cols: i32): void {
  const vecCols = cols & -4;
  let p = x;
  let o = out;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < vecCols; c += 4) {
      const k = c << 2;
      stv(o, f32x4.add(f32x4.mul(f32x4.sub(ldv(p), ldv(m + k)), ldv(a + k)), ldv(b + k)));
      p += 16;
      o += 16;
    }
    for (let c = vecCols; c < cols; c++) {
      const k = c << 2;
      stf(o, (ldf(p) - ldf(m + k)) * ldf(a + k) + ldf(b + k));
      p += 4;
      o += 4;
    }
  }
}
