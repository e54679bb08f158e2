// averageTwo(out, a, b, n, wa, wb): out[i] = float32(wa * a[i] + wb * b[i]) for i < n.
//
// The data-parallel gradient average of two shards (src/engine/shard-average.ts), in float64
// (each float32 widened exactly, two products and a sum rounded in float64, one rounding to
// float32): the same operations in the same order as the JS expression
// `out[i] = wa * a[i] + wb * b[i]` on a Float32Array, so every path that averages gets the same
// bits. Two elements per SIMD step; n must be even. Compiled twice: on the shared exchange
// memory between replicas (shared-average.ts), and on the tfjs heap (heap.ts).

@inline function pair(p: i32): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(<usize>p));
}

export function averageTwo(out: i32, a: i32, b: i32, n: i32, wa: f64, wb: f64): void {
  const waV = f64x2.splat(wa);
  const wbV = f64x2.splat(wb);
  for (let i = 0; i < n; i += 2) {
    const off = i << 2;
    const sum = f64x2.add(f64x2.mul(pair(a + off), waV), f64x2.mul(pair(b + off), wbV));
    v128.store64_lane(<usize>(out + off), f32x4.demote_f64x2_zero(sum), 0);
  }
}
