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
import { heapLoops } from './heap-loops';
import { runStock } from './stock-kernels';
import {
  type KernelArgs,
  type KernelFunc,
  ptr,
  type TensorInfo,
  type WasmBackendInternals,
  type WasmKernel,
} from './wasm-internals';

function isRowVectorOf(v: TensorInfo, x: TensorInfo): boolean {
  return v.shape.length === 1 && x.shape.length >= 2 && v.shape[0] === x.shape[x.shape.length - 1];
}

export function makeMultiplyKernel(): WasmKernel {
  const kernelFunc = ((args: KernelArgs<{ a: TensorInfo; b: TensorInfo }>) => {
    const { a, b } = args.inputs;
    const backend = args.backend as WasmBackendInternals;
    const floats = a.dtype === 'float32' && b.dtype === 'float32';
    const [x, v] = isRowVectorOf(b, a) ? [a, b] : isRowVectorOf(a, b) ? [b, a] : [null, null];
    if (!floats || !x || !v) return runStock('Multiply', { a, b }, backend, args.attrs);
    const cols = v.shape[0];
    const rows = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
    const out = backend.makeOutput(x.shape, 'float32');
    heapLoops(backend.wasm.asm.memory).mulRowVector(ptr(backend, x), ptr(backend, v), ptr(backend, out), rows, cols);
    return out;
  }) as unknown as KernelFunc;
  return { kernelName: 'Multiply', kernelFunc };
}
