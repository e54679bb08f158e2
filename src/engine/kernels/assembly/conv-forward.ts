import { ldi, ldv, madd, stv } from './mem';

// The forward convolution as an implicit GEMM over output pixels, reading the (zero-padded)
// NHWC input in place: no im2col buffer, no packing of the filter.
//   y[m, co] = bias[co] + sum over kh < fh, j < L of x[base[m] + kh*rowBytes + 4j] * w[(kh*L + j)*Cout + co]
// with base[m] (bytes, from x) the top-left of output pixel m's window (convBaseTable) and L = fw*Cin:
// the taps (kw, ci) of one filter row are one contiguous run of L floats of the input, and the
// filter [fh, fw, Cin, Cout] is already that [K, Cout] matrix. The same kernel computes the
// stride-1 input gradient (a convolution of the padded dy with the rotated filter).
//
// Tile: 4 output pixels x RN 4-lane vectors of output channels in registers; per tap, RN vectors
// of the filter row and one broadcast input value per pixel, multiply-added (madd: fused in the
// relaxed-SIMD build). The sum runs over the taps in order from 0; the bias is added to it at the
// store, then relu if asked: the same bits as this kernel without bias followed by tfjs's Add and
// Relu, which is what tfjs autograd runs (Conv2D, Add, Relu) where the direct step runs FusedConv2D. Edges as in gemm.ts: the last pixel tile is shifted
// back to end at M, the last channel tile to end at Cout, and "full width" tiles (FULL) cover
// 4 < Cout <= 4*RN with vector v at min(4v, Cout-4): overlapping lanes are computed twice in the
// same order, so they get the same bits. Needs M >= 4 and Cout >= 4.

// A sum's output: plus the bias vector bv if there is a bias (else untouched: -0 stays -0), then relu if asked.
@inline
function out(v: v128, bv: v128, hasBias: bool, relu: bool): v128 {
  const z = hasBias ? f32x4.add(v, bv) : v;
  return relu ? f32x4.max(z, f32x4.splat(0)) : z;
}

@inline
function storeRow(RN: i32, p: i32, vo1: i32, hasBias: bool, relu: bool, r0: v128, r1: v128, b0: v128, b1: v128): void {
  stv(p, out(r0, b0, hasBias, relu));
  if (RN > 1) stv(p + vo1, out(r1, b1, hasBias, relu));
}

@inline
function biasAt(bias: i32, j: i32): v128 {
  return bias === 0 ? f32x4.splat(0) : ldv(bias + (j << 2));
}

@inline
function convTile(RN: i32, FULL: bool, x: i32, w: i32, bias: i32, y: i32, base: i32, M: i32, Cout: i32,
  fh: i32, L: i32, rowBytes: i32, relu: bool, ytab: i32): void {
  const vo1 = FULL ? min(16, (Cout - 4) << 2) : 16;
  const colStep = FULL ? Cout : 4 * RN;
  const wRow = Cout << 2;
  for (let i0 = 0; i0 < M; i0 += 4) {
    const ii = min(i0, M - 4);
    const bp = base + (ii << 2);
    const p0 = x + ldi(bp), p1 = x + ldi(bp + 4), p2 = x + ldi(bp + 8), p3 = x + ldi(bp + 12);
    for (let j0 = 0; j0 < Cout; j0 += colStep) {
      const jj = FULL ? 0 : min(j0, Cout - 4 * RN);
      const z = f32x4.splat(0);
      let a00 = z, a01 = z, a10 = z, a11 = z, a20 = z, a21 = z, a30 = z, a31 = z;
      let wp = w + (jj << 2);
      for (let kh = 0; kh < fh; kh++) {
        const off = kh * rowBytes;
        const end = off + (L << 2);
        for (let o = off; o < end; o += 4) {
          const w0 = ldv(wp);
          const w1 = RN > 1 ? ldv(wp + vo1) : w0;
          let s = v128.load32_splat(<usize>(p0 + o));
          a00 = madd(a00, s, w0);
          if (RN > 1) a01 = madd(a01, s, w1);
          s = v128.load32_splat(<usize>(p1 + o));
          a10 = madd(a10, s, w0);
          if (RN > 1) a11 = madd(a11, s, w1);
          s = v128.load32_splat(<usize>(p2 + o));
          a20 = madd(a20, s, w0);
          if (RN > 1) a21 = madd(a21, s, w1);
          s = v128.load32_splat(<usize>(p3 + o));
          a30 = madd(a30, s, w0);
          if (RN > 1) a31 = madd(a31, s, w1);
          wp += wRow;
        }
      }
      const b0 = biasAt(bias, jj);
      const b1 = RN > 1 ? biasAt(bias, jj + (vo1 >> 2)) : b0;
      const yp = y + ((ii * Cout + jj) << 2);
      const tp = ytab + (ii << 2);
      const q0 = ytab === 0 ? yp : y + ldi(tp) + (jj << 2);
      const q1 = ytab === 0 ? yp + wRow : y + ldi(tp + 4) + (jj << 2);
      const q2 = ytab === 0 ? yp + 2 * wRow : y + ldi(tp + 8) + (jj << 2);
      const q3 = ytab === 0 ? yp + 3 * wRow : y + ldi(tp + 12) + (jj << 2);
      storeRow(RN, q0, vo1, bias !== 0, relu, a00, a01, b0, b1);
      storeRow(RN, q1, vo1, bias !== 0, relu, a10, a11, b0, b1);
      storeRow(RN, q2, vo1, bias !== 0, relu, a20, a21, b0, b1);
      storeRow(RN, q3, vo1, bias !== 0, relu, a30, a31, b0, b1);
    }
  }
}

// convForward{4x1 | 4x2 | W2}(x, w, bias, y, base, M, Cout, fh, L, rowBytes, relu, ytab): see above; bias 0
// for none, relu 0 or 1; M >= 4. ytab 0: pixel m's outputs at y + m*Cout*4; else at y + ytab[m] (bytes):
// the phases of a strided input gradient write every s-th pixel of dx. 4x1: tiles of 4 channels; 4x2: of 8 (Cout >= 8); W2: one tile
// of two vectors covering 4 < Cout <= 8. (6 or 5 pixel rows, 12 or 10 accumulators, measured 1.6-2x
// slower: V8 spills them.)
export function convForward4x1(x: i32, w: i32, bias: i32, y: i32, base: i32, M: i32, Cout: i32, fh: i32, L: i32,
  rowBytes: i32, relu: i32, ytab: i32): void {
  convTile(1, false, x, w, bias, y, base, M, Cout, fh, L, rowBytes, relu !== 0, ytab);
}
export function convForward4x2(x: i32, w: i32, bias: i32, y: i32, base: i32, M: i32, Cout: i32, fh: i32, L: i32,
  rowBytes: i32, relu: i32, ytab: i32): void {
  convTile(2, false, x, w, bias, y, base, M, Cout, fh, L, rowBytes, relu !== 0, ytab);
}
export function convForwardW2(x: i32, w: i32, bias: i32, y: i32, base: i32, M: i32, Cout: i32, fh: i32, L: i32,
  rowBytes: i32, relu: i32, ytab: i32): void {
  convTile(2, true, x, w, bias, y, base, M, Cout, fh, L, rowBytes, relu !== 0, ytab);
}
