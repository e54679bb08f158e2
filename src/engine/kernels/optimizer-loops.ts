/**
 * Fused optimizer updates in wasm SIMD (see adam-update.ts for why). Part of the heap-loops
 * module: same imported memory, byte pointers.
 */
import { Code, f32, Fn, i32, v128 } from './wasm-asm';

const SCALARS = ['b1', 'omb1', 'b2', 'omb2', 'c1', 'c2', 'eps', 'negLr'] as const;

/**
 * adamUpdate(x, m, v, g, xOut, mOut, vOut, n, b1, omb1, b2, omb2, c1, c2, eps, negLr), the
 * float32 operations of tfjs's AdamOptimizer.applyGradients in the same order:
 *   m' = m*b1 + g*omb1;  v' = v*b2 + (g*g)*omb2;
 *   x' = ((m'/c1) / (sqrt(v'/c2) + eps)) * negLr + x
 */
export function adamUpdateFn(): Fn {
  const locals: Record<string, 'i32' | 'v128'> = { i: 'i32', n4: 'i32', off: 'i32', gv: 'v128', mv: 'v128', vv: 'v128' };
  for (const s of SCALARS) locals[`${s}V`] = 'v128';
  const fn = new Fn('adamUpdate', ['x', 'm', 'v', 'g', 'xo', 'mo', 'vo', 'n', ...SCALARS.map((s) => `${s}:f32`)], locals);
  const g = fn.get;
  const set = fn.set;
  const at = (p: string): Code => i32.add(g(p), g('off'));
  type Ops = { load: (a: Code) => Code; store: (a: Code, v: Code) => Code; add: (a: Code, b: Code) => Code; mul: (a: Code, b: Code) => Code; div: (a: Code, b: Code) => Code; sqrt: (a: Code) => Code; k: (s: string) => Code; gv: string; mv: string; vv: string };
  const body = (o: Ops): Code => [
    set(o.gv, o.load(at('g'))),
    set(o.mv, o.add(o.mul(o.load(at('m')), o.k('b1')), o.mul(g(o.gv), o.k('omb1')))),
    set(o.vv, o.add(o.mul(o.load(at('v')), o.k('b2')), o.mul(o.mul(g(o.gv), g(o.gv)), o.k('omb2')))),
    o.store(at('mo'), g(o.mv)),
    o.store(at('vo'), g(o.vv)),
    o.store(at('xo'), o.add(o.mul(o.div(o.div(g(o.mv), o.k('c1')), o.add(o.sqrt(o.div(g(o.vv), o.k('c2'))), o.k('eps'))), o.k('negLr')), o.load(at('x')))),
  ];
  const vector: Ops = {
    load: (a) => v128.load(a), store: (a, v) => v128.store(a, v), add: v128.f32x4Add, mul: v128.f32x4Mul,
    div: v128.f32x4Div, sqrt: v128.f32x4Sqrt, k: (s) => g(`${s}V`), gv: 'gv', mv: 'mv', vv: 'vv',
  };
  return fn.define([
    SCALARS.map((s) => set(`${s}V`, v128.f32x4Splat(g(s)))),
    set('n4', i32.and(g('n'), i32.const(-4))),
    fn.forRange('i', i32.const(0), g('n4'), [set('off', i32.shl(g('i'), i32.const(2))), body(vector)], i32.const(4)),
    fn.forRange('i', g('n4'), g('n'), [
      set('off', i32.shl(g('i'), i32.const(2))),
      // Scalar lane: splat, compute as vectors, store lane 0 (same IEEE float32 results per lane).
      set('gv', v128.f32x4Splat(f32.load(at('g')))),
      set('mv', v128.f32x4Add(v128.f32x4Mul(v128.f32x4Splat(f32.load(at('m'))), g('b1V')), v128.f32x4Mul(g('gv'), g('omb1V')))),
      set('vv', v128.f32x4Add(v128.f32x4Mul(v128.f32x4Splat(f32.load(at('v'))), g('b2V')), v128.f32x4Mul(v128.f32x4Mul(g('gv'), g('gv')), g('omb2V')))),
      f32.store(at('mo'), v128.f32x4ExtractLane(g('mv'), 0)),
      f32.store(at('vo'), v128.f32x4ExtractLane(g('vv'), 0)),
      f32.store(at('xo'), v128.f32x4ExtractLane(v128.f32x4Add(v128.f32x4Mul(v128.f32x4Div(v128.f32x4Div(g('mv'), g('c1V')),
        v128.f32x4Add(v128.f32x4Sqrt(v128.f32x4Div(g('vv'), g('c2V'))), g('epsV'))), g('negLrV')),
      v128.f32x4Splat(f32.load(at('x')))), 0)),
    ]),
  ]);
}
