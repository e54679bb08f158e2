/**
 * MaxPoolGrad for the wasm backend.
 *
 * What was wrong (tfjs-backend-wasm 4.22, src/cc/kernels/MaxPoolGrad.cc): the search for
 * each window's max starts from `{std::numeric_limits<float>::min(), 0}`: the smallest POSITIVE
 * float, at flat input offset 0, and keeps `x >= max`. In a window whose max is <= 0 nothing
 * beats the start, so the "winner" is input element 0 of the whole tensor: the one window that
 * contains it sends its gradient there, every other such window loses its gradient. Ties go
 * to the LAST maximum where the cpu backend (and TensorFlow) pick the FIRST. With relu in front
 * of a max-pool, all-zero windows are common, so training silently got wrong gradients.
 *
 * Why this is right: it is the cpu backend's rule (tfjs-backend-cpu maxPoolPositions +
 * maxPoolBackprop): per output cell, scan the window's in-bounds input cells in row-major
 * order, keep the first strictly greater value starting from -Infinity (padding never wins,
 * NaN never wins), and add dy of that cell to dx at the winner. A window with no winner
 * (all NaN or all -Infinity) contributes nothing, as on cpu.
 *
 * Speed: one pass over the windows straight on the wasm heap, in wasm (assembly/pooling.ts); with
 * 4+ channels, 4 channels at a time (SIMD) by finding the first window element equal to the
 * forward output `output` (the max), which is the same element as the first strict maximum.
 * (A window containing NaN: the max-pool output is NaN, equal to nothing, so no gradient;
 * the cpu backend instead routes to the largest non-NaN element.)
 */
import { loopsOf } from './heap-loops';
import {
  assertFloat32,
  ptr,
  type TensorInfo,
  type Tf,
  type tfTypes,
  type WasmKernel,
  wasmKernel,
  windowArgs,
} from './wasm-internals';

export function makeMaxPoolGradKernel(tf: Tf): WasmKernel {
  return wasmKernel<{ dy: TensorInfo; input: TensorInfo; output: TensorInfo }>(
    'MaxPoolGrad',
    (inputs, backend, attrs) => {
      const { dy, input, output } = inputs;
      const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tfTypes.MaxPoolGradAttrs;
      assertFloat32('MaxPoolGrad', dy, input);
      const info = tf.backend_util.computePool2DInfo(
        input.shape as [number, number, number, number],
        filterSize,
        strides,
        1,
        pad,
        dimRoundingMode,
      );
      const dx = backend.makeOutput(input.shape, 'float32');
      const loops = loopsOf(backend);
      if (info.inChannels >= 4 && output && output.dtype === 'float32') {
        loops.maxPoolGradSimd(
          ptr(backend, input),
          ptr(backend, output),
          ptr(backend, dy),
          ptr(backend, dx),
          ...windowArgs(info),
        );
        return dx;
      }
      loops.maxPoolGrad(ptr(backend, input), ptr(backend, dy), ptr(backend, dx), ...windowArgs(info));
      return dx;
    },
  );
}
