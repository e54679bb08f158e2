import { exp4, expm14, sigmoid4, tanh4 } from './activations';
import { ldf, ldv, madd, stf, stv } from './mem';

// Every activation tfjs-layers 4.22 has, forward and gradient, over float32 tensors 4 lanes at a
// time, for the direct training step (src/engine/direct/activations.ts calls them by name).
// The forward formulas are tfjs's own (tfjs-layers activations.js and the cpu backend's kernels:
// its selu and erf constants, hardSigmoid's 0.2x + 0.5, softplus' cut-offs); the gradients are
// the ones tfjs's tape gives, written in closed form:
//   from the output y: relu, relu6, elu, selu, tanh, sigmoid (so the forward may run in place);
//   from the input x:  hardSigmoid, softplus, softsign, swish, mish, gelu, gelu_new.
const LINEAR = 0;
const RELU = 1;
const RELU6 = 2;
const ELU = 3;
const SELU = 4;
const TANH = 5;
const SIGMOID = 6;
const HARD_SIGMOID = 7;
const SOFTPLUS = 8;
const SOFTSIGN = 9;
const SWISH = 10;
const MISH = 11;
const GELU = 12;
const GELU_NEW = 13;

const SELU_SCALE: f32 = 1.0507009873554804934193349852946;
const SELU_SCALE_ALPHA: f32 = 1.7580993408473768599402175208123;
const SQRT2: f32 = 1.4142135623730951;
// 1 / sqrt(2 pi): the normal density's factor in gelu's gradient.
const INV_SQRT_2PI: f32 = 0.3989422804014327;
// gelu_new: sqrt(2 / pi) and the cubic's coefficient.
const GELU_C: f32 = 0.7978845608028654;
const GELU_K: f32 = 0.044715;

@inline function sp(v: f32): v128 { return f32x4.splat(v); }

// ln x for positive normal x (Cephes logf): x = m * 2^e with m in [sqrt(1/2), sqrt(2)), ln(m) by
// a degree-9 polynomial in m - 1.
@inline
function log4(x: v128): v128 {
  let e = i32x4.sub(i32x4.shr_s(x, 23), i32x4.splat(126));
  let m = v128.or(v128.and(x, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  const low = f32x4.lt(m, sp(0.707106781186547524));
  e = i32x4.add(e, low);
  m = v128.bitselect(f32x4.sub(f32x4.add(m, m), sp(1)), f32x4.sub(m, sp(1)), low);
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(m, m);
  let p = sp(7.0376836292e-2);
  p = madd(sp(-1.151461031e-1), p, m);
  p = madd(sp(1.167699874e-1), p, m);
  p = madd(sp(-1.2420140846e-1), p, m);
  p = madd(sp(1.4249322787e-1), p, m);
  p = madd(sp(-1.6668057665e-1), p, m);
  p = madd(sp(2.0000714765e-1), p, m);
  p = madd(sp(-2.4999993993e-1), p, m);
  p = madd(sp(3.3333331174e-1), p, m);
  let y = f32x4.mul(f32x4.mul(p, m), z);
  y = f32x4.add(y, f32x4.mul(fe, sp(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, sp(0.5)));
  return f32x4.add(f32x4.add(m, y), f32x4.mul(fe, sp(0.693359375)));
}

// softplus(x) = max(x, 0) + ln(1 + e^-|x|), ln(1 + u) as ln(w) * u / (w - 1), w = 1 + u (exact
// where u is below float32's resolution at 1). tfjs cuts off at |x| > 13.94 (x, or e^x): the
// same values to the last bit or so.
@inline
function softplus4(x: v128): v128 {
  const u = exp4(f32x4.pmax(f32x4.neg(f32x4.abs(x)), sp(-88)));
  const w = f32x4.add(sp(1), u);
  const d = f32x4.sub(w, sp(1));
  const l = v128.bitselect(u, f32x4.div(f32x4.mul(log4(w), u), d), f32x4.eq(d, sp(0)));
  return f32x4.add(f32x4.pmax(x, sp(0)), l);
}

// tanh(softplus(x)) in closed form: with u = e^x, (1 + u)^2 = e^(2 softplus), so tanh = n / (n + 2),
// n = u (u + 2): one exponential and one division where tanh of softplus takes three exponentials, a
// logarithm and two divisions. x is clamped to 20 for u, where n / (n + 2) is already 1 in float32.
const MISH_CLAMP: f32 = 20;

@inline
function tanhSoftplus4(x: v128): v128 {
  const u = exp4(f32x4.pmax(f32x4.pmin(x, sp(MISH_CLAMP)), sp(-88)));
  const n = f32x4.mul(u, f32x4.add(u, sp(2)));
  return f32x4.div(n, f32x4.add(n, sp(2)));
}

// erf by tfjs's formula (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), the sign of x put back.
@inline
function erf4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const t = f32x4.div(sp(1), f32x4.add(sp(1), f32x4.mul(sp(0.3275911), ax)));
  let p = sp(1.061405429);
  p = madd(sp(-1.453152027), p, t);
  p = madd(sp(1.421413741), p, t);
  p = madd(sp(-0.284496736), p, t);
  p = madd(sp(0.254829592), p, t);
  p = f32x4.mul(p, t);
  const e = exp4(f32x4.pmax(f32x4.neg(f32x4.mul(ax, ax)), sp(-88)));
  const r = f32x4.sub(sp(1), f32x4.mul(p, e));
  return v128.or(r, v128.and(x, sp(-0.0)));
}

// gelu_new's tanh argument: sqrt(2/pi) * (x + 0.044715 x^3).
@inline
function geluNewArg(x: v128): v128 {
  const x3 = f32x4.mul(f32x4.mul(x, x), x);
  return f32x4.mul(sp(GELU_C), f32x4.add(x, f32x4.mul(sp(GELU_K), x3)));
}

@inline
function forward4(K: i32, x: v128): v128 {
  const zero = sp(0);
  if (K == RELU) return f32x4.max(x, zero);
  if (K == RELU6) return f32x4.min(f32x4.max(x, zero), sp(6));
  if (K == ELU) return v128.bitselect(x, expm14(f32x4.pmin(x, zero)), f32x4.ge(x, zero));
  if (K == SELU)
    return v128.bitselect(
      f32x4.mul(x, sp(SELU_SCALE)),
      f32x4.mul(expm14(f32x4.pmin(x, zero)), sp(SELU_SCALE_ALPHA)),
      f32x4.ge(x, zero),
    );
  if (K == TANH) return tanh4(x);
  if (K == SIGMOID) return sigmoid4(x);
  if (K == HARD_SIGMOID) return f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(x, sp(0.2)), sp(0.5)), zero), sp(1));
  if (K == SOFTPLUS) return softplus4(x);
  if (K == SOFTSIGN) return f32x4.div(x, f32x4.add(f32x4.abs(x), sp(1)));
  if (K == SWISH) return f32x4.mul(sigmoid4(x), x);
  if (K == MISH) return f32x4.mul(x, tanhSoftplus4(x));
  if (K == GELU) return f32x4.mul(x, f32x4.mul(sp(0.5), f32x4.add(sp(1), erf4(f32x4.div(x, sp(SQRT2))))));
  if (K == GELU_NEW) return f32x4.mul(sp(0.5), f32x4.mul(x, f32x4.add(sp(1), tanh4(geluNewArg(x)))));
  return x;
}

// d activation / d x at x (or at the output y), times dy.
@inline
function backward4(K: i32, dy: v128, x: v128, y: v128): v128 {
  const zero = sp(0);
  const one = sp(1);
  if (K == RELU) return v128.and(dy, f32x4.gt(y, zero));
  if (K == RELU6) return v128.and(dy, v128.and(f32x4.gt(y, zero), f32x4.lt(y, sp(6))));
  if (K == ELU) return v128.bitselect(dy, f32x4.mul(dy, f32x4.add(y, one)), f32x4.ge(y, zero));
  if (K == SELU)
    return v128.bitselect(
      f32x4.mul(dy, sp(SELU_SCALE)),
      f32x4.mul(dy, f32x4.add(y, sp(SELU_SCALE_ALPHA))),
      f32x4.gt(y, zero),
    );
  if (K == TANH) return f32x4.mul(dy, f32x4.sub(one, f32x4.mul(y, y)));
  if (K == SIGMOID) return f32x4.mul(dy, f32x4.mul(y, f32x4.sub(one, y)));
  if (K == HARD_SIGMOID) {
    const p = f32x4.add(f32x4.mul(x, sp(0.2)), sp(0.5));
    return v128.and(f32x4.mul(dy, sp(0.2)), v128.and(f32x4.ge(p, zero), f32x4.le(p, one)));
  }
  if (K == SOFTPLUS) return f32x4.mul(dy, sigmoid4(x));
  if (K == SOFTSIGN) {
    const a = f32x4.add(f32x4.abs(x), one);
    return f32x4.div(dy, f32x4.mul(a, a));
  }
  if (K == SWISH) {
    const s = sigmoid4(x);
    return f32x4.mul(dy, f32x4.add(s, f32x4.mul(x, f32x4.mul(s, f32x4.sub(one, s)))));
  }
  if (K == MISH) {
    // 1 - t^2 = r (2 - r) with r = 1 - t = 2 / (n + 2): no cancellation where t is near 1.
    const u = exp4(f32x4.pmax(f32x4.pmin(x, sp(MISH_CLAMP)), sp(-88)));
    const n = f32x4.mul(u, f32x4.add(u, sp(2)));
    const d = f32x4.div(one, f32x4.add(n, sp(2)));
    const r = f32x4.add(d, d);
    const dt = f32x4.mul(f32x4.mul(r, f32x4.sub(sp(2), r)), f32x4.div(u, f32x4.add(one, u)));
    return f32x4.mul(dy, madd(f32x4.mul(n, d), x, dt));
  }
  if (K == GELU) {
    const cdf = f32x4.mul(sp(0.5), f32x4.add(one, erf4(f32x4.div(x, sp(SQRT2)))));
    const pdf = f32x4.mul(sp(INV_SQRT_2PI), exp4(f32x4.pmax(f32x4.mul(f32x4.mul(x, x), sp(-0.5)), sp(-88))));
    return f32x4.mul(dy, f32x4.add(cdf, f32x4.mul(x, pdf)));
  }
  if (K == GELU_NEW) {
    const t = tanh4(geluNewArg(x));
    const du = f32x4.mul(sp(GELU_C), f32x4.add(one, f32x4.mul(sp(3 * GELU_K), f32x4.mul(x, x))));
    const half = f32x4.mul(sp(0.5), f32x4.add(one, t));
    const rest = f32x4.mul(f32x4.mul(sp(0.5), x), f32x4.mul(f32x4.sub(one, f32x4.mul(t, t)), du));
    return f32x4.mul(dy, f32x4.add(half, rest));
  }
  return dy;
}

// One activation over n elements; the last n % 4 through the same lanes (one formula for all).
@inline
function forwardAll(K: i32, x: i32, y: i32, n: i32): void {
  const n4 = n & -4;
  for (let i = 0; i < n4; i += 4) stv(y + (i << 2), forward4(K, ldv(x + (i << 2))));
  for (let i = n4; i < n; i++) stf(y + (i << 2), f32x4.extract_lane(forward4(K, f32x4.splat(ldf(x + (i << 2)))), 0));
}

@inline
function backwardAll(K: i32, dy: i32, x: i32, y: i32, dx: i32, n: i32): void {
  const n4 = n & -4;
  for (let i = 0; i < n4; i += 4) {
    const o = i << 2;
    stv(dx + o, backward4(K, ldv(dy + o), ldv(x + o), ldv(y + o)));
  }
  for (let i = n4; i < n; i++) {
    const o = i << 2;
    const g = backward4(K, f32x4.splat(ldf(dy + o)), f32x4.splat(ldf(x + o)), f32x4.splat(ldf(y + o)));
    stf(dx + o, f32x4.extract_lane(g, 0));
  }
}

// One exported pair per activation, the kind a constant in each (one function switching over the kinds
// would let the optimizer fold the 13 inlined loops into one that tests the kind per element):
//   <name>Forward(x, y, n):            y = activation(x) (y may be x: in place)
//   <name>Grad(dy, x, y, dx, n):       dx = dy * activation'(x), from x or y as the kind needs (dx may be dy)
export function reluForward(x: i32, y: i32, n: i32): void { forwardAll(RELU, x, y, n); }
export function reluGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(RELU, dy, x, y, dx, n); }
export function relu6Forward(x: i32, y: i32, n: i32): void { forwardAll(RELU6, x, y, n); }
export function relu6Grad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(RELU6, dy, x, y, dx, n); }
export function eluForward(x: i32, y: i32, n: i32): void { forwardAll(ELU, x, y, n); }
export function eluGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(ELU, dy, x, y, dx, n); }
export function seluForward(x: i32, y: i32, n: i32): void { forwardAll(SELU, x, y, n); }
export function seluGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(SELU, dy, x, y, dx, n); }
export function tanhForward(x: i32, y: i32, n: i32): void { forwardAll(TANH, x, y, n); }
export function tanhGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(TANH, dy, x, y, dx, n); }
export function sigmoidForward(x: i32, y: i32, n: i32): void { forwardAll(SIGMOID, x, y, n); }
export function sigmoidGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(SIGMOID, dy, x, y, dx, n); }
export function hardSigmoidForward(x: i32, y: i32, n: i32): void { forwardAll(HARD_SIGMOID, x, y, n); }
export function hardSigmoidGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(HARD_SIGMOID, dy, x, y, dx, n); }
export function softplusForward(x: i32, y: i32, n: i32): void { forwardAll(SOFTPLUS, x, y, n); }
export function softplusGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(SOFTPLUS, dy, x, y, dx, n); }
export function softsignForward(x: i32, y: i32, n: i32): void { forwardAll(SOFTSIGN, x, y, n); }
export function softsignGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(SOFTSIGN, dy, x, y, dx, n); }
export function swishForward(x: i32, y: i32, n: i32): void { forwardAll(SWISH, x, y, n); }
export function swishGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(SWISH, dy, x, y, dx, n); }
export function mishForward(x: i32, y: i32, n: i32): void { forwardAll(MISH, x, y, n); }
export function mishGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(MISH, dy, x, y, dx, n); }
export function geluForward(x: i32, y: i32, n: i32): void { forwardAll(GELU, x, y, n); }
export function geluGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(GELU, dy, x, y, dx, n); }
export function geluNewForward(x: i32, y: i32, n: i32): void { forwardAll(GELU_NEW, x, y, n); }
export function geluNewGrad(dy: i32, x: i32, y: i32, dx: i32, n: i32): void { backwardAll(GELU_NEW, dy, x, y, dx, n); }

// softmax over the last axis of [rows, cols] (tfjs: e^(x - row max) / row sum, e^ below -88 taken at -88), and its gradient
// as tfjs writes it: dx = dy*y - (sum over the row of dy*y) * y.
export function softmaxRows(x: i32, y: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + ((r * cols) << 2);
    const yr = y + ((r * cols) << 2);
    let m = ldf(xr);
    for (let c = 1; c < cols; c++) m = max(m, ldf(xr + (c << 2)));
    let s: f32 = 0;
    for (let c = 0; c < cols; c++) {
      // exp4, not Mathf.exp: AssemblyScript's exp carries a table, a data segment, which would land in the tfjs heap.
      const e = f32x4.extract_lane(exp4(f32x4.splat(max(ldf(xr + (c << 2)) - m, -88))), 0);
      stf(yr + (c << 2), e);
      s += e;
    }
    for (let c = 0; c < cols; c++) stf(yr + (c << 2), ldf(yr + (c << 2)) / s);
  }
}

export function softmaxRowsGrad(dy: i32, y: i32, dx: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const o = (r * cols) << 2;
    let s: f32 = 0;
    for (let c = 0; c < cols; c++) s += ldf(dy + o + (c << 2)) * ldf(y + o + (c << 2));
    for (let c = 0; c < cols; c++) {
      const yc = ldf(y + o + (c << 2));
      stf(dx + o + (c << 2), ldf(dy + o + (c << 2)) * yc - s * yc);
    }
  }
}
