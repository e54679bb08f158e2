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
import { heapLoops } from './heap-loops';
import { runStock } from './stock-kernels';
import {
  type KernelArgs,
  type KernelFunc,
  ptr,
  type Tf,
  type TensorInfo,
  type WasmBackendInternals,
  type WasmKernel,
} from './wasm-internals';

export function makeSumKernel(tf: Tf): WasmKernel {
  const kernelFunc = ((args: KernelArgs<{ x: TensorInfo }>) => {
    const { x } = args.inputs;
    const backend = args.backend as WasmBackendInternals;
    const rank = x.shape.length;
    const axes = tf.util
      .parseAxisParam(args.attrs.axis as number | number[], x.shape)
      .slice()
      .sort((a, b) => a - b);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return runStock('Sum', { x }, backend, args.attrs);
    const cols = x.shape[rank - 1];
    const rows = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
    const outShape = args.attrs.keepDims ? [...new Array<number>(rank - 1).fill(1), cols] : [cols];
    const out = backend.makeOutput(outShape, 'float32');
    heapLoops(backend.wasm.asm.memory).columnSum(ptr(backend, x), ptr(backend, out), rows, cols);
    return out;
  }) as unknown as KernelFunc;
  return { kernelName: 'Sum', kernelFunc };
}
