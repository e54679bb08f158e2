import { fill0, ldf, ldv, stf, stv } from './mem';

// maxPoolGrad(x, dy, dx, N, H, W, C, OH, OW, sh, sw, fh, fw, pt, pl):
// dx = 0; for every output cell (n, oh, ow, ch): dx[first max of its window] += dy[cell].
// "First" = row-major, strictly greater, starting from -Infinity (the cpu backend's rule);
// a window with no winner (all NaN or -Infinity) adds nothing.
export function maxPoolGrad(x: i32, dy: i32, dx: i32, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, fh: i32, fw: i32, pt: i32, pl: i32): void {
  fill0(dx, (N * H * (W * C)) << 2);
  const cstride = C << 2;
  let dyp = dy;
  for (let n = 0; n < N; n++) {
    const xb = x + ((n * H * (W * C)) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const r0 = oh * sh - pt;
      const rmin = max(r0, 0);
      const rmax = min(r0 + fh, H);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = ow * sw - pl;
        const cmin = max(c0, 0);
        const cmax = min(c0 + fw, W);
        for (let ch = 0; ch < C; ch++) {
          let best = -Infinity as f32;
          let at = 0;
          for (let r = rmin; r < rmax; r++) {
            let p = xb + (((r * W + cmin) * C + ch) << 2);
            for (let c = cmin; c < cmax; c++) {
              const v = ldf(p);
              const t = v > best;
              best = select<f32>(v, best, t);
              at = select<i32>(p, at, t);
              p += cstride;
            }
          }
          if (at != 0) {
            const q = dx + (at - x);
            stf(q, ldf(q) + ldf(dyp));
          }
          dyp += 4;
        }
      }
    }
  }
}

// maxPoolGradSimd(x, y, dy, dx, N, H, W, C, OH, OW, sh, sw, fh, fw, pt, pl), C >= 4: the same
// result as maxPoolGrad given y = the forward max-pool output. Per output cell, 4 channels at a
// time, the gradient goes to the first window element equal to y (the first maximum, ties and
// signed zeros included). The last group starts at C-4 and may overlap the one before: only its
// lanes >= (4 - C%4) % 4 are new (lastMask).
export function maxPoolGradSimd(x: i32, y: i32, dy: i32, dx: i32, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, fh: i32, fw: i32, pt: i32, pl: i32): void {
  fill0(dx, (N * H * (W * C)) << 2);
  const cstride = C << 2;
  const lastMask = i32x4.ge_s(i32x4(0, 1, 2, 3), i32x4.splat((4 - (C & 3)) & 3));
  const allOnes = i32x4.splat(-1);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const r0 = oh * sh - pt;
      const rmin = max(r0, 0);
      const rmax = min(r0 + fh, H);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = ow * sw - pl;
        const cmin = max(c0, 0);
        const cmax = min(c0 + fw, W);
        const cell = (((n * OH + oh) * OW) + ow) * cstride;
        for (let g = 0; g < C; g += 4) {
          const first = min(g, C - 4);
          const ch0 = first << 2;
          let pending = select<v128>(allOnes, lastMask, g == first);
          const yv = ldv(y + cell + ch0);
          const dyv = ldv(dy + cell + ch0);
          for (let r = rmin; r < rmax; r++) {
            // Byte offset shared by x and dx.
            let p = ((n * H + r) * W + cmin) * cstride + ch0;
            for (let c = cmin; c < cmax; c++) {
              const hit = v128.and(f32x4.eq(ldv(x + p), yv), pending);
              pending = v128.andnot(pending, hit);
              stv(dx + p, f32x4.add(ldv(dx + p), v128.and(hit, dyv)));
              p += cstride;
            }
          }
        }
      }
    }
  }
}
