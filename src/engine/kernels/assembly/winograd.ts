import { ldv, stv, tileOrigin } from './mem';

// Winograd F(2x2, 3x3) for stride-1 3x3 convolutions (NHWC): each 2x2 block of outputs ("tile")
// comes from a 4x4 input window, and in the transformed domain the 9 taps per output become 16
// products per 4 outputs (2.25x fewer multiply-adds):
//   V = Bᵀ d B (input windows), U = G g Gᵀ (filter), M[ξ] = V[ξ] · U[ξ] (16 matrix products over
//   the input channels, the GEMM of gemm.ts), Y = Aᵀ M A (outputs)
// with Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
// Aᵀ = [1 1 1 0; 0 1 -1 -1] (Lavin & Gray 2016). All three transforms work on 4 channels at a
// time (the last group shifted back to end at C, so C >= 4: overlapping lanes get the same values).
// Layouts: V [16, T, C] and M [16, T, Cout] (planes a skewed stride apart), U [16, Cin, Cout], T = N*TH*TW
// tiles, tile t = (n*TH + th)*TW + tw.

// Bᵀ applied to 4 values (vectors): the rows (or columns) of a window.
@inline function b0(d0: v128, d2: v128): v128 { return f32x4.sub(d0, d2); }
@inline function b1(d1: v128, d2: v128): v128 { return f32x4.add(d1, d2); }
@inline function b2(d1: v128, d2: v128): v128 { return f32x4.sub(d2, d1); }
@inline function b3(d1: v128, d3: v128): v128 { return f32x4.sub(d1, d3); }

// One row i of Bᵀ d (4 column vectors e0..e3) times B, to V[i*4 + j] at q + j*plane.
@inline
function inputRow(q: i32, plane: i32, e0: v128, e1: v128, e2: v128, e3: v128): void {
  stv(q, b0(e0, e2));
  stv(q + plane, b1(e1, e2));
  stv(q + 2 * plane, b2(e1, e2));
  stv(q + 3 * plane, b3(e1, e3));
}

// winogradInput(xp, v, plane, Hp, Wp, C, TH, TW, t0, t1): V of tiles t0..t1-1 from the zero-padded input
// xp [N, Hp, Wp, C], Hp >= 2*TH + 2 and Wp >= 2*TW + 2 (tile (th, tw) reads rows 2th..2th+3, columns
// 2tw..2tw+3); tile t's row is t - t0 of each plane. V[ξ] starts at v + ξ*plane (bytes): callers skew plane
// off a multiple of 4 KiB, else the 16 streams fall into one L1 set (measured: 2.8 ms against 0.5 for
// [32,18,18,32]).
export function winogradInput(xp: i32, v: i32, plane: i32, Hp: i32, Wp: i32, C: i32, TH: i32, TW: i32, t0: i32,
  t1: i32): void {
  const row = (Wp * C) << 2;
  const px = C << 2;
  for (let t = t0; t < t1; t++) {
    const origin = tileOrigin(t, TH, TW, Hp, Wp, 2);
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const p = xp + ((origin * C + c) << 2);
      const q = v + (((t - t0) * C + c) << 2);
      // Column j of the window: rows d0..d3; Bᵀ d mixes rows, column by column.
      const d00 = ldv(p), d01 = ldv(p + px), d02 = ldv(p + 2 * px), d03 = ldv(p + 3 * px);
      const d10 = ldv(p + row), d11 = ldv(p + row + px), d12 = ldv(p + row + 2 * px), d13 = ldv(p + row + 3 * px);
      const p2 = p + 2 * row;
      const d20 = ldv(p2), d21 = ldv(p2 + px), d22 = ldv(p2 + 2 * px), d23 = ldv(p2 + 3 * px);
      const p3 = p + 3 * row;
      const d30 = ldv(p3), d31 = ldv(p3 + px), d32 = ldv(p3 + 2 * px), d33 = ldv(p3 + 3 * px);
      inputRow(q, plane, b0(d00, d20), b0(d01, d21), b0(d02, d22), b0(d03, d23));
      inputRow(q + 4 * plane, plane, b1(d10, d20), b1(d11, d21), b1(d12, d22), b1(d13, d23));
      inputRow(q + 8 * plane, plane, b2(d10, d20), b2(d11, d21), b2(d12, d22), b2(d13, d23));
      inputRow(q + 12 * plane, plane, b3(d10, d30), b3(d11, d31), b3(d12, d32), b3(d13, d33));
    }
  }
}

// winogradFilter(g, u, Cin, Cout): U [16, Cin, Cout] from the filter g [3, 3, Cin, Cout]; Cout >= 4.
export function winogradFilter(g: i32, u: i32, Cin: i32, Cout: i32): void {
  const half = f32x4.splat(0.5);
  const tap = (Cin * Cout) << 2; // bytes between filter taps, and between U[ξ] planes
  for (let ci = 0; ci < Cin; ci++) {
    for (let c0 = 0; c0 < Cout; c0 += 4) {
      const co = min(c0, Cout - 4);
      const p = g + ((ci * Cout + co) << 2);
      const out = u + ((ci * Cout + co) << 2);
      // t = G g: 4 rows of 3 taps, stored at ξ = i*4 + kw; then each row times Gᵀ in place.
      for (let kw = 0; kw < 3; kw++) {
        const g0 = ldv(p + kw * tap);
        const g1 = ldv(p + (3 + kw) * tap);
        const g2 = ldv(p + (6 + kw) * tap);
        stv(out + kw * tap, g0);
        stv(out + (4 + kw) * tap, f32x4.mul(half, f32x4.add(f32x4.add(g0, g1), g2)));
        stv(out + (8 + kw) * tap, f32x4.mul(half, f32x4.add(f32x4.sub(g0, g1), g2)));
        stv(out + (12 + kw) * tap, g2);
      }
      for (let i = 0; i < 4; i++) {
        const q = out + i * 4 * tap;
        const t0 = ldv(q);
        const t1 = ldv(q + tap);
        const t2 = ldv(q + 2 * tap);
        stv(q + tap, f32x4.mul(half, f32x4.add(f32x4.add(t0, t1), t2)));
        stv(q + 2 * tap, f32x4.mul(half, f32x4.add(f32x4.sub(t0, t1), t2)));
        stv(q + 3 * tap, t2);
      }
    }
  }
}

// winogradOutput(m, plane, y, bias, OH, OW, C, TH, TW, t0, t1, relu): y [N, OH, OW, C] = Aᵀ M A for tiles
// t0..t1-1 (tile t at row t - t0 of M[ξ], at m + ξ*plane bytes), plus bias (0: none), then relu (0 or 1);
// outputs past OH or OW (odd sizes) are not written.
export function winogradOutput(m: i32, plane: i32, y: i32, bias: i32, OH: i32, OW: i32, C: i32, TH: i32, TW: i32,
  t0: i32, t1: i32, relu: i32): void {
  const zero = f32x4.splat(0);
  for (let t = t0; t < t1; t++) {
    const tw = t % TW;
    const th = (t / TW) % TH;
    const n = t / (TW * TH);
    const oh = 2 * th;
    const ow = 2 * tw;
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const q = m + (((t - t0) * C + c) << 2);
      // s0 = row 0 of Aᵀ M (m0 + m1 + m2), s1 = row 1 (m1 - m2 - m3), column j by column.
      const s00 = a0(q, plane), s01 = a0(q + plane, plane), s02 = a0(q + 2 * plane, plane), s03 = a0(q + 3 * plane, plane);
      const s10 = a1(q, plane), s11 = a1(q + plane, plane), s12 = a1(q + 2 * plane, plane), s13 = a1(q + 3 * plane, plane);
      const bv = bias === 0 ? zero : ldv(bias + (c << 2));
      const yp = y + ((((n * OH + oh) * OW + ow) * C + c) << 2);
      const rowBytes = (OW * C) << 2;
      const lastCol = ow + 1 < OW;
      store(yp, f32x4.add(f32x4.add(s00, s01), s02), bv, bias, relu);
      if (lastCol) store(yp + (C << 2), f32x4.sub(f32x4.sub(s01, s02), s03), bv, bias, relu);
      if (oh + 1 < OH) {
        store(yp + rowBytes, f32x4.add(f32x4.add(s10, s11), s12), bv, bias, relu);
        if (lastCol) store(yp + rowBytes + (C << 2), f32x4.sub(f32x4.sub(s11, s12), s13), bv, bias, relu);
      }
    }
  }
}

@inline
function store(p: i32, v: v128, bv: v128, bias: i32, relu: i32): void {
  const z = bias === 0 ? v : f32x4.add(v, bv);
  stv(p, relu !== 0 ? f32x4.max(z, f32x4.splat(0)) : z);
}

// Rows 0 and 1 of Aᵀ M at column j: M[j], M[4+j], M[8+j], M[12+j] at p, p + 4*plane, ...
@inline
function a0(p: i32, plane: i32): v128 {
  return f32x4.add(f32x4.add(ldv(p), ldv(p + 4 * plane)), ldv(p + 8 * plane));
}
@inline
function a1(p: i32, plane: i32): v128 {
  return f32x4.sub(f32x4.sub(ldv(p + 4 * plane), ldv(p + 8 * plane)), ldv(p + 12 * plane));
}

// The filter gradient of the same convolution is the adjoint of Y = Aᵀ[(G g Gᵀ) ⊙ V]A in g:
//   dg = Gᵀ [ Σ_t V_t ⊙ (A dY_t Aᵀ) ] G
// i.e. 16 matrix products over the tiles, dU[ξ] [Cin, Cout] = V[ξ]ᵀ · E[ξ], E = A dY Aᵀ per tile.

// A applied to the 2 values of a dy row or column: A = [1 0; 1 1; 1 -1; 0 -1].
@inline
function gradRow(q: i32, plane: i32, e0: v128, e1: v128): void {
  stv(q, e0);
  stv(q + plane, f32x4.add(e0, e1));
  stv(q + 2 * plane, f32x4.sub(e0, e1));
  stv(q + 3 * plane, f32x4.neg(e1));
}

// winogradGradInput(dy, e, plane, OHp, OWp, C, TH, TW, t0, t1): E [16, t1 - t0, C] of tiles t0..t1-1 (E[ξ] at
// e + ξ*plane bytes) from dy [N, OHp, OWp, C], OHp >= 2*TH and OWp >= 2*TW (odd sizes zero-padded by the
// caller).
export function winogradGradInput(dy: i32, e: i32, plane: i32, OHp: i32, OWp: i32, C: i32, TH: i32, TW: i32,
  t0: i32, t1: i32): void {
  const row = (OWp * C) << 2;
  const px = C << 2;
  for (let t = t0; t < t1; t++) {
    const origin = tileOrigin(t, TH, TW, OHp, OWp, 2);
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const p = dy + ((origin * C + c) << 2);
      const q = e + (((t - t0) * C + c) << 2);
      const d00 = ldv(p), d01 = ldv(p + px), d10 = ldv(p + row), d11 = ldv(p + row + px);
      gradRow(q, plane, d00, d01);
      gradRow(q + 4 * plane, plane, f32x4.add(d00, d10), f32x4.add(d01, d11));
      gradRow(q + 8 * plane, plane, f32x4.sub(d00, d10), f32x4.sub(d01, d11));
      gradRow(q + 12 * plane, plane, f32x4.neg(d10), f32x4.neg(d11));
    }
  }
}

// Gᵀ applied to 4 values: Gᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1].
@inline function g0(u0: v128, u1: v128, u2: v128, half: v128): v128 { return f32x4.add(u0, f32x4.mul(half, f32x4.add(u1, u2))); }
@inline function g1(u1: v128, u2: v128, half: v128): v128 { return f32x4.mul(half, f32x4.sub(u1, u2)); }
@inline function g2(u1: v128, u2: v128, u3: v128, half: v128): v128 { return f32x4.add(f32x4.mul(half, f32x4.add(u1, u2)), u3); }

// winogradFilterGrad(du, dw, Cin, Cout): dw [3, 3, Cin, Cout] = Gᵀ dU G from dU [16, Cin, Cout]; Cout >= 4.
export function winogradFilterGrad(du: i32, dw: i32, Cin: i32, Cout: i32): void {
  const half = f32x4.splat(0.5);
  const tap = (Cin * Cout) << 2;
  for (let ci = 0; ci < Cin; ci++) {
    for (let c0 = 0; c0 < Cout; c0 += 4) {
      const co = min(c0, Cout - 4);
      const off = (ci * Cout + co) << 2;
      // dU is read only (overlapping channel groups recompute from it): Gᵀ dU column by column, then
      // each of its 3 rows times G into the taps (kh, 0..2).
      const p = du + off;
      const r00 = col(p, tap, 0, 0, half), r01 = col(p, tap, 1, 0, half), r02 = col(p, tap, 2, 0, half), r03 = col(p, tap, 3, 0, half);
      const r10 = col(p, tap, 0, 1, half), r11 = col(p, tap, 1, 1, half), r12 = col(p, tap, 2, 1, half), r13 = col(p, tap, 3, 1, half);
      const r20 = col(p, tap, 0, 2, half), r21 = col(p, tap, 1, 2, half), r22 = col(p, tap, 2, 2, half), r23 = col(p, tap, 3, 2, half);
      tapsRow(dw + off, tap, r00, r01, r02, r03, half);
      tapsRow(dw + off + 3 * tap, tap, r10, r11, r12, r13, half);
      tapsRow(dw + off + 6 * tap, tap, r20, r21, r22, r23, half);
    }
  }
}

// Row kh of Gᵀ dU at column j (dU[ξ] at p + ξ*tap).
@inline
function col(p: i32, tap: i32, j: i32, kh: i32, half: v128): v128 {
  const u1 = ldv(p + (4 + j) * tap);
  const u2 = ldv(p + (8 + j) * tap);
  if (kh === 0) return g0(ldv(p + j * tap), u1, u2, half);
  if (kh === 1) return g1(u1, u2, half);
  return g2(u1, u2, ldv(p + (12 + j) * tap), half);
}

// One row of Gᵀ dU times G: taps (kh, 0..2) at out, out + tap, out + 2*tap.
@inline
function tapsRow(out: i32, tap: i32, u0: v128, u1: v128, u2: v128, u3: v128, half: v128): void {
  stv(out, g0(u0, u1, u2, half));
  stv(out + tap, g1(u1, u2, half));
  stv(out + 2 * tap, g2(u1, u2, u3, half));
}
