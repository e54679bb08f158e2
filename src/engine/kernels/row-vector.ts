/**
 * One wasm kernel shape shared by Add, Multiply and Sub: a float32 [..., C] tensor combined with
 * a [C] vector (or [1, ..., 1, C], as keepDims reductions give it, of no higher rank), by a SIMD
 * heap loop over the tensor viewed as [rows, C]. Add and Multiply are commutative, so
 * [C] op [..., C] is the same loop; Sub takes only tensor - vector. Every other shape or dtype
 * pair keeps the stock kernel, so results stay bit-identical to it.
 */
import { loopsOf } from './heap-loops';
import { runStock } from './stock-kernels';
import { ptr, type TensorInfo, type WasmKernel, wasmKernel } from './wasm-internals';

type RowVectorLoop = 'addRowVector' | 'mulRowVector' | 'subRowVector';

function isRowVectorOf(v: TensorInfo, x: TensorInfo): boolean {
  const last = v.shape.length - 1;
  return (
    last >= 0 &&
    x.shape.length >= 2 &&
    v.shape.length <= x.shape.length &&
    v.shape[last] === x.shape[x.shape.length - 1] &&
    v.shape.every((d, i) => i === last || d === 1)
  );
}

export function makeRowVectorKernel(kernelName: 'Add' | 'Multiply' | 'Sub', loop: RowVectorLoop): WasmKernel {
  return wasmKernel<{ a: TensorInfo; b: TensorInfo }>(kernelName, (inputs, backend, attrs) => {
    const { a, b } = inputs;
    const floats = a.dtype === 'float32' && b.dtype === 'float32';
    const commutes = kernelName !== 'Sub';
    const [x, v] = isRowVectorOf(b, a) ? [a, b] : commutes && isRowVectorOf(a, b) ? [b, a] : [null, null];
    if (!floats || !x || !v) return runStock(kernelName, { a, b }, backend, attrs);
    const cols = v.shape[v.shape.length - 1];
    const rows = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
    const out = backend.makeOutput(x.shape, 'float32');
    loopsOf(backend)[loop](ptr(backend, x), ptr(backend, v), ptr(backend, out), rows, cols);
    return out;
  });
}
