/**
 * Mean for the wasm backend (speed).
 *
 * What was slow: like Sum, reducing the LEADING axes of a tensor (batch statistics of batch
 * normalization: the mean over batch, height and width, per channel) makes the stock kernel
 * transpose the whole tensor so the reduced axes become innermost, then reduce.
 *
 * Why this is right: for x viewed as [rows, C], the mean over the leading axes is
 * out[c] = (sum_r x[r, c]) / rows: the column sums by the SIMD loop Sum uses
 * (assembly/elementwise.ts columnSum), then one float32 division per column, as the stock
 * kernel divides its sum. Every other reduction keeps the stock kernel.
 */
import { makeLeadingAxesKernel } from './leading-axes';
import type { Tf, WasmKernel } from './wasm-internals';

export function makeMeanKernel(tf: Tf): WasmKernel {
  return makeLeadingAxesKernel(tf, 'Mean');
}
