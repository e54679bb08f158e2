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
import { heapLoops } from './heap-loops';
import { runStock } from './stock-kernels';
import {
  f32,
  type KernelArgs,
  type KernelFunc,
  ptr,
  type Tf,
  type TensorInfo,
  type WasmBackendInternals,
  type WasmKernel,
} from './wasm-internals';

export function makeMeanKernel(tf: Tf): WasmKernel {
  const kernelFunc = ((args: KernelArgs<{ x: TensorInfo }>) => {
    const { x } = args.inputs;
    const backend = args.backend as WasmBackendInternals;
    const rank = x.shape.length;
    const axes = tf.util
      .parseAxisParam(args.attrs.axis as number | number[], x.shape)
      .slice()
      .sort((a, b) => a - b);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return runStock('Mean', { x }, backend, args.attrs);
    const cols = x.shape[rank - 1];
    const rows = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
    const outShape = args.attrs.keepDims ? [...new Array<number>(rank - 1).fill(1), cols] : [cols];
    const out = backend.makeOutput(outShape, 'float32');
    heapLoops(backend.wasm.asm.memory).columnSum(ptr(backend, x), ptr(backend, out), rows, cols);
    const values = f32(backend, out);
    for (let c = 0; c < cols; c++) values[c] = values[c] / rows;
    return out;
  }) as unknown as KernelFunc;
  return { kernelName: 'Mean', kernelFunc };
}
