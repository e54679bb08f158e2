/**
 * averageTwo(out, a, b, n, wa, wb): out[i] = float32(wa * a[i] + wb * b[i]) for i < n.
 *
 * The data-parallel gradient average of two shards (src/engine/shard-average.ts),
 * computed in float64 (each float32 widened exactly, two products and a sum rounded in
 * float64, one rounding to float32): the same operations in the same order as the JS
 * expression `out[i] = wa * a[i] + wb * b[i]` on a Float32Array, so every path that averages
 * gets the same bits. Two elements per SIMD step; n must be even. Pointers are byte offsets.
 * Assembled twice: on the shared exchange memory between replicas (average-wasm.ts), and on
 * the tfjs heap for a single replica's own shards (heap-loops.ts).
 */
import { Fn, i32, v128 } from './wasm-asm';

export function averageTwoFn(): Fn {
  const fn = new Fn('averageTwo', ['out', 'a', 'b', 'n', 'wa:f64', 'wb:f64'], { i: 'i32', off: 'i32', waV: 'v128', wbV: 'v128' });
  const g = fn.get;
  const set = fn.set;
  const pair = (p: string) => v128.f64x2PromoteLowF32x4(v128.load64Zero(i32.add(g(p), g('off'))));
  return fn.define([
    set('waV', v128.f64x2Splat(g('wa'))),
    set('wbV', v128.f64x2Splat(g('wb'))),
    fn.forRange('i', i32.const(0), g('n'), [
      set('off', i32.shl(g('i'), i32.const(2))),
      v128.store64Lane(i32.add(g('out'), g('off')), v128.f32x4DemoteF64x2Zero(v128.f64x2Add(v128.f64x2Mul(pair('a'), g('waV')), v128.f64x2Mul(pair('b'), g('wbV')))), 0),
    ], i32.const(2)),
  ]);
}

