import { ldf, ldv, stf, stv } from './mem';

// adamUpdate(x, m, v, g, xOut, mOut, vOut, n, b1, omb1, b2, omb2, c1, c2, eps, negLr): the
// float32 operations of tfjs's AdamOptimizer.applyGradients, in the same order, so the results
// are bit-identical to tf.train.adam's:
//   m' = m*b1 + g*omb1;  v' = v*b2 + (g*g)*omb2;
//   x' = ((m'/c1) / (sqrt(v'/c2) + eps)) * negLr + x
// Four elements per SIMD step; the tail one at a time through the same vector operations
// (splat, compute, lane 0: the same IEEE float32 results per lane).
export function adamUpdate(x: i32, m: i32, v: i32, g: i32, xo: i32, mo: i32, vo: i32, n: i32,
  b1: f32, omb1: f32, b2: f32, omb2: f32, c1: f32, c2: f32, eps: f32, negLr: f32): void {
  const b1V = f32x4.splat(b1);
  const omb1V = f32x4.splat(omb1);
  const b2V = f32x4.splat(b2);
  const omb2V = f32x4.splat(omb2);
  const c1V = f32x4.splat(c1);
  const c2V = f32x4.splat(c2);
  const epsV = f32x4.splat(eps);
  const negLrV = f32x4.splat(negLr);
  const n4 = n & -4;
  for (let i = 0; i < n4; i += 4) {
    const off = i << 2;
    const gv = ldv(g + off);
    const mv = f32x4.add(f32x4.mul(ldv(m + off), b1V), f32x4.mul(gv, omb1V));
    const vv = f32x4.add(f32x4.mul(ldv(v + off), b2V), f32x4.mul(f32x4.mul(gv, gv), omb2V));
    stv(mo + off, mv);
    stv(vo + off, vv);
    stv(xo + off, f32x4.add(f32x4.mul(f32x4.div(f32x4.div(mv, c1V), f32x4.add(f32x4.sqrt(f32x4.div(vv, c2V)), epsV)), negLrV), ldv(x + off)));
  }
  for (let i = n4; i < n; i++) {
    const off = i << 2;
    const gv = f32x4.splat(ldf(g + off));
    const mv = f32x4.add(f32x4.mul(f32x4.splat(ldf(m + off)), b1V), f32x4.mul(gv, omb1V));
    const vv = f32x4.add(f32x4.mul(f32x4.splat(ldf(v + off)), b2V), f32x4.mul(f32x4.mul(gv, gv), omb2V));
    stf(mo + off, f32x4.extract_lane(mv, 0));
    stf(vo + off, f32x4.extract_lane(vv, 0));
    const xv = f32x4.add(f32x4.mul(f32x4.div(f32x4.div(mv, c1V), f32x4.add(f32x4.sqrt(f32x4.div(vv, c2V)), epsV)), negLrV), f32x4.splat(ldf(x + off)));
    stf(xo + off, f32x4.extract_lane(xv, 0));
  }
}
