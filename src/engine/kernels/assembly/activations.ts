import { ldf, ldv, stf, stv } from './mem';

// The direct step's relu layers (activation relu/relu6, the relu layer with or without maxValue), on the heap:
//   clampedRelu:     y = min(max(x, 0), cap)                    (cap = +Infinity for plain relu)
//   clampedReluGrad: dx = dy where 0 < x <= cap, else 0         (tfjs's relu, relu6 and clipByValue gradients)
// Four elements at a time, the last n % 4 one by one.

export function clampedRelu(x: i32, y: i32, n: i32, cap: f32): void {
  const zero = f32x4.splat(0);
  const capV = f32x4.splat(cap);
  const n4 = n & -4;
  for (let i = 0; i < n4; i += 4) {
    const o = i << 2;
    stv(y + o, f32x4.min(f32x4.max(ldv(x + o), zero), capV));
  }
  for (let i = n4; i < n; i++) {
    const o = i << 2;
    const v = ldf(x + o);
    stf(y + o, Mathf.min(Mathf.max(v, 0), cap));
  }
}

export function clampedReluGrad(dy: i32, x: i32, dx: i32, n: i32, cap: f32): void {
  const zero = f32x4.splat(0);
  const capV = f32x4.splat(cap);
  const n4 = n & -4;
  for (let i = 0; i < n4; i += 4) {
    const o = i << 2;
    const xv = ldv(x + o);
    stv(dx + o, v128.and(ldv(dy + o), v128.and(f32x4.gt(xv, zero), f32x4.le(xv, capV))));
  }
  for (let i = n4; i < n; i++) {
    const o = i << 2;
    const v = ldf(x + o);
    stf(dx + o, v > 0 && v <= cap ? ldf(dy + o) : 0);
  }
}
