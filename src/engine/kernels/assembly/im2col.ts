import { fill0, ldf, ldv, sti, stf, stv } from './mem';

// im2colT(x, pt, N, H, W, C, OH, OW, sh, sw, fh, fw, padT, padL): transposed patches for a conv
// filter gradient on shapes below one GEMM tile:
//   pt[((kh*fw + kw)*C + ci) * M + (n*OH + oh)*OW + ow] = x[n, oh*sh+kh-padT, ow*sw+kw-padL, ci] or 0,
// with M = N*OH*OW.
export function im2colT(x: i32, pt: i32, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, fh: i32, fw: i32, padT: i32, padL: i32): void {
  const M = N * OH * OW;
  const srcStep = (sw * C) << 2;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const col = (n * OH + oh) * OW;
      for (let kh = 0; kh < fh; kh++) {
        const ih = oh * sh + kh - padT;
        for (let kw = 0; kw < fw; kw++) {
          // Output columns whose input column is inside: [owMin, owMax).
          let t = padL - kw;
          let owMin = select<i32>((t + sw - 1) / sw, 0, t > 0);
          owMin = min(owMin, OW);
          t = W - 1 + padL - kw;
          let owMax = select<i32>(t / sw + 1, 0, t >= 0);
          owMax = min(owMax, OW);
          owMax = max(owMax, owMin);
          for (let ci = 0; ci < C; ci++) {
            let dst = pt + ((((kh * fw + kw) * C + ci) * M + col) << 2);
            if (ih >= 0 && ih < H) {
              fill0(dst, owMin << 2);
              let src = x + ((((n * H + ih) * W + (owMin * sw + kw - padL)) * C + ci) << 2);
              dst += owMin << 2;
              for (let ow = owMin; ow < owMax; ow++) {
                stf(dst, ldf(src));
                dst += 4;
                src += srcStep;
              }
              fill0(dst, (OW - owMax) << 2);
            } else {
              fill0(dst, OW << 2);
            }
          }
        }
      }
    }
  }
}

// col2im(dp, dx, N, H, W, C, OH, OW, sh, sw, fh, fw, padT, padL): the input gradient from patch
// gradients dp [M, fh*fw*C]: dx = 0; for each output pixel m = (n, oh, ow) and tap (kh, kw)
// inside the input: dx[n, oh*sh+kh-padT, ow*sw+kw-padL, :] += dp[m, (kh*fw + kw)*C : ... + C].
export function col2im(dp: i32, dx: i32, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, fh: i32, fw: i32, padT: i32, padL: i32): void {
  fill0(dx, (N * H * (W * C)) << 2);
  const c4 = C & -4;
  let src = dp;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let kh = 0; kh < fh; kh++) {
          const ih = oh * sh + kh - padT;
          for (let kw = 0; kw < fw; kw++) {
            const iw = ow * sw + kw - padL;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
              let dst = dx + ((((n * H + ih) * W + iw) * C) << 2);
              for (let c = 0; c < c4; c += 4) {
                stv(dst, f32x4.add(ldv(dst), ldv(src)));
                dst += 16;
                src += 16;
              }
              if (C - c4 >= 2) {
                // Two more channels (6 = 4 + 2, LeNet's) as one 64-bit lane pair, not two scalar adds.
                const sum = f32x4.add(v128.load64_zero(<usize>dst), v128.load64_zero(<usize>src));
                v128.store64_lane(<usize>dst, sum, 0);
                dst += 8;
                src += 8;
              }
              if (C - c4 === 3 || C - c4 === 1) {
                stf(dst, ldf(dst) + ldf(src));
                dst += 4;
                src += 4;
              }
            } else {
              src += C << 2;
            }
          }
        }
      }
    }
  }
}

// convBaseTable(table, N, OH, OW, Hp, Wp, C, sh, sw): table[m] = ((n*Hp + oh*sh)*Wp + ow*sw)*C*4,
// the byte offset of output pixel m's window in the padded input (convFilterGrad's rows).
export function convBaseTable(table: i32, N: i32, OH: i32, OW: i32, Hp: i32, Wp: i32, C: i32, sh: i32, sw: i32): void {
  let p = table;
  const step = (sw * C) << 2;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      let v = ((n * Hp + oh * sh) * Wp * C) << 2;
      for (let ow = 0; ow < OW; ow++) {
        sti(p, v);
        p += 4;
        v += step;
      }
    }
  }
}

// padNhwc(x, y, N, H, W, C, top, bottom, left, right): y [N, top+H+bottom, left+W+right, C] = x
// with zero rows above and below and zero columns left and right of every image: row copies and
// fills (the stock PadV2 moves one element at a time: 0.9 ms for a [32,32,32,3] input).
export function padNhwc(x: i32, y: i32, N: i32, H: i32, W: i32, C: i32, top: i32, bottom: i32, left: i32,
  right: i32): void {
  const rowIn = (W * C) << 2;
  const rowOut = ((left + W + right) * C) << 2;
  const leftBytes = (left * C) << 2;
  const rightBytes = (right * C) << 2;
  let src = x;
  let dst = y;
  for (let n = 0; n < N; n++) {
    fill0(dst, top * rowOut);
    dst += top * rowOut;
    for (let h = 0; h < H; h++) {
      fill0(dst, leftBytes);
      memory.copy(<usize>(dst + leftBytes), <usize>src, <usize>rowIn);
      fill0(dst + leftBytes + rowIn, rightBytes);
      src += rowIn;
      dst += rowOut;
    }
    fill0(dst, bottom * rowOut);
    dst += bottom * rowOut;
  }
}

// stackRows(x, y, N, Hp, Wp, C, fh, OH, sh): y[n, oh, w, kh*C + c] = x[n, oh*sh + kh, w, c] for the padded
// NHWC x (Hp x Wp): each output row's fh input rows side by side, so that a window's taps (kw, kh, c) are one
// contiguous run of fw*fh*C floats (a filter gradient's 8-tap tiles then waste little on 3-channel inputs).
export function stackRows(x: i32, y: i32, N: i32, Hp: i32, Wp: i32, C: i32, fh: i32, OH: i32, sh: i32): void {
  const cBytes = C << 2;
  const rowBytes = Wp * cBytes;
  const pixel = fh * cBytes;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const out = y + (n * OH + oh) * Wp * pixel;
      for (let kh = 0; kh < fh; kh++) {
        let src = x + (n * Hp + oh * sh + kh) * rowBytes;
        let dst = out + kh * cBytes;
        const end = src + rowBytes;
        while (src < end) {
          for (let b = 0; b < cBytes; b += 4) stf(dst + b, ldf(src + b));
          src += cBytes;
          dst += pixel;
        }
      }
    }
  }
}
