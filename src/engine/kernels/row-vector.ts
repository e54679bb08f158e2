/**
 * One wasm kernel shape shared by Add and Multiply: a float32 [..., C] tensor combined with a
 * [C] vector, in either order, by a SIMD heap loop over the tensor viewed as [rows, C]. Both
 * operations are commutative, so [C] op [..., C] is the same loop. Every other shape or dtype
 * pair keeps the stock kernel, so results stay bit-identical to it.
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

type RowVectorLoop = 'addRowVector' | 'mulRowVector';

function isRowVectorOf(v: TensorInfo, x: TensorInfo): boolean {
  return v.shape.length === 1 && x.shape.length >= 2 && v.shape[0] === x.shape[x.shape.length - 1];
}

export function makeRowVectorKernel(kernelName: 'Add' | 'Multiply', loop: RowVectorLoop): WasmKernel {
  const kernelFunc = ((args: KernelArgs<{ a: TensorInfo; b: TensorInfo }>) => {
    const { a, b } = args.inputs;
    const backend = args.backend as WasmBackendInternals;
    const floats = a.dtype === 'float32' && b.dtype === 'float32';
    const [x, v] = isRowVectorOf(b, a) ? [a, b] : isRowVectorOf(a, b) ? [b, a] : [null, null];
    if (!floats || !x || !v) return runStock(kernelName, { a, b }, backend, args.attrs);
    const cols = v.shape[0];
    const rows = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
    const out = backend.makeOutput(x.shape, 'float32');
    heapLoops(backend.wasm.asm.memory)[loop](ptr(backend, x), ptr(backend, v), ptr(backend, out), rows, cols);
    return out;
  }) as unknown as KernelFunc;
  return { kernelName, kernelFunc };
}
