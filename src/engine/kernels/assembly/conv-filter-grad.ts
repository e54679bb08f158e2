import { ldf, ldi, ldv, madd, stf, stv } from './mem';

// The conv2d filter gradient as a register-tiled, cache-blocked GEMM over the output pixels:
//   dWt[co, k] = sum over m of dy[m, co] * x[base[m] + kh*rowBytes + 4j],   k = kh*L + j
// with base[m] (bytes) the top-left of output pixel m's window in the zero-padded NHWC input,
// kh a filter row and j < L = fw*Cin the position inside that row of the window: one filter row's
// taps (kw, ci) are one contiguous run of L floats in NHWC, so the x operand of a tile is read
// as whole f32x4 vectors straight from the input (no im2col, no gather), and dy's row m gives
// the MR = 4 broadcast values. Why this orientation: the earlier kernel (gemm.ts convFilterGrad)
// put the taps on the broadcast side, 4 scalar loads per step through an offset table, and
// streamed the whole of x and dy from memory once per 4x16 tile.
//
// Tile: 4 output channels x 8 taps (two f32x4 per channel: 8 accumulators, which V8 keeps in
// registers on x86's 16; measured fastest of 2..16 rows x 4..16 columns on this kind of machine).
// A row segment of L taps is cut into tiles of 8 whose last one is shifted back to end at L
// (overlapping its neighbour), and a tile narrower than 8 (L < 8) uses one vector at j and one
// at L-4: overlapping lanes are computed twice in the same order, so they get the same bits.
// Output channels are cut the same way (the last 4 shifted back), so Cout >= 4 and L >= 4.
//
// Blocking: pixels are taken BLOCK at a time and every tile visits the block before the next
// block starts, so a block's x rows and dy rows are read from L1/L2 by every tile instead of
// from memory. Each tile keeps its running sums in its own slot of `scratch` (tiles overlap in
// dWt, so they cannot accumulate there), 32 floats per tile; the sums run over m in order in
// float32, exactly as an unblocked loop would. At the end every slot is written into dw in the
// filter's [kh, kw, ci, co] layout.

const BLOCK: i32 = 128;

@inline
function tile(x: i32, dy: i32, base: i32, m0: i32, m1: i32, cout4: i32, colOff: i32, vo1: i32, co: i32, slot: i32,
  first: bool): void {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let b0 = f32x4.splat(0);
  let b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0);
  let c1 = f32x4.splat(0);
  let d0 = f32x4.splat(0);
  let d1 = f32x4.splat(0);
  if (!first) {
    a0 = ldv(slot);
    a1 = ldv(slot + 16);
    b0 = ldv(slot + 32);
    b1 = ldv(slot + 48);
    c0 = ldv(slot + 64);
    c1 = ldv(slot + 80);
    d0 = ldv(slot + 96);
    d1 = ldv(slot + 112);
  }
  let bp = base + (m0 << 2);
  const bEnd = base + (m1 << 2);
  let dp = dy + m0 * cout4 + (co << 2);
  const xc = x + colOff;
  while (bp < bEnd) {
    const xp = xc + ldi(bp);
    const v0 = ldv(xp);
    const v1 = ldv(xp + vo1);
    let s = v128.load32_splat(<usize>dp);
    a0 = madd(a0, s, v0);
    a1 = madd(a1, s, v1);
    s = v128.load32_splat(<usize>(dp + 4));
    b0 = madd(b0, s, v0);
    b1 = madd(b1, s, v1);
    s = v128.load32_splat(<usize>(dp + 8));
    c0 = madd(c0, s, v0);
    c1 = madd(c1, s, v1);
    s = v128.load32_splat(<usize>(dp + 12));
    d0 = madd(d0, s, v0);
    d1 = madd(d1, s, v1);
    bp += 4;
    dp += cout4;
  }
  stv(slot, a0);
  stv(slot + 16, a1);
  stv(slot + 32, b0);
  stv(slot + 48, b1);
  stv(slot + 64, c0);
  stv(slot + 80, c1);
  stv(slot + 96, d0);
  stv(slot + 112, d1);
}

// Where tile jt of a row segment of L taps starts, and its second vector's byte offset.
@inline function tileStart(jt: i32, L: i32): i32 { return min(jt << 3, max(L - 8, 0)); }
@inline function secondVector(L: i32): i32 { return min(16, (L - 4) << 2); }

// convFilterGradBlocked(x, dy, dw, base, scratch, M, Cout, fh, L, rowBytes), M >= 1, Cout >= 4, L >= 4:
//   dw[kh, kw, ci, co] (= dw[(kh*L + j)*Cout + co]) = sum_m dy[m, co] * x[base[m] + kh*rowBytes + 4j]
// scratch: 32 floats per tile, fh * ceil(L/8) * ceil(Cout/4) tiles (convFilterGradScratch).
export function convFilterGradBlocked(x: i32, dy: i32, dw: i32, base: i32, scratch: i32, M: i32, Cout: i32, fh: i32,
  L: i32, rowBytes: i32): void {
  const jTiles = (L + 7) >> 3;
  const cTiles = (Cout + 3) >> 2;
  const vo1 = secondVector(L);
  const cout4 = Cout << 2;
  for (let m0 = 0; m0 < M; m0 += BLOCK) {
    const m1 = min(m0 + BLOCK, M);
    let slot = scratch;
    for (let kh = 0; kh < fh; kh++) {
      for (let jt = 0; jt < jTiles; jt++) {
        const colOff = kh * rowBytes + (tileStart(jt, L) << 2);
        for (let ct = 0; ct < cTiles; ct++) {
          const co = min(ct << 2, Cout - 4);
          if (m0 === 0) tile(x, dy, base, m0, m1, cout4, colOff, vo1, co, slot, true);
          else tile(x, dy, base, m0, m1, cout4, colOff, vo1, co, slot, false);
          slot += 128;
        }
      }
    }
  }
  // Slots to dw[(kh*L + j)*Cout + co]; overlapping tiles write equal values.
  let slot = scratch;
  for (let kh = 0; kh < fh; kh++) {
    for (let jt = 0; jt < jTiles; jt++) {
      const j = tileStart(jt, L);
      for (let ct = 0; ct < cTiles; ct++) {
        const co = min(ct << 2, Cout - 4);
        for (let r = 0; r < 4; r++) {
          for (let v = 0; v < 2; v++) {
            const j0 = j + (v === 0 ? 0 : vo1 >> 2);
            for (let lane = 0; lane < 4; lane++) {
              const k = kh * L + j0 + lane;
              stf(dw + ((k * Cout + co + r) << 2), ldf(slot + (((r * 2 + v) * 4 + lane) << 2)));
            }
          }
        }
        slot += 128;
      }
    }
  }
}

// Bytes of scratch convFilterGradBlocked needs.
export function convFilterGradScratch(Cout: i32, fh: i32, L: i32): i32 {
  return fh * ((L + 7) >> 3) * ((Cout + 3) >> 2) * 128;
}
