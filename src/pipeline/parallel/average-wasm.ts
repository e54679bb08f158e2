/**
 * The gradient average as a wasm SIMD loop over the shared exchange memory (a shared
 * WebAssembly.Memory, so the loop reads every replica's slot in place: no copy, and none of
 * the slowness of JS reads from a SharedArrayBuffer, ~3x plain ones in V8).
 *
 *   averageTwo(out, a, b, n, wa, wb): out[i] = float32(wa * a[i] + wb * b[i]) for i < n
 *
 * computed in float64 (each float32 widened exactly, two products and a sum rounded in
 * float64, one rounding to float32): the same operations in the same order as the JS
 * expression `out[i] = wa * a[i] + wb * b[i]` on a Float32Array, so the JS path (more than
 * two shards) and this one agree. Two elements per SIMD step; n must be even (slots are
 * padded to a multiple of 4 floats). Pointers are byte offsets.
 */
import { assembleModule, Fn, i32, v128 } from '../../backend/wasm-kernels/wasm-asm';

export const PAGE_BYTES = 65536;

/** The slice of the WebAssembly JS API used here (this project's TS lib config does not declare it). */
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => SharedMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** A shared WebAssembly.Memory: its buffer is a SharedArrayBuffer, and it can be posted to workers. */
export interface SharedMemory {
  readonly buffer: SharedArrayBuffer;
}

const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export function createSharedMemory(bytes: number): SharedMemory {
  const pages = Math.max(1, Math.ceil(bytes / PAGE_BYTES));
  return new WA.Memory({ initial: pages, maximum: pages, shared: true });
}

function averageTwoFn(): Fn {
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

export type AverageTwo = (out: number, a: number, b: number, n: number, wa: number, wb: number) => void;

let compiled: object | undefined;

/** The loop, instantiated on `memory` (from createSharedMemory). */
export function averageTwoOn(memory: SharedMemory): AverageTwo {
  // The import declares the largest shared memory there is: any actual maximum is within it, so one compiled module serves every size.
  compiled ??= new WA.Module(assembleModule([averageTwoFn()], { sharedMemory: { maxPages: 65536 } }));
  const instance = new WA.Instance(compiled, { env: { memory } });
  return instance.exports.averageTwo as AverageTwo;
}
