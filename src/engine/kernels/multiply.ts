/**
 * Multiply for the wasm backend (speed, bit-identical results).
 *
 * What was slow: scaling a [..., C] tensor by a per-channel [C] vector (batch normalization's
 * gradient) takes the stock kernel's generic broadcasting path, which computes a
 * multi-dimensional index per element.
 *
 * Why this is right: out[r, c] = x[r, c] * b[c] for x viewed as [rows, C]; float multiplication
 * is commutative, so [C] * [..., C] is the same loop. A SIMD wasm loop (assembly/elementwise.ts
 * mulRowVector) does it in one pass. Every other shape pair keeps the stock kernel.
 */
import { makeRowVectorKernel } from './row-vector';
import type { WasmKernel } from './wasm-internals';

export function makeMultiplyKernel(): WasmKernel {
  return makeRowVectorKernel('Multiply', 'mulRowVector');
}
