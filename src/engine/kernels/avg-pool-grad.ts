/**
 * AvgPoolGrad for the wasm backend (speed).
 *
 * What was slow: the stock kernel loops over every input cell and every filter tap with a
 * division per tap (tfjs's generic "transposed" formulation): ~1.5 ms of a classic LeNet's step.
 *
 * Why this is right: tfjs defines the gradient (cpu backend, AvgPoolGrad.js) as
 *   dx[cell] = (sum of dy over the output windows containing the cell) / (filterHeight * filterWidth)
 * (the full window size even where 'same' padding cuts a window, as tfjs does). The wasm loop
 * (assembly/avg-pool-grad.ts) adds each window's dy into its in-bounds cells, channels 4 at a
 * time, then scales once. Dilated pooling and non-float32 keep the stock kernel.
 */
import { loopsOf } from './heap-loops';
import { runStock } from './stock-kernels';
import { ptr, type TensorInfo, type Tf, type tfTypes, type WasmKernel, wasmKernel, windowArgs } from './wasm-internals';

export function makeAvgPoolGradKernel(tf: Tf): WasmKernel {
  return wasmKernel<{ dy: TensorInfo; input: TensorInfo }>('AvgPoolGrad', (inputs, backend, attrs) => {
    const { dy, input } = inputs;
    const { filterSize, strides, pad } = attrs as unknown as tfTypes.AvgPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
    );
    if (dy.dtype !== 'float32' || input.dtype !== 'float32' || info.dilationHeight !== 1 || info.dilationWidth !== 1)
      return runStock('AvgPoolGrad', { dy, input }, backend, attrs);
    const dx = backend.makeOutput(input.shape, 'float32');
    loopsOf(backend).avgPoolGrad(
      ptr(backend, dy),
      ptr(backend, dx),
      ...windowArgs(info),
      1 / (info.filterHeight * info.filterWidth),
    );
    return dx;
  });
}
