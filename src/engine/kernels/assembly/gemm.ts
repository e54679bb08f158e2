// Register-tiled float32 matrix products in wasm SIMD, reading operands where they lie on the
// tfjs heap: no packing. (XNNPACK, behind the stock BatchMatMul, re-packs its "weights" operand
// whenever that tensor is new, i.e. on every training step, at ~6 ns per element: more than the
// product itself for the shapes of small conv nets.)
//
// Tile: 4 rows x RN 4-lane column vectors of C held in registers; for each step t of the
// reduction, RN vectors of B's row t are loaded and each of the 4 values A(row, t) is broadcast
// and multiply-added. Edges reuse the last full tile shifted back (overlapping the previous one):
// overlapping cells are recomputed in the same order, so they get the same bits, and no
// partial-tile code is needed. Needs rows >= 4 and cols >= 4*RN. "Full width" variants (...W{RN})
// cover all N columns, 4 < N <= 4*RN, in one tile: vector v sits at column min(4v, N-4), the last
// one overlapping its neighbour (e.g. N = 6: columns 0-3 and 2-5), so each broadcast A value is
// used for every column. Summation is sequential over the reduction in float32, like XNNPACK's.
//
// One source for every variant: `tile` is inlined into each exported function with constant
// RN / FULL / CONV, and the optimizer drops the branches and registers a variant does not use.
import { ldi, ldv, madd, stv } from './mem';

// One row of a tile's accumulators to C at byte offset cp (vector v at cp + vo_v; vo0 is 0).
@inline
function storeRow(RN: i32, cp: i32, vo1: i32, vo2: i32, vo3: i32, r0: v128, r1: v128, r2: v128, r3: v128): void {
  stv(cp, r0);
  if (RN > 1) stv(cp + vo1, r1);
  if (RN > 2) stv(cp + vo2, r2);
  if (RN > 3) stv(cp + vo3, r3);
}

@inline
function tile(CONV: bool, RN: i32, FULL: bool, a: i32, sAi: i32, sAt: i32, kOff: i32, base: i32,
  b: i32, sBt: i32, c: i32, rows: i32, cols: i32, red: i32): void {
  // Byte offset of column vector v (v > 0) inside the tile: 16v, or min(16v, (N-4)*4) at full width.
  const vo1 = FULL ? min(16, (cols - 4) << 2) : 16;
  const vo2 = FULL ? min(32, (cols - 4) << 2) : 32;
  const vo3 = FULL ? min(48, (cols - 4) << 2) : 48;
  const colStep = FULL ? cols : 4 * RN;
  for (let i0 = 0; i0 < rows; i0 += 4) {
    const ii = min(i0, rows - 4);
    for (let j0 = 0; j0 < cols; j0 += colStep) {
      const jj = FULL ? 0 : min(j0, cols - 4 * RN);
      let acc0_0 = f32x4.splat(0), acc0_1 = f32x4.splat(0), acc0_2 = f32x4.splat(0), acc0_3 = f32x4.splat(0);
      let acc1_0 = f32x4.splat(0), acc1_1 = f32x4.splat(0), acc1_2 = f32x4.splat(0), acc1_3 = f32x4.splat(0);
      let acc2_0 = f32x4.splat(0), acc2_1 = f32x4.splat(0), acc2_2 = f32x4.splat(0), acc2_3 = f32x4.splat(0);
      let acc3_0 = f32x4.splat(0), acc3_1 = f32x4.splat(0), acc3_2 = f32x4.splat(0), acc3_3 = f32x4.splat(0);
      // Row r of A at this step: gemm, a_r advancing by sAt; conv, the tap offset a_r plus the
      // window base of output pixel t (from the base table).
      let a0 = CONV ? a + ldi(kOff + ((ii + 0) << 2)) : a + (ii + 0) * sAi;
      let a1 = CONV ? a + ldi(kOff + ((ii + 1) << 2)) : a + (ii + 1) * sAi;
      let a2 = CONV ? a + ldi(kOff + ((ii + 2) << 2)) : a + (ii + 2) * sAi;
      let a3 = CONV ? a + ldi(kOff + ((ii + 3) << 2)) : a + (ii + 3) * sAi;
      let tp = base;
      let bp = b + (jj << 2);
      let bv0 = f32x4.splat(0), bv1 = f32x4.splat(0), bv2 = f32x4.splat(0), bv3 = f32x4.splat(0);
      let av = f32x4.splat(0);
      for (let t = 0; t < red; t++) {
        let bs = 0;
        if (CONV) {
          bs = ldi(tp);
          tp += 4;
        }
        bv0 = ldv(bp);
        if (RN > 1) bv1 = ldv(bp + vo1);
        if (RN > 2) bv2 = ldv(bp + vo2);
        if (RN > 3) bv3 = ldv(bp + vo3);
        av = v128.load32_splat(<usize>(CONV ? a0 + bs : a0));
        acc0_0 = madd(acc0_0, av, bv0);
        if (RN > 1) acc0_1 = madd(acc0_1, av, bv1);
        if (RN > 2) acc0_2 = madd(acc0_2, av, bv2);
        if (RN > 3) acc0_3 = madd(acc0_3, av, bv3);
        av = v128.load32_splat(<usize>(CONV ? a1 + bs : a1));
        acc1_0 = madd(acc1_0, av, bv0);
        if (RN > 1) acc1_1 = madd(acc1_1, av, bv1);
        if (RN > 2) acc1_2 = madd(acc1_2, av, bv2);
        if (RN > 3) acc1_3 = madd(acc1_3, av, bv3);
        av = v128.load32_splat(<usize>(CONV ? a2 + bs : a2));
        acc2_0 = madd(acc2_0, av, bv0);
        if (RN > 1) acc2_1 = madd(acc2_1, av, bv1);
        if (RN > 2) acc2_2 = madd(acc2_2, av, bv2);
        if (RN > 3) acc2_3 = madd(acc2_3, av, bv3);
        av = v128.load32_splat(<usize>(CONV ? a3 + bs : a3));
        acc3_0 = madd(acc3_0, av, bv0);
        if (RN > 1) acc3_1 = madd(acc3_1, av, bv1);
        if (RN > 2) acc3_2 = madd(acc3_2, av, bv2);
        if (RN > 3) acc3_3 = madd(acc3_3, av, bv3);
        if (!CONV) {
          a0 += sAt;
          a1 += sAt;
          a2 += sAt;
          a3 += sAt;
        }
        bp += sBt;
      }
      storeRow(RN, c + (((ii + 0) * cols + jj) << 2), vo1, vo2, vo3, acc0_0, acc0_1, acc0_2, acc0_3);
      storeRow(RN, c + (((ii + 1) * cols + jj) << 2), vo1, vo2, vo3, acc1_0, acc1_1, acc1_2, acc1_3);
      storeRow(RN, c + (((ii + 2) * cols + jj) << 2), vo1, vo2, vo3, acc2_0, acc2_1, acc2_2, acc2_3);
      storeRow(RN, c + (((ii + 3) * cols + jj) << 2), vo1, vo2, vo3, acc3_0, acc3_1, acc3_2, acc3_3);
    }
  }
}

// gemm{4xRN | WRN}(a, sAi, sAt, b, sBt, c, M, N, K):
//   C[i, j] = sum_t A(i, t) * B[t, j],  A(i, t) at a + i*sAi + t*sAt (bytes; so A or its transpose),
//   B[t, j] at b + t*sBt + 4j, C row-major [M, N].
export function gemm4x1(a: i32, sAi: i32, sAt: i32, b: i32, sBt: i32, c: i32, M: i32, N: i32, K: i32): void {
  tile(false, 1, false, a, sAi, sAt, 0, 0, b, sBt, c, M, N, K);
}
export function gemm4x2(a: i32, sAi: i32, sAt: i32, b: i32, sBt: i32, c: i32, M: i32, N: i32, K: i32): void {
  tile(false, 2, false, a, sAi, sAt, 0, 0, b, sBt, c, M, N, K);
}
export function gemmW2(a: i32, sAi: i32, sAt: i32, b: i32, sBt: i32, c: i32, M: i32, N: i32, K: i32): void {
  tile(false, 2, true, a, sAi, sAt, 0, 0, b, sBt, c, M, N, K);
}
export function gemmW3(a: i32, sAi: i32, sAt: i32, b: i32, sBt: i32, c: i32, M: i32, N: i32, K: i32): void {
  tile(false, 3, true, a, sAi, sAt, 0, 0, b, sBt, c, M, N, K);
}
export function gemmW4(a: i32, sAi: i32, sAt: i32, b: i32, sBt: i32, c: i32, M: i32, N: i32, K: i32): void {
  tile(false, 4, true, a, sAi, sAt, 0, 0, b, sBt, c, M, N, K);
}

// convFilterGrad{4xRN | WRN}(x, dy, dw, base, kOff, M, Cout, K):
//   dw[k, co] = sum_m x[base[m] + kOff[k]] * dy[m, co]
// with base[m] (bytes, from x) the top-left of output pixel m's window in the (pre-padded) input
// and kOff[k] (bytes) the offset of filter tap k = (kh, kw, ci) inside a window: the conv filter
// gradient as an implicit GEMM, no im2col buffer. dy's row stride is Cout * 4 bytes.
export function convFilterGrad4x1(x: i32, dy: i32, dw: i32, base: i32, kOff: i32, M: i32, Cout: i32, K: i32): void {
  tile(true, 1, false, x, 0, 0, kOff, base, dy, Cout << 2, dw, K, Cout, M);
}
export function convFilterGrad4x2(x: i32, dy: i32, dw: i32, base: i32, kOff: i32, M: i32, Cout: i32, K: i32): void {
  tile(true, 2, false, x, 0, 0, kOff, base, dy, Cout << 2, dw, K, Cout, M);
}
export function convFilterGrad4x4(x: i32, dy: i32, dw: i32, base: i32, kOff: i32, M: i32, Cout: i32, K: i32): void {
  tile(true, 4, false, x, 0, 0, kOff, base, dy, Cout << 2, dw, K, Cout, M);
}
export function convFilterGradW2(x: i32, dy: i32, dw: i32, base: i32, kOff: i32, M: i32, Cout: i32, K: i32): void {
  tile(true, 2, true, x, 0, 0, kOff, base, dy, Cout << 2, dw, K, Cout, M);
}
export function convFilterGradW3(x: i32, dy: i32, dw: i32, base: i32, kOff: i32, M: i32, Cout: i32, K: i32): void {
  tile(true, 3, true, x, 0, 0, kOff, base, dy, Cout << 2, dw, K, Cout, M);
}
export function convFilterGradW4(x: i32, dy: i32, dw: i32, base: i32, kOff: i32, M: i32, Cout: i32, K: i32): void {
  tile(true, 4, true, x, 0, 0, kOff, base, dy, Cout << 2, dw, K, Cout, M);
}
