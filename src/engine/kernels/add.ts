/**
 * Add for the wasm backend (speed, bit-identical results).
 *
 * What was slow: adding a bias vector [C] to a [..., C] tensor (conv and dense biases outside
 * the fused kernels, i.e. whenever gradients are recorded) takes the stock kernel's generic
 * broadcasting path, which computes a multi-dimensional index per element.
 *
 * Why this is right: out[r, c] = x[r, c] + b[c] for x viewed as [rows, C]; float addition is
 * commutative, so [C] + [..., C] is the same loop. A SIMD wasm loop (assembly/elementwise.ts
 * addRowVector) does it in one pass. Every other shape pair keeps the stock kernel.
 */
import { makeRowVectorKernel } from './row-vector';
import type { WasmKernel } from './wasm-internals';

export function makeAddKernel(): WasmKernel {
  return makeRowVectorKernel('Add', 'addRowVector');
}
