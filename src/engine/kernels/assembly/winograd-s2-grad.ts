import { ldv, stv, tileOrigin } from './mem';
import { blockEnd, products } from './winograd-s2';

// The gradients of the stride-2 3x3 convolution of winograd-s2.ts (see there for the transforms).

// Row point i of the input gradient's transform of the dy window column at p (its 3 rows `row` bytes apart).
@inline
function igRow(i: i32, p: i32, row: i32): v128 {
  if (i === 0) return f32x4.sub(ldv(p), ldv(p + row));
  if (i === 1 || i === 3) return ldv(p + row);
  if (i === 2) return f32x4.sub(ldv(p + 2 * row), ldv(p + row));
  return ldv(p + 2 * row);
}

@inline
function igPoint(i: i32, p: i32, row: i32, px: i32, q: i32, plane: i32): void {
  const c0 = igRow(i, p, row), c1 = igRow(i, p + px, row), c2 = igRow(i, p + 2 * px, row);
  const o = q + i * 5 * plane;
  stv(o, f32x4.sub(c0, c1));
  stv(o + plane, c1);
  stv(o + 2 * plane, f32x4.sub(c2, c1));
  stv(o + 3 * plane, c1);
  stv(o + 4 * plane, c2);
}

// s2GradInput(dyp, v, plane, t0, t1, Hp, Wp, C, TH, TW): the input gradient's V[ξ] rows t - t0 for tiles
// t0 <= t < t1 from dy zero-padded by one row and column before (dyp [N, Hp, Wp, C]; tile (th, tw) reads rows
// 2th..2th+2, columns 2tw..2tw+2: Hp >= 2*TH + 1, Wp >= 2*TW + 1).
export function s2GradInput(dyp: i32, v: i32, plane: i32, t0: i32, t1: i32, Hp: i32, Wp: i32, C: i32, TH: i32,
  TW: i32): void {
  const row = (Wp * C) << 2;
  const px = C << 2;
  for (let t = t0; t < t1; t++) {
    const origin = tileOrigin(t, TH, TW, Hp, Wp, 2);
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const p = dyp + ((origin * C + c) << 2);
      const q = v + (((t - t0) * C + c) << 2);
      igPoint(0, p, row, px, q, plane);
      igPoint(1, p, row, px, q, plane);
      igPoint(2, p, row, px, q, plane);
      igPoint(3, p, row, px, q, plane);
      igPoint(4, p, row, px, q, plane);
    }
  }
}

// dx' row r (0..3) of a tile at point column j: [m0 + m1, m3, m1 + m2, m4] along rows (M[ξ] at q + ξ*plane).
@inline
function igOutRow(r: i32, q: i32, plane: i32, j: i32): v128 {
  if (r === 0) return f32x4.add(ldv(q + j * plane), ldv(q + (5 + j) * plane));
  if (r === 1) return ldv(q + (15 + j) * plane);
  if (r === 2) return f32x4.add(ldv(q + (5 + j) * plane), ldv(q + (10 + j) * plane));
  return ldv(q + (20 + j) * plane);
}

@inline
function storeIn(rowp: i32, w: i32, W: i32, px: i32, v: v128): void {
  if (w >= 0 && w < W) stv(rowp + w * px, v);
}

// Row r of a tile into dx row h (if inside), columns w0..w0+3 (those inside).
@inline
function igOutput(r: i32, q: i32, plane: i32, rowp: i32, h: i32, H: i32, w0: i32, W: i32, px: i32): void {
  if (h < 0 || h >= H) return;
  const s0 = igOutRow(r, q, plane, 0), s1 = igOutRow(r, q, plane, 1), s2 = igOutRow(r, q, plane, 2);
  const s3 = igOutRow(r, q, plane, 3), s4 = igOutRow(r, q, plane, 4);
  storeIn(rowp, w0, W, px, f32x4.add(s0, s1));
  storeIn(rowp, w0 + 1, W, px, s3);
  storeIn(rowp, w0 + 2, W, px, f32x4.add(s1, s2));
  storeIn(rowp, w0 + 3, W, px, s4);
}

// s2GradOutput(m, plane, dx, t0, t1, H, W, C, TH, TW, padTop, padLeft): dx [N, H, W, C] of tiles t0 <= t < t1
// (tile (th, tw): rows 4th - padTop .. +3, columns 4tw - padLeft .. +3, those inside) from M[ξ] rows t - t0.
export function s2GradOutput(m: i32, plane: i32, dx: i32, t0: i32, t1: i32, H: i32, W: i32, C: i32, TH: i32,
  TW: i32, padTop: i32, padLeft: i32): void {
  const px = C << 2;
  const rowBytes = (W * C) << 2;
  for (let t = t0; t < t1; t++) {
    const tw = t % TW;
    const th = (t / TW) % TH;
    const n = t / (TW * TH);
    const h0 = 4 * th - padTop;
    const w0 = 4 * tw - padLeft;
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const q = m + (((t - t0) * C + c) << 2);
      // Row h0 of image n at column 0 (possibly outside dx: only rows inside are written).
      const rowp = dx + ((((n * H + h0) * W) * C + c) << 2);
      igOutput(0, q, plane, rowp, h0, H, w0, W, px);
      igOutput(1, q, plane, rowp + rowBytes, h0 + 1, H, w0, W, px);
      igOutput(2, q, plane, rowp + 2 * rowBytes, h0 + 2, H, w0, W, px);
      igOutput(3, q, plane, rowp + 3 * rowBytes, h0 + 3, H, w0, W, px);
    }
  }
}

// s2InputGrad(dyp, u, dx, v, m, vPlane, mPlane, N, Hp, Wp, Cout, H, W, Cin, padTop, padLeft, block): dx
// [N, H, W, Cin] from dyp (see s2GradInput; TH = ceil((padTop + H) / 4), TW likewise) and U [16, Cout, Cin]
// (s2Filter with flip and transpose), `block` tiles at a time; N*TH*TW >= 4.
export function s2InputGrad(dyp: i32, u: i32, dx: i32, v: i32, m: i32, vPlane: i32, mPlane: i32, N: i32, Hp: i32,
  Wp: i32, Cout: i32, H: i32, W: i32, Cin: i32, padTop: i32, padLeft: i32, block: i32): void {
  const TH = (padTop + H + 3) >> 2;
  const TW = (padLeft + W + 3) >> 2;
  const T = N * TH * TW;
  for (let t0 = 0; t0 < T; ) {
    const t1 = blockEnd(t0, block, T);
    s2GradInput(dyp, v, vPlane, t0, t1, Hp, Wp, Cout, TH, TW);
    products(v, vPlane, u, m, mPlane, t1 - t0, Cout, Cin);
    s2GradOutput(m, mPlane, dx, t0, t1, H, W, Cin, TH, TW, padTop, padLeft);
    t0 = t1;
  }
}

// The filter gradient: E = A dY Aᵀ per tile, A = [1 0; 1 1; 0 1; 1 0; 0 1] along each axis, whose rows 3 and 4
// repeat rows 0 and 2: 9 distinct planes E[r*3 + k] (the point (i, j) reads E[eOf(i)*3 + eOf(j)]).
@inline
function gradRow(q: i32, plane: i32, a: v128, b: v128): void {
  stv(q, a);
  stv(q + plane, f32x4.add(a, b));
  stv(q + 2 * plane, b);
}

// s2GradTiles(dyp, e, plane, N, OHp, OWp, C, TH, TW): E [9, T, C] (E[k] at e + k*plane bytes) from dy
// [N, OHp, OWp, C], OHp >= 2*TH and OWp >= 2*TW (odd sizes zero-padded by the caller).
export function s2GradTiles(dyp: i32, e: i32, plane: i32, N: i32, OHp: i32, OWp: i32, C: i32, TH: i32,
  TW: i32): void {
  const row = (OWp * C) << 2;
  const px = C << 2;
  const T = N * TH * TW;
  for (let t = 0; t < T; t++) {
    const origin = tileOrigin(t, TH, TW, OHp, OWp, 2);
    for (let c0 = 0; c0 < C; c0 += 4) {
      const c = min(c0, C - 4);
      const p = dyp + ((origin * C + c) << 2);
      const q = e + ((t * C + c) << 2);
      const y00 = ldv(p), y01 = ldv(p + px), y10 = ldv(p + row), y11 = ldv(p + row + px);
      gradRow(q, plane, y00, y01);
      gradRow(q + 3 * plane, plane, f32x4.add(y00, y10), f32x4.add(y01, y11));
      gradRow(q + 6 * plane, plane, y10, y11);
    }
  }
}

// Gᵀ along rows: tap row k takes dU points [0, 1], [3, 4], [1, 2] (k = 0, 1, 2) at point column b.
@inline
function gtRow(k: i32, p: i32, tap: i32, b: i32): v128 {
  const a = k === 0 ? 0 : k === 1 ? 3 : 1;
  return f32x4.add(ldv(p + (a * 5 + b) * tap), ldv(p + ((a + 1) * 5 + b) * tap));
}

@inline
function gtTap(k: i32, l: i32, p: i32, tap: i32): v128 {
  const b = l === 0 ? 0 : l === 1 ? 3 : 1;
  return f32x4.add(gtRow(k, p, tap, b), gtRow(k, p, tap, b + 1));
}

// s2FilterGrad(du, dw, Cin, Cout): dw [3, 3, Cin, Cout] = Gᵀ dU G from dU [25, Cin, Cout]; Cout >= 4.
export function s2FilterGrad(du: i32, dw: i32, Cin: i32, Cout: i32): void {
  const tap = (Cin * Cout) << 2;
  for (let ci = 0; ci < Cin; ci++) {
    for (let c0 = 0; c0 < Cout; c0 += 4) {
      const off = (ci * Cout + min(c0, Cout - 4)) << 2;
      const p = du + off;
      const o = dw + off;
      stv(o, gtTap(0, 0, p, tap));
      stv(o + tap, gtTap(0, 1, p, tap));
      stv(o + 2 * tap, gtTap(0, 2, p, tap));
      stv(o + 3 * tap, gtTap(1, 0, p, tap));
      stv(o + 4 * tap, gtTap(1, 1, p, tap));
      stv(o + 5 * tap, gtTap(1, 2, p, tap));
      stv(o + 6 * tap, gtTap(2, 0, p, tap));
      stv(o + 7 * tap, gtTap(2, 1, p, tap));
      stv(o + 8 * tap, gtTap(2, 2, p, tap));
    }
  }
}
