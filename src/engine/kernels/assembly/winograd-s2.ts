import { gemm4x1, gemm4x2, gemmW2, gemmW3 } from './gemm';
import { ldf, ldv, stf, stv, tileOrigin } from './mem';

// Winograd-style transforms for 3x3 convolutions with stride 2 on both axes (NHWC). Along one axis a stride-2
// 3-tap convolution is an even phase (taps 0 and 2 over the even inputs: a stride-1 2-tap convolution, which
// F(2,2) computes with 3 products per 2 outputs instead of 4) plus an odd phase (tap 1: 2 products). So 2
// outputs from the 5 inputs d0..d4 take 5 products instead of 6, at the 5 points
//   V = Bᵀd = [d0 - d2, d2, d4 - d2, d1, d3],  U = Gg = [g0, g0 + g2, g2, g1, g1],
//   y = Aᵀ(U ⊙ V) = [m0 + m1 + m3, m1 + m2 + m4]
// (exact: only additions and subtractions). Over both axes, a 2x2 block of outputs ("tile") comes from a 5x5
// input window at (4th, 4tw) through 25 points: 25 products per 4 outputs instead of 36, i.e. 25 matrix
// products over the channels (gemm.ts) against 16 distinct transformed filters U[min(i,3)*4 + min(j,3)].
// The input gradient is the same pair of phases read the other way (dx'[4t + r] from dy[2t-1..2t+1], in
// coordinates of the padded input): V = [c0 - c1, c1, c2 - c1, c1, c2], U = [g2, g0 + g2, g0, g1, g1],
// dx' = [m0 + m1, m3, m1 + m2, m4]; 25 products per 16 input pixels instead of 36. The filter gradient is
// the adjoint in g of the forward tile: dg = Gᵀ [Σ_t V_t ⊙ (A dY_t Aᵀ)] G.
// Points ξ = i*5 + j (i along rows, j along columns); planes V[ξ], M[ξ] `plane` bytes apart (callers skew the
// plane size off a multiple of 4 KiB, see winograd.ts); channels 4 at a time, the last group shifted back to
// end at C (so C >= 4: overlapping lanes get the same values).

// Which transformed filter point ξ = i*5 + j multiplies: U[uOf(i)*4 + uOf(j)].
@inline function uOf(i: i32): i32 { return min(i, 3); }

// The 1-D transform of the forward input along rows: point i of the window column at p (rows `row` bytes apart).
@inline
function fwdRow(i: i32, p: i32, row: i32): v128 {
  if (i === 0) return f32x4.sub(ldv(p), ldv(p + 2 * row));
  if (i === 1) return ldv(p + 2 * row);
  if (i === 2) return f32x4.sub(ldv(p + 4 * row), ldv(p + 2 * row));
  if (i === 3) return ldv(p + row);
  return ldv(p + 3 * row);
}

// Row point i of a tile: the 5 window columns through fwdRow, then the same transform across them, to V[i*5 + j].
@inline
function fwdPoint(i: i32, p: i32, row: i32, px: i32, q: i32, plane: i32): void {
  const c0 = fwdRow(i, p, row), c1 = fwdRow(i, p + px, row), c2 = fwdRow(i, p + 2 * px, row);
  const c3 = fwdRow(i, p + 3 * px, row), c4 = fwdRow(i, p + 4 * px, row);
  const o = q + i * 5 * plane;
  stv(o, f32x4.sub(c0, c2));
  stv(o + plane, c2);
  stv(o + 2 * plane, f32x4.sub(c4, c2));
  stv(o + 3 * plane, c1);
  stv(o + 4 * plane, c3);
}

// s2Input(xp, v, plane, t0, t1, Hp, Wp, C, TH, TW): V[ξ] rows t - t0 for tiles t0 <= t < t1 (t = (n*TH + th)*TW
// + tw) from the zero-padded input xp [N, Hp, Wp, C], Hp >= 4*TH + 1 and Wp >= 4*TW + 1.
export function s2Input(xp: i32, v: i32, plane: i32, t0: i32, t1: i32, Hp: i32, Wp: i32, C: i32, TH: i32,
  TW: i32): void {
  const row = (Wp * C) << 2;
  const px = C << 2;
  for (let t = t0; t < t1; t++) {
    const origin = tileOrigin(t, TH, TW, Hp, Wp, 4);
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const p = xp + ((origin * C + c) << 2);
      const q = v + (((t - t0) * C + c) << 2);
      fwdPoint(0, p, row, px, q, plane);
      fwdPoint(1, p, row, px, q, plane);
      fwdPoint(2, p, row, px, q, plane);
      fwdPoint(3, p, row, px, q, plane);
      fwdPoint(4, p, row, px, q, plane);
    }
  }
}

// Aᵀ of the forward along rows: output row r (0 or 1) at point column j (M[ξ] at q + ξ*plane).
@inline
function fwdOutRow(r: i32, q: i32, plane: i32, j: i32): v128 {
  if (r === 0) return f32x4.add(f32x4.add(ldv(q + j * plane), ldv(q + (5 + j) * plane)), ldv(q + (15 + j) * plane));
  return f32x4.add(f32x4.add(ldv(q + (5 + j) * plane), ldv(q + (10 + j) * plane)), ldv(q + (20 + j) * plane));
}

@inline
function store(p: i32, v: v128, bv: v128, bias: i32, relu: i32): void {
  const z = bias === 0 ? v : f32x4.add(v, bv);
  stv(p, relu !== 0 ? f32x4.max(z, f32x4.splat(0)) : z);
}

// One output row r of a tile: columns ow (and ow + 1 if inside).
@inline
function fwdOutput(r: i32, q: i32, plane: i32, yp: i32, px: i32, both: bool, bv: v128, bias: i32, relu: i32): void {
  const s0 = fwdOutRow(r, q, plane, 0), s1 = fwdOutRow(r, q, plane, 1), s2 = fwdOutRow(r, q, plane, 2);
  const s3 = fwdOutRow(r, q, plane, 3), s4 = fwdOutRow(r, q, plane, 4);
  store(yp, f32x4.add(f32x4.add(s0, s1), s3), bv, bias, relu);
  if (both) store(yp + px, f32x4.add(f32x4.add(s1, s2), s4), bv, bias, relu);
}

// s2Output(m, plane, y, bias, t0, t1, OH, OW, C, TH, TW, relu): y [N, OH, OW, C] of tiles t0 <= t < t1 from
// M[ξ] rows t - t0, plus bias (0: none), then relu (0 or 1); outputs past OH or OW are not written.
export function s2Output(m: i32, plane: i32, y: i32, bias: i32, t0: i32, t1: i32, OH: i32, OW: i32, C: i32,
  TH: i32, TW: i32, relu: i32): void {
  const zero = f32x4.splat(0);
  const px = C << 2;
  const rowBytes = (OW * C) << 2;
  for (let t = t0; t < t1; t++) {
    const tw = t % TW;
    const th = (t / TW) % TH;
    const n = t / (TW * TH);
    const oh = 2 * th;
    const ow = 2 * tw;
    const both = ow + 1 < OW;
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const q = m + (((t - t0) * C + c) << 2);
      const bv = bias === 0 ? zero : ldv(bias + (c << 2));
      const yp = y + ((((n * OH + oh) * OW + ow) * C + c) << 2);
      fwdOutput(0, q, plane, yp, px, both, bv, bias, relu);
      if (oh + 1 < OH) fwdOutput(1, q, plane, yp + rowBytes, px, both, bv, bias, relu);
    }
  }
}

// C[rows, N] = A[rows, K] · B[K, N] (A rows sAi bytes apart): gemmFor's tiles (heap-loops.ts) but 4x8 for 13-16
// columns (measured faster than the full-width 4x16 here, whose 16 accumulators V8 spills).
@inline
function gemm(a: i32, sAi: i32, sAt: i32, b: i32, sBt: i32, c: i32, rows: i32, N: i32, K: i32): void {
  if (N === 4) gemm4x1(a, sAi, sAt, b, sBt, c, rows, N, K);
  else if (N <= 8) gemmW2(a, sAi, sAt, b, sBt, c, rows, N, K);
  else if (N <= 12) gemmW3(a, sAi, sAt, b, sBt, c, rows, N, K);
  else gemm4x2(a, sAi, sAt, b, sBt, c, rows, N, K);
}

// The 25 products of a block of `rows` tiles: M[ξ] [rows, N] = V[ξ] [rows, K] · U[uOf(i)*4 + uOf(j)] [K, N].
@inline
export function products(v: i32, vPlane: i32, u: i32, m: i32, mPlane: i32, rows: i32, K: i32, N: i32): void {
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      const xi = i * 5 + j;
      const ub = u + (((uOf(i) * 4 + uOf(j)) * K * N) << 2);
      gemm(v + xi * vPlane, K << 2, 4, ub, N << 2, m + xi * mPlane, rows, N, K);
    }
  }
}

// Where the block after [t0, end) ends: `block` tiles on, or T where fewer than 4 would be left for a last one
// (the GEMM tiles need 4 rows). Buffers hold block + 3 tiles.
@inline
export function blockEnd(t0: i32, block: i32, T: i32): i32 {
  const t1 = min(t0 + block, T);
  return T - t1 < 4 ? T : t1;
}

// s2Forward(xp, u, bias, y, v, m, vPlane, mPlane, N, Hp, Wp, Cin, OH, OW, Cout, block, relu): the whole
// convolution, `block` tiles at a time (V and M stay in cache between their passes): y [N, OH, OW, Cout] from
// xp [N, Hp, Wp, Cin] (Hp >= 4*ceil(OH/2) + 1, Wp likewise) and U [16, Cin, Cout] (s2Filter); N*TH*TW >= 4.
export function s2Forward(xp: i32, u: i32, bias: i32, y: i32, v: i32, m: i32, vPlane: i32, mPlane: i32, N: i32,
  Hp: i32, Wp: i32, Cin: i32, OH: i32, OW: i32, Cout: i32, block: i32, relu: i32): void {
  const TH = (OH + 1) >> 1;
  const TW = (OW + 1) >> 1;
  const T = N * TH * TW;
  for (let t0 = 0; t0 < T; ) {
    const t1 = blockEnd(t0, block, T);
    s2Input(xp, v, vPlane, t0, t1, Hp, Wp, Cin, TH, TW);
    products(v, vPlane, u, m, mPlane, t1 - t0, Cin, Cout);
    s2Output(m, mPlane, y, bias, t0, t1, OH, OW, Cout, TH, TW, relu);
    t0 = t1;
  }
}

// One axis of the transformed filter: point a of the taps w0, w1, w2 (flip: read them as w2, w1, w0).
@inline
function gAxis(a: i32, w0: f32, w1: f32, w2: f32): f32 {
  if (a === 0) return w0;
  if (a === 1) return w0 + w2;
  if (a === 2) return w2;
  return w1;
}

// Tap (kh, kw) of the filter (at p, taps `tap` bytes apart), or of the filter rotated by 180 degrees (flip).
@inline
function tapAt(p: i32, tap: i32, kh: i32, kw: i32, flip: i32): f32 {
  return ldf(p + (flip !== 0 ? (2 - kh) * 3 + 2 - kw : kh * 3 + kw) * tap);
}

// s2Filter(g, u, Cin, Cout, flip, transpose): U [16, Cin, Cout] (transpose: [16, Cout, Cin]) from the filter
// g [3, 3, Cin, Cout]; flip 1 rotates it by 180 degrees first (the input gradient's U).
export function s2Filter(g: i32, u: i32, Cin: i32, Cout: i32, flip: i32, transpose: i32): void {
  const tap = (Cin * Cout) << 2;
  for (let ci = 0; ci < Cin; ci++) {
    for (let co = 0; co < Cout; co++) {
      const p = g + ((ci * Cout + co) << 2);
      const o = u + ((transpose !== 0 ? co * Cin + ci : ci * Cout + co) << 2);
      for (let a = 0; a < 4; a++) {
        // Row point a of every filter column, then the same transform along the columns.
        const r0 = gAxis(a, tapAt(p, tap, 0, 0, flip), tapAt(p, tap, 1, 0, flip), tapAt(p, tap, 2, 0, flip));
        const r1 = gAxis(a, tapAt(p, tap, 0, 1, flip), tapAt(p, tap, 1, 1, flip), tapAt(p, tap, 2, 1, flip));
        const r2 = gAxis(a, tapAt(p, tap, 0, 2, flip), tapAt(p, tap, 1, 2, flip), tapAt(p, tap, 2, 2, flip));
        for (let b = 0; b < 4; b++) stf(o + (a * 4 + b) * tap, gAxis(b, r0, r1, r2));
      }
    }
  }
}
