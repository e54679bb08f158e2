import { ldv, madd, stv, tileOrigin } from './mem';

// Winograd F(4x4, 3x3) for stride-1 3x3 convolutions (NHWC): each 4x4 block of outputs ("tile") comes
// from a 6x6 input window, and in the transformed domain the 9 taps per output become 36 products per
// 16 outputs (2.25 multiply-adds per output against F(2x2, 3x3)'s 4 and the direct 9), with the
// matrices of Lavin & Gray 2016 (interpolation points 0, ±1, ±2, ∞):
//   Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// V = Bᵀ d B, U = G g Gᵀ, M[ξ] = V[ξ] · U[ξ] (36 matrix products over the channels), Y = Aᵀ M A.
// Layouts as in winograd.ts with 36 planes: V [36, T, C], M [36, T, Cout] (planes a skewed stride
// apart), U [36, Cin, Cout]; T = N*TH*TW tiles, tile t = (n*TH + th)*TW + tw; 4 channels at a time,
// the last group shifted back to end at C (C >= 4).
// Each transform is two passes of a 1-D transform: the first (across the window's rows) is recomputed
// from memory for each output row, so that only one row of 6 vectors is live (V8 has 16 xmm registers;
// a whole 6x6 window would spill).

@inline function k(v: f32): v128 { return f32x4.splat(v); }

// Row i of Bᵀ applied to the 6 values at p, p + s, ..., p + 5s (only those it uses are loaded).
@inline
function btAt(i: i32, p: i32, s: i32): v128 {
  if (i === 0) return madd(madd(ldv(p + 4 * s), ldv(p), k(4)), ldv(p + 2 * s), k(-5));
  if (i === 5) return madd(madd(ldv(p + 5 * s), ldv(p + s), k(4)), ldv(p + 3 * s), k(-5));
  const d1 = ldv(p + s), d2 = ldv(p + 2 * s), d3 = ldv(p + 3 * s), d4 = ldv(p + 4 * s);
  if (i === 1) return madd(f32x4.add(d3, d4), f32x4.add(d1, d2), k(-4));
  if (i === 2) return madd(f32x4.sub(d4, d3), f32x4.sub(d1, d2), k(4));
  if (i === 3) return madd(f32x4.sub(d4, d2), f32x4.sub(d3, d1), k(2));
  return madd(f32x4.sub(d4, d2), f32x4.sub(d3, d1), k(-2));
}

// The 6 values e0..e5 times B (the same formulas as btAt), to q, q + plane, ..., q + 5*plane.
@inline
function btStore(q: i32, plane: i32, e0: v128, e1: v128, e2: v128, e3: v128, e4: v128, e5: v128): void {
  stv(q, madd(madd(e4, e0, k(4)), e2, k(-5)));
  stv(q + plane, madd(f32x4.add(e3, e4), f32x4.add(e1, e2), k(-4)));
  stv(q + 2 * plane, madd(f32x4.sub(e4, e3), f32x4.sub(e1, e2), k(4)));
  const d42 = f32x4.sub(e4, e2), d31 = f32x4.sub(e3, e1);
  stv(q + 3 * plane, madd(d42, d31, k(2)));
  stv(q + 4 * plane, madd(d42, d31, k(-2)));
  stv(q + 5 * plane, madd(madd(e5, e1, k(4)), e3, k(-5)));
}

// Row i of Bᵀ d B: row i of Bᵀ d column by column (window columns p, p + px, ...), times B.
@inline
function inputRow(i: i32, p: i32, row: i32, px: i32, q: i32, plane: i32): void {
  const e0 = btAt(i, p, row), e1 = btAt(i, p + px, row), e2 = btAt(i, p + 2 * px, row);
  const e3 = btAt(i, p + 3 * px, row), e4 = btAt(i, p + 4 * px, row), e5 = btAt(i, p + 5 * px, row);
  btStore(q + 6 * i * plane, plane, e0, e1, e2, e3, e4, e5);
}

// winograd4Input(xp, v, plane, Hp, Wp, C, TH, TW, t0, t1): V of tiles t0..t1-1 from the zero-padded input
// xp [N, Hp, Wp, C], Hp >= 4*TH + 2 and Wp >= 4*TW + 2 (tile (th, tw) reads rows 4th..4th+5, columns
// 4tw..4tw+5); tile t's row is t - t0 of each plane. V[ξ] starts at v + ξ*plane (bytes), plane skewed off a
// multiple of 4 KiB by the caller.
export function winograd4Input(xp: i32, v: i32, plane: i32, Hp: i32, Wp: i32, C: i32, TH: i32, TW: i32, t0: i32,
  t1: i32): void {
  const row = (Wp * C) << 2;
  const px = C << 2;
  for (let t = t0; t < t1; t++) {
    const origin = tileOrigin(t, TH, TW, Hp, Wp, 4);
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const p = xp + ((origin * C + c) << 2);
      const q = v + (((t - t0) * C + c) << 2);
      inputRow(0, p, row, px, q, plane);
      inputRow(1, p, row, px, q, plane);
      inputRow(2, p, row, px, q, plane);
      inputRow(3, p, row, px, q, plane);
      inputRow(4, p, row, px, q, plane);
      inputRow(5, p, row, px, q, plane);
    }
  }
}

// G applied to one filter column (a, b, c), to q, q + s, ..., q + 5s. The sixths and 24ths are
// divisions (one rounding each) rather than products by a rounded reciprocal.
@inline
function gStore(q: i32, s: i32, a: v128, b: v128, c: v128): void {
  const ac = f32x4.add(a, c);
  const a4c = f32x4.add(a, f32x4.mul(k(4), c));
  const b2 = f32x4.mul(k(2), b);
  stv(q, f32x4.mul(a, k(0.25)));
  stv(q + s, f32x4.div(f32x4.add(ac, b), k(-6)));
  stv(q + 2 * s, f32x4.div(f32x4.sub(ac, b), k(-6)));
  stv(q + 3 * s, f32x4.div(f32x4.add(a4c, b2), k(24)));
  stv(q + 4 * s, f32x4.div(f32x4.sub(a4c, b2), k(24)));
  stv(q + 5 * s, c);
}

// winograd4Filter(g, u, Cin, Cout): U [36, Cin, Cout] from the filter g [3, 3, Cin, Cout]; Cout >= 4.
export function winograd4Filter(g: i32, u: i32, Cin: i32, Cout: i32): void {
  const tap = (Cin * Cout) << 2; // bytes between filter taps, and between U[ξ] planes
  for (let ci = 0; ci < Cin; ci++) {
    for (let c0 = 0; c0 < Cout; c0 += 4) {
      const co = min(c0, Cout - 4);
      const p = g + ((ci * Cout + co) << 2);
      const out = u + ((ci * Cout + co) << 2);
      // G g, column kw to ξ = i*6 + kw (read from g, so an overlapping channel group starts afresh),
      // then each row times Gᵀ in place (its 3 values read before its 6 are written).
      for (let kw = 0; kw < 3; kw++) {
        gStore(out + kw * tap, 6 * tap, ldv(p + kw * tap), ldv(p + (3 + kw) * tap), ldv(p + (6 + kw) * tap));
      }
      for (let i = 0; i < 6; i++) {
        const q = out + 6 * i * tap;
        gStore(q, tap, ldv(q), ldv(q + tap), ldv(q + 2 * tap));
      }
    }
  }
}

// Row i of Aᵀ applied to the 6 values at p, p + s, ..., p + 5s (only those it uses are loaded).
@inline
function atAt(i: i32, p: i32, s: i32): v128 {
  const m1 = ldv(p + s), m2 = ldv(p + 2 * s), m3 = ldv(p + 3 * s), m4 = ldv(p + 4 * s);
  if (i === 0) return f32x4.add(f32x4.add(ldv(p), f32x4.add(m1, m2)), f32x4.add(m3, m4));
  if (i === 1) return madd(f32x4.sub(m1, m2), f32x4.sub(m3, m4), k(2));
  if (i === 2) return madd(f32x4.add(m1, m2), f32x4.add(m3, m4), k(4));
  return f32x4.add(madd(f32x4.sub(m1, m2), f32x4.sub(m3, m4), k(8)), ldv(p + 5 * s));
}

@inline
function store(p: i32, v: v128, bv: v128, bias: i32, relu: i32): void {
  const z = bias === 0 ? v : f32x4.add(v, bv);
  stv(p, relu !== 0 ? f32x4.max(z, f32x4.splat(0)) : z);
}

// Output row i of a tile: row i of Aᵀ M column by column (M[ξ] at q + ξ*plane), times A, to yp,
// yp + px, ... for the first `cols` (1..4) columns, plus bias (0: none), then relu (0 or 1).
@inline
function outputRow(i: i32, q: i32, plane: i32, yp: i32, px: i32, cols: i32, bv: v128, bias: i32, relu: i32): void {
  const s = 6 * plane;
  const s0 = atAt(i, q, s), s1 = atAt(i, q + plane, s), s2 = atAt(i, q + 2 * plane, s);
  const s3 = atAt(i, q + 3 * plane, s), s4 = atAt(i, q + 4 * plane, s), s5 = atAt(i, q + 5 * plane, s);
  const p12 = f32x4.add(s1, s2), p34 = f32x4.add(s3, s4), m12 = f32x4.sub(s1, s2), m34 = f32x4.sub(s3, s4);
  store(yp, f32x4.add(f32x4.add(s0, p12), p34), bv, bias, relu);
  if (cols > 1) store(yp + px, madd(m12, m34, k(2)), bv, bias, relu);
  if (cols > 2) store(yp + 2 * px, madd(p12, p34, k(4)), bv, bias, relu);
  if (cols > 3) store(yp + 3 * px, f32x4.add(madd(m12, m34, k(8)), s5), bv, bias, relu);
}

// winograd4Output(m, plane, y, bias, OH, OW, C, TH, TW, t0, t1, relu): y [N, OH, OW, C] = Aᵀ M A for tiles
// t0..t1-1 (tile t at row t - t0 of M[ξ], at m + ξ*plane bytes), plus bias (0: none), then relu (0 or 1);
// outputs past OH or OW (sizes not a multiple of 4) are not written.
export function winograd4Output(m: i32, plane: i32, y: i32, bias: i32, OH: i32, OW: i32, C: i32, TH: i32, TW: i32,
  t0: i32, t1: i32, relu: i32): void {
  const px = C << 2;
  const rowBytes = (OW * C) << 2;
  for (let t = t0; t < t1; t++) {
    const tw = t % TW;
    const th = (t / TW) % TH;
    const n = t / (TW * TH);
    const oh = 4 * th;
    const ow = 4 * tw;
    const rows = min(4, OH - oh);
    const cols = min(4, OW - ow);
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const q = m + (((t - t0) * C + c) << 2);
      const bv = bias === 0 ? f32x4.splat(0) : ldv(bias + (c << 2));
      const yp = y + ((((n * OH + oh) * OW + ow) * C + c) << 2);
      outputRow(0, q, plane, yp, px, cols, bv, bias, relu);
      if (rows > 1) outputRow(1, q, plane, yp + rowBytes, px, cols, bv, bias, relu);
      if (rows > 2) outputRow(2, q, plane, yp + 2 * rowBytes, px, cols, bv, bias, relu);
      if (rows > 3) outputRow(3, q, plane, yp + 3 * rowBytes, px, cols, bv, bias, relu);
    }
  }
}

// The filter gradient is the adjoint of Y = Aᵀ[(G g Gᵀ) ⊙ V]A in g:
//   dg = Gᵀ [ Σ_t V_t ⊙ (A dY_t Aᵀ) ] G
// i.e. 36 matrix products over the tiles, dU[ξ] [Cin, Cout] = V[ξ]ᵀ · E[ξ], E = A dY Aᵀ per tile.

// Row i of A = (Aᵀ)ᵀ applied to the 4 values at p, p + s, p + 2s, p + 3s:
// A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1].
@inline
function aAt(i: i32, p: i32, s: i32): v128 {
  if (i === 0) return ldv(p);
  if (i === 5) return ldv(p + 3 * s);
  const d0 = ldv(p), d1 = ldv(p + s), d2 = ldv(p + 2 * s), d3 = ldv(p + 3 * s);
  if (i === 1) return f32x4.add(f32x4.add(d0, d2), f32x4.add(d1, d3));
  if (i === 2) return f32x4.sub(f32x4.add(d0, d2), f32x4.add(d1, d3));
  if (i === 3) return madd(madd(d0, d2, k(4)), madd(d1, d3, k(4)), k(2));
  return madd(madd(d0, d2, k(4)), madd(d1, d3, k(4)), k(-2));
}

// The 4 values e0..e3 times Aᵀ (the same formulas as aAt), to q, q + plane, ..., q + 5*plane.
@inline
function aStore(q: i32, plane: i32, e0: v128, e1: v128, e2: v128, e3: v128): void {
  const e02 = f32x4.add(e0, e2), e13 = f32x4.add(e1, e3);
  const f02 = madd(e0, e2, k(4)), f13 = madd(e1, e3, k(4));
  stv(q, e0);
  stv(q + plane, f32x4.add(e02, e13));
  stv(q + 2 * plane, f32x4.sub(e02, e13));
  stv(q + 3 * plane, madd(f02, f13, k(2)));
  stv(q + 4 * plane, madd(f02, f13, k(-2)));
  stv(q + 5 * plane, e3);
}

// Row i of A dY Aᵀ: row i of A dY column by column (dy columns p, p + px, ...), times Aᵀ.
@inline
function gradRow(i: i32, p: i32, row: i32, px: i32, q: i32, plane: i32): void {
  const e0 = aAt(i, p, row), e1 = aAt(i, p + px, row), e2 = aAt(i, p + 2 * px, row), e3 = aAt(i, p + 3 * px, row);
  aStore(q + 6 * i * plane, plane, e0, e1, e2, e3);
}

// winograd4GradInput(dy, e, plane, OHp, OWp, C, TH, TW, t0, t1): E [36, t1 - t0, C] of tiles t0..t1-1 (E[ξ] at
// e + ξ*plane bytes) from dy [N, OHp, OWp, C], OHp >= 4*TH and OWp >= 4*TW (other sizes zero-padded by the
// caller).
export function winograd4GradInput(dy: i32, e: i32, plane: i32, OHp: i32, OWp: i32, C: i32, TH: i32, TW: i32,
  t0: i32, t1: i32): void {
  const row = (OWp * C) << 2;
  const px = C << 2;
  for (let t = t0; t < t1; t++) {
    const origin = tileOrigin(t, TH, TW, OHp, OWp, 4);
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const p = dy + ((origin * C + c) << 2);
      const q = e + (((t - t0) * C + c) << 2);
      gradRow(0, p, row, px, q, plane);
      gradRow(1, p, row, px, q, plane);
      gradRow(2, p, row, px, q, plane);
      gradRow(3, p, row, px, q, plane);
      gradRow(4, p, row, px, q, plane);
      gradRow(5, p, row, px, q, plane);
    }
  }
}

// Row i of Gᵀ = [¼ -⅙ -⅙ 1/24 1/24 0; 0 -⅙ ⅙ 1/12 -1/12 0; 0 -⅙ -⅙ ⅙ ⅙ 1] applied to u0..u5.
@inline
function gt(i: i32, u0: v128, u1: v128, u2: v128, u3: v128, u4: v128, u5: v128): v128 {
  if (i === 0) {
    return madd(madd(f32x4.mul(u0, k(0.25)), f32x4.add(u1, u2), k(-1.0 / 6)), f32x4.add(u3, u4), k(1.0 / 24));
  }
  if (i === 1) return madd(f32x4.mul(f32x4.sub(u2, u1), k(1.0 / 6)), f32x4.sub(u3, u4), k(1.0 / 12));
  return f32x4.add(f32x4.mul(f32x4.sub(f32x4.add(u3, u4), f32x4.add(u1, u2)), k(1.0 / 6)), u5);
}

// Row i of Gᵀ applied to the 6 values at p, p + s, ..., p + 5s (only those it uses are loaded).
@inline
function gtAt(i: i32, p: i32, s: i32): v128 {
  const u1 = ldv(p + s), u2 = ldv(p + 2 * s), u3 = ldv(p + 3 * s), u4 = ldv(p + 4 * s);
  if (i === 0) return gt(0, ldv(p), u1, u2, u3, u4, u4);
  if (i === 1) return gt(1, u1, u1, u2, u3, u4, u4);
  return gt(2, u1, u1, u2, u3, u4, ldv(p + 5 * s));
}

// winograd4FilterGrad(du, dw, Cin, Cout): dw [3, 3, Cin, Cout] = Gᵀ dU G from dU [36, Cin, Cout]; Cout >= 4.
// dU is read only (overlapping channel groups recompute from it).
export function winograd4FilterGrad(du: i32, dw: i32, Cin: i32, Cout: i32): void {
  const tap = (Cin * Cout) << 2;
  for (let ci = 0; ci < Cin; ci++) {
    for (let c0 = 0; c0 < Cout; c0 += 4) {
      const off = (ci * Cout + min(c0, Cout - 4)) << 2;
      for (let kh = 0; kh < 3; kh++) {
        // Row kh of Gᵀ dU column by column, then times G into the taps (kh, 0..2).
        const p = du + off;
        const s = 6 * tap;
        const r0 = gtAt(kh, p, s), r1 = gtAt(kh, p + tap, s), r2 = gtAt(kh, p + 2 * tap, s);
        const r3 = gtAt(kh, p + 3 * tap, s), r4 = gtAt(kh, p + 4 * tap, s), r5 = gtAt(kh, p + 5 * tap, s);
        const out = dw + off + 3 * kh * tap;
        stv(out, gt(0, r0, r1, r2, r3, r4, r5));
        stv(out + tap, gt(1, r0, r1, r2, r3, r4, r5));
        stv(out + 2 * tap, gt(2, r0, r1, r2, r3, r4, r5));
      }
    }
  }
}
