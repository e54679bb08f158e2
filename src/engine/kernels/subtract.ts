/**
 * Sub for the wasm backend (speed, bit-identical results).
 *
 * What was slow: centring a [..., C] tensor by a per-channel [C] (or [1, ..., 1, C]) mean (batch
 * normalization's statistics and gradient, ~1.7 ms of a LeNet + BN step in 16 calls) takes the
 * stock kernel's generic broadcasting path, which computes a multi-dimensional index per element.
 *
 * Why this is right: out[r, c] = x[r, c] - b[c] for x viewed as [rows, C], one SIMD wasm loop
 * (assembly/elementwise.ts subRowVector). Subtraction is not commutative, so only x - vector
 * takes it; every other shape pair (vector - x included) keeps the stock kernel.
 */
import { makeRowVectorKernel } from './row-vector';
import type { WasmKernel } from './wasm-internals';

export function makeSubKernel(): WasmKernel {
  return makeRowVectorKernel('Sub', 'subRowVector');
}
