import { ldf, ldv, madd, stf, stv } from './mem';

// tanh and sigmoid over float32 tensors, 4 lanes at a time. The stock wasm kernels call libm per
// element (~8 ns each, a quarter of a classic LeNet's step); these are the Cephes single-precision
// formulas (relative error ~2e-7, far inside the 1e-4 the gradient checks allow), branch-free
// per lane.

// e^x for x in [-88, 88] (callers clamp, with pmin/pmax: one x86 instruction each where min/max's NaN and
// signed-zero rules take eight; the same values for these arguments, NaN kept): x = n*ln2 + r, |r| <= ln2/2,
// e^r - 1 = r + r^2 P(r) (Cephes expf's degree-5 P), 2^n by building the float's exponent bits, then
// e^x = 2^n + 2^n (e^r - 1). n = x/ln2 rounded to the nearest (ties to even, as f32x4.nearest) by adding
// and subtracting 1.5 * 2^23, whose float then holds n in its low bits: cheaper than nearest +
// i32x4.trunc_sat_f32x4_s (V8 expands the latter to ~8 instructions). Every step is a madd: in the
// relaxed-SIMD build a fused multiply-add, which halves the instructions and the polynomial's latency
// chain (the loops over these functions are bound by that chain).
const ROUND_SHIFT: f32 = 12582912;

// x/ln2 + 1.5 * 2^23: n in the float's low bits.
@inline
function expShifted(x: v128): v128 {
  return madd(f32x4.splat(ROUND_SHIFT), x, f32x4.splat(1.44269504088896341));
}

// r = x - n ln2, ln2 in two parts (Cody and Waite) so that r keeps its low bits.
@inline
function expReduced(x: v128, shifted: v128): v128 {
  const n = f32x4.sub(shifted, f32x4.splat(ROUND_SHIFT));
  return madd(madd(x, n, f32x4.splat(-0.693359375)), n, f32x4.splat(2.12194440e-4));
}

// e^r - 1 for |r| <= ln2/2, without forming 1 + ...: no cancellation for small r.
@inline
function expm1Reduced(r: v128): v128 {
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(f32x4.splat(1.3981999507e-3), p, r);
  p = madd(f32x4.splat(8.3334519073e-3), p, r);
  p = madd(f32x4.splat(4.1665795894e-2), p, r);
  p = madd(f32x4.splat(1.6666665459e-1), p, r);
  p = madd(f32x4.splat(5.0000001201e-1), p, r);
  return madd(r, p, f32x4.mul(r, r));
}

// 2^n from expShifted's result: its bits are 0x4B400000 + n; shifted left 23, the 0x4B400000 part is gone.
@inline
function pow2(shifted: v128): v128 {
  return i32x4.shl(i32x4.add(shifted, i32x4.splat(127)), 23);
}

@inline
export function exp4(x: v128): v128 {
  const shifted = expShifted(x);
  const scale = pow2(shifted);
  return madd(scale, scale, expm1Reduced(expReduced(x, shifted)));
}

// e^x - 1 for x in [-88, 88] (callers clamp): 2^n (e^r - 1) + (2^n - 1), accurate near 0 (n = 0: e^r - 1
// itself) and without a second polynomial for small x. 2^n - 1 is exact for the n that matter (n >= -24).
@inline
export function expm14(x: v128): v128 {
  const shifted = expShifted(x);
  const scale = pow2(shifted);
  return madd(f32x4.sub(scale, f32x4.splat(1)), scale, expm1Reduced(expReduced(x, shifted)));
}

// tanh: |x| < 0.625: x + x^3 * P(x^2); else sign(x) * (1 - 2 / (e^(2|x|) + 1)), 2|x| clamped to 88
// (tanh is 1 in float32 long before).
@inline
export function tanh4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = madd(f32x4.splat(2.06390887954e-2), p, z);
  p = madd(f32x4.splat(-5.37397155531e-2), p, z);
  p = madd(f32x4.splat(1.33314422036e-1), p, z);
  p = madd(f32x4.splat(-3.33332819422e-1), p, z);
  const small = madd(x, f32x4.mul(p, z), x);
  const e = exp4(f32x4.pmin(f32x4.add(ax, ax), f32x4.splat(88)));
  const big = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
  // Sign of x onto |tanh|: big is >= 0.
  const signed = v128.or(big, v128.and(x, f32x4.splat(-0.0)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.625)));
}

// sigmoid(x) = 1 / (1 + e^-x), -x clamped to [-88, 88] (sigmoid is 0 or 1 in float32 beyond).
@inline
export function sigmoid4(x: v128): v128 {
  const e = exp4(f32x4.pmax(f32x4.pmin(f32x4.neg(x), f32x4.splat(88)), f32x4.splat(-88)));
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), e));
}

@inline
function map(x: i32, out: i32, n: i32, TANH: bool): void {
  const n4 = n & -4;
  for (let i = 0; i < n4; i += 4) {
    const v = ldv(x + (i << 2));
    stv(out + (i << 2), TANH ? tanh4(v) : sigmoid4(v));
  }
  // The last 1-3 elements through the same lanes, so every element gets the same formula.
  for (let i = n4; i < n; i++) {
    const v = f32x4.splat(ldf(x + (i << 2)));
    stf(out + (i << 2), f32x4.extract_lane(TANH ? tanh4(v) : sigmoid4(v), 0));
  }
}

export function tanhMap(x: i32, out: i32, n: i32): void {
  map(x, out, n, true);
}

export function sigmoidMap(x: i32, out: i32, n: i32): void {
  map(x, out, n, false);
}

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
