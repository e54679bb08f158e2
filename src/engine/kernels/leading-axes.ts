/**
 * One wasm kernel shape shared by Sum and Mean over the LEADING axes of a float32 tensor (all
 * axes but the last): for x viewed as [rows, C], the column sums by a SIMD heap loop
 * (assembly/elementwise.ts columnSum), and for Mean one float32 division per column, as the
 * stock kernel divides its sum. Every other reduction keeps the stock kernel.
 */
import { loopsOf } from './heap-loops';
import { runStock } from './stock-kernels';
import { f32, ptr, type TensorInfo, type Tf, type WasmKernel, wasmKernel } from './wasm-internals';

export function makeLeadingAxesKernel(tf: Tf, kernelName: 'Sum' | 'Mean'): WasmKernel {
  return wasmKernel<{ x: TensorInfo }>(kernelName, (inputs, backend, attrs) => {
    const { x } = inputs;
    const rank = x.shape.length;
    const axes = tf.util
      .parseAxisParam(attrs.axis as number | number[], x.shape)
      .slice()
      .sort((a, b) => a - b);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return runStock(kernelName, { x }, backend, attrs);
    const cols = x.shape[rank - 1];
    const rows = x.shape.slice(0, -1).reduce((p, d) => p * d, 1);
    const outShape = attrs.keepDims ? [...new Array<number>(rank - 1).fill(1), cols] : [cols];
    const out = backend.makeOutput(outShape, 'float32');
    loopsOf(backend).columnSum(ptr(backend, x), ptr(backend, out), rows, cols);
    if (kernelName === 'Mean') {
      const values = f32(backend, out);
      for (let c = 0; c < cols; c++) values[c] = values[c] / rows;
    }
    return out;
  });
}
