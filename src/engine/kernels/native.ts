/**
 * The native build of the GEMM-shaped convolution loops and the Winograd F(4x4, 3x3) transforms (native/kernels.c, compiled by node-gyp in `npm run build`
 * into build/Release/): 8-lane AVX2 fused multiply-adds where WebAssembly SIMD has 4 lanes, on the same tfjs heap
 * and with the same bits as the relaxed-SIMD wasm build (see kernels.c). `heapLoops` routes those loops here when
 * this module is present; everything else, and any call below the native tiles' minimum sizes, stays in wasm.
 *
 * Used only with the relaxed-SIMD wasm build (the plain build rounds each multiply-add twice, so its bits differ),
 * on a CPU that has AVX2 and FMA3, and unless PIPELINE_NATIVE=off. Where the module was not built (no compiler,
 * another architecture), the wasm kernels run alone, with the bits they give today.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FilterGradOperands, FilterGradShape, HeapLoops } from './heap-loops';

/** The addon's functions: (heap, ...the wasm loop's int32 arguments). */
interface Addon {
  supported(): boolean;
  /**
   * The smallest operands the native tiles take (kernels.c owns them): rows (output pixels or GEMM rows), columns
   * (output channels, GEMM columns, Winograd channels; 8 lanes), and the filter gradient's output channels.
   */
  limits: { rows: number; columns: number; filterChannels: number };
  convForward(heap: ArrayBuffer, ...args: Parameters<HeapLoops['convForward4x2']>): void;
  gemm(heap: ArrayBuffer, ...args: Parameters<HeapLoops['gemm4x2']>): void;
  winograd4Input(heap: ArrayBuffer, ...args: Parameters<HeapLoops['winograd4Input']>): void;
  winograd4GradInput(heap: ArrayBuffer, ...args: Parameters<HeapLoops['winograd4GradInput']>): void;
  winograd4Output(heap: ArrayBuffer, ...args: Parameters<HeapLoops['winograd4Output']>): void;
  winograd4Filter(heap: ArrayBuffer, ...args: Parameters<HeapLoops['winograd4Filter']>): void;
  /** As the wasm loop, without its scratch (the native loop allocates its own). */
  convFilterGradBlocked(heap: ArrayBuffer, ...args: [...FilterGradOperands, ...FilterGradShape]): void;
}

/** Where node-gyp puts the addon, from dist/src/engine/kernels/; PIPELINE_NATIVE_ADDON names another file. */
const addonPath = () =>
  process.env.PIPELINE_NATIVE_ADDON ||
  path.join(__dirname, '..', '..', '..', '..', 'build', 'Release', 'pipeline_kernels.node');

/** Why the native loops are off, or null when they are on; decided once per thread. */
let state: { addon: Addon | null; why: string } | null = null;

function load(build: string): { addon: Addon | null; why: string } {
  if (process.env.PIPELINE_NATIVE === 'off') return { addon: null, why: 'off (PIPELINE_NATIVE=off)' };
  if (build !== 'relaxed-simd') return { addon: null, why: `off (the ${build} wasm build runs)` };
  const file = addonPath();
  if (!fs.existsSync(file)) return { addon: null, why: 'not built' };
  let addon: Addon;
  try {
    addon = require(file) as Addon;
  } catch (err) {
    // A stale or foreign build (another platform's binary, a truncated file): the wasm loops still train.
    return { addon: null, why: `off (${file} does not load: ${(err as Error).message.split('\n')[0]})` };
  }
  if (!addon.supported()) return { addon: null, why: 'off (this CPU lacks AVX2 or FMA3)' };
  return { addon, why: '' };
}

/** The addon when it runs in this process (given the wasm build that runs), else null. */
export function nativeAddon(build: string): Addon | null {
  state ??= load(build);
  return state.addon;
}

/** For the log: 'native avx2', or why not. */
export function nativeStatus(build: string): string {
  state ??= load(build);
  return state.addon ? 'native avx2' : `native ${state.why}`;
}

/**
 * `loops` with the GEMM-shaped loops routed to the addon for the calls its tiles fit; same results, so the choice
 * per call changes no bits. `memory` is the heap both read and write (its buffer is fetched per call: it is
 * replaced when the heap grows).
 */
export function withNative(loops: HeapLoops, memory: { buffer: ArrayBuffer }, addon: Addon): HeapLoops {
  const { rows, columns, filterChannels } = addon.limits;
  const conv =
    (wasm: HeapLoops['convForward4x2']): HeapLoops['convForward4x2'] =>
    (x, w, bias, y, base, m, cout, ...rest) =>
      m >= rows && cout >= columns
        ? addon.convForward(memory.buffer, x, w, bias, y, base, m, cout, ...rest)
        : wasm(x, w, bias, y, base, m, cout, ...rest);
  const gemm =
    (wasm: HeapLoops['gemm4x2']): HeapLoops['gemm4x2'] =>
    (a, sAi, sAt, b, sBt, c, m, n, k) =>
      m >= rows && n >= columns
        ? addon.gemm(memory.buffer, a, sAi, sAt, b, sBt, c, m, n, k)
        : wasm(a, sAi, sAt, b, sBt, c, m, n, k);
  const filterGrad = loops.convFilterGradBlocked;
  const transform =
    (wasm: HeapLoops['winograd4Input'], native: Addon['winograd4Input']): HeapLoops['winograd4Input'] =>
    (p, q, plane, h, w, c, ...rest) =>
      c >= columns ? native(memory.buffer, p, q, plane, h, w, c, ...rest) : wasm(p, q, plane, h, w, c, ...rest);
  const [output, filter] = [loops.winograd4Output, loops.winograd4Filter];
  return {
    ...loops,
    convForward4x1: conv(loops.convForward4x1),
    convForward4x2: conv(loops.convForward4x2),
    convForwardW2: conv(loops.convForwardW2),
    gemm4x1: gemm(loops.gemm4x1),
    gemm4x2: gemm(loops.gemm4x2),
    gemmW2: gemm(loops.gemmW2),
    gemmW3: gemm(loops.gemmW3),
    gemmW4: gemm(loops.gemmW4),
    winograd4Input: transform(loops.winograd4Input, addon.winograd4Input),
    winograd4GradInput: transform(loops.winograd4GradInput, addon.winograd4GradInput),
    winograd4Output: (m, plane, y, bias, oh, ow, c, ...rest) =>
      c >= columns
        ? addon.winograd4Output(memory.buffer, m, plane, y, bias, oh, ow, c, ...rest)
        : output(m, plane, y, bias, oh, ow, c, ...rest),
    winograd4Filter: (g, u, cin, cout) =>
      cout >= columns ? addon.winograd4Filter(memory.buffer, g, u, cin, cout) : filter(g, u, cin, cout),
    convFilterGradBlocked: (x, dy, dw, base, scratch, m, cout, fh, rowFloats, rowBytes) =>
      m >= 1 && cout >= filterChannels && rowFloats >= columns
        ? addon.convFilterGradBlocked(memory.buffer, x, dy, dw, base, m, cout, fh, rowFloats, rowBytes)
        : filterGrad(x, dy, dw, base, scratch, m, cout, fh, rowFloats, rowBytes),
  };
}
