import { ldf, ldv, stf, stv } from './mem';

// Fused updates of tfjs's SGD, Momentum, RMSProp, Adagrad, Adadelta and Adamax optimizers
// (tfjs-core 4.22 src/optimizers/*_optimizer.ts applyGradients): per element, the same float32
// operations in the same order on the same float32 constants, so the results are bit-identical
// to the stock optimizers'. Four elements at a time; the last n % 4 one at a time through the
// same vector operations (splat in, lane 0 out: the same IEEE float32 result per lane).

@inline function ld(p: i32, vec: bool): v128 { return vec ? ldv(p) : f32x4.splat(ldf(p)); }
@inline function st(p: i32, v: v128, vec: bool): void { if (vec) stv(p, v); else stf(p, f32x4.extract_lane(v, 0)); }
@inline function S(v: f32): v128 { return f32x4.splat(v); }
@inline function add(a: v128, b: v128): v128 { return f32x4.add(a, b); }
@inline function mul(a: v128, b: v128): v128 { return f32x4.mul(a, b); }
@inline function div(a: v128, b: v128): v128 { return f32x4.div(a, b); }
@inline function sqrt(a: v128): v128 { return f32x4.sqrt(a); }

// SGD: x' = c*g + x, c = -learningRate.
export function sgdUpdate(x: i32, g: i32, xo: i32, n: i32, c: f32): void {
  for (let i = 0; i < n; ) {
    const vec = i + 4 <= n;
    const o = i << 2;
    st(xo + o, add(mul(S(c), ld(g + o, vec)), ld(x + o, vec)), vec);
    i += vec ? 4 : 1;
  }
}

// Momentum: a' = m*a + g; x' = c*(g + a'*m) + x (Nesterov) or c*a' + x.
export function momentumUpdate(x: i32, g: i32, a: i32, xo: i32, ao: i32, n: i32, c: f32, m: f32, nesterov: i32): void {
  for (let i = 0; i < n; ) {
    const vec = i + 4 <= n;
    const o = i << 2;
    const gv = ld(g + o, vec);
    const av = add(mul(S(m), ld(a + o, vec)), gv);
    st(ao + o, av, vec);
    const step = nesterov ? add(gv, mul(av, S(m))) : av;
    st(xo + o, add(mul(S(c), step), ld(x + o, vec)), vec);
    i += vec ? 4 : 1;
  }
}

// RMSProp (not centered): s' = s*decay + (g*g)*omd; p' = p*momentum + (g*lr)/sqrt(s' + eps); x' = x - p'.
export function rmspropUpdate(x: i32, g: i32, s: i32, p: i32, xo: i32, so: i32, po: i32, n: i32,
  decay: f32, omd: f32, momentum: f32, lr: f32, eps: f32): void {
  for (let i = 0; i < n; ) {
    const vec = i + 4 <= n;
    const o = i << 2;
    const gv = ld(g + o, vec);
    const sv = add(mul(ld(s + o, vec), S(decay)), mul(mul(gv, gv), S(omd)));
    const pv = add(mul(ld(p + o, vec), S(momentum)), div(mul(gv, S(lr)), sqrt(add(sv, S(eps)))));
    st(so + o, sv, vec);
    st(po + o, pv, vec);
    st(xo + o, f32x4.sub(ld(x + o, vec), pv), vec);
    i += vec ? 4 : 1;
  }
}

// Adagrad: a' = a + g*g; x' = (g / sqrt(a' + eps)) * c + x, c = -learningRate, eps the backend's.
export function adagradUpdate(x: i32, g: i32, a: i32, xo: i32, ao: i32, n: i32, c: f32, eps: f32): void {
  for (let i = 0; i < n; ) {
    const vec = i + 4 <= n;
    const o = i << 2;
    const gv = ld(g + o, vec);
    const av = add(ld(a + o, vec), mul(gv, gv));
    st(ao + o, av, vec);
    st(xo + o, add(mul(div(gv, sqrt(add(av, S(eps)))), S(c)), ld(x + o, vec)), vec);
    i += vec ? 4 : 1;
  }
}

// Adadelta: ag' = ag*rho + (g*g)*omr; u = (sqrt(au + eps) / sqrt(ag + eps)) * g (the OLD ag, as tfjs);
// au' = au*rho + (u*u)*omr; x' = u*c + x, c = -learningRate.
export function adadeltaUpdate(x: i32, g: i32, ag: i32, au: i32, xo: i32, ago: i32, auo: i32, n: i32,
  rho: f32, omr: f32, eps: f32, c: f32): void {
  for (let i = 0; i < n; ) {
    const vec = i + 4 <= n;
    const o = i << 2;
    const gv = ld(g + o, vec);
    const agOld = ld(ag + o, vec);
    const auOld = ld(au + o, vec);
    const agv = add(mul(agOld, S(rho)), mul(mul(gv, gv), S(omr)));
    const u = mul(div(sqrt(add(auOld, S(eps))), sqrt(add(agOld, S(eps)))), gv);
    const auv = add(mul(auOld, S(rho)), mul(mul(u, u), S(omr)));
    st(ago + o, agv, vec);
    st(auo + o, auv, vec);
    st(xo + o, add(mul(u, S(c)), ld(x + o, vec)), vec);
    i += vec ? 4 : 1;
  }
}

// Adamax: m' = m*b1 + g*omb1; u' = max(u*b2, |g|); x' = k * (m' / (u' + eps)) + x, with
// k = (-learningRate / (iteration*decay + 1)) / (1 - accBeta1) as tfjs's float32 scalars give it.
export function adamaxUpdate(x: i32, g: i32, m: i32, u: i32, xo: i32, mo: i32, uo: i32, n: i32,
  b1: f32, omb1: f32, b2: f32, eps: f32, k: f32): void {
  for (let i = 0; i < n; ) {
    const vec = i + 4 <= n;
    const o = i << 2;
    const gv = ld(g + o, vec);
    const mv = add(mul(ld(m + o, vec), S(b1)), mul(gv, S(omb1)));
    const uv = f32x4.max(mul(ld(u + o, vec), S(b2)), f32x4.abs(gv));
    st(mo + o, mv, vec);
    st(uo + o, uv, vec);
    st(xo + o, add(mul(S(k), div(mv, add(uv, S(eps)))), ld(x + o, vec)), vec);
    i += vec ? 4 : 1;
  }
}
