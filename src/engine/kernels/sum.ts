/**
 * Sum for the wasm backend (speed, same results up to float32 summation order).
 *
 * What was slow: reducing the LEADING axes of a tensor (bias gradients: sum of dy over
 * batch/rows/cols, leaving channels) makes the stock kernel transpose the whole tensor so the
 * reduced axes become innermost, then reduce: ~3x the memory traffic and a generic transpose.
 *
 * Why this is right: for x viewed as [rows, C] (rows = product of the reduced leading axes),
 * sum over those axes is out[c] = sum_r x[r, c]; a SIMD wasm loop (assembly/elementwise.ts columnSum)
 * adds rows into the output in one pass. Every other reduction keeps the stock kernel.
 */
import { makeLeadingAxesKernel } from './leading-axes';
import type { Tf, WasmKernel } from './wasm-internals';

export function makeSumKernel(tf: Tf): WasmKernel {
  return makeLeadingAxesKernel(tf, 'Sum');
}
