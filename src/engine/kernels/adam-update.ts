/**
 * PipelineAdamUpdate: a kernel of our own (not a tfjs kernel name) for the wasm backend, used
 * by createAdam() (../adam.ts). Inputs {x, m, v, g}, attrs {beta1, beta2, epsilon,
 * learningRate, c1, c2}; outputs [x', m', v'].
 *
 * Why: tfjs's AdamOptimizer.applyGradients runs ~13 elementwise kernels per variable; for a
 * small net most of their cost is the engine's per-kernel bookkeeping, not the arithmetic
 * (LeNet: ~130 kernel calls of a ~270-call step).
 *
 * Why this is right: one SIMD pass (assembly/optimizers.ts) performs the same float32 operations
 * in the same order on the same float32 constants as tfjs's Adam (c1 = 1 - beta1^t and
 * c2 = 1 - beta2^t as the optimizer's float32 accumulators give them), so the results are
 * bit-identical (tested against tf.train.adam on wasm).
 */
import { loopsOf } from './heap-loops';
import {
  assertFloat32,
  assertSameSize,
  ptr,
  sizeOf,
  type TensorInfo,
  type WasmKernel,
  wasmKernel,
} from './wasm-internals';

export const ADAM_UPDATE_KERNEL = 'PipelineAdamUpdate';

export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  /** float32(1 - beta1^t), float32(1 - beta2^t). */
  c1: number;
  c2: number;
}

/** The adamUpdate loop's arguments after the element count (assembly/optimizers.ts), from the kernel's attrs. */
export function adamScalars(a: AdamUpdateAttrs): [number, number, number, number, number, number, number, number] {
  return [a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.c1, a.c2, a.epsilon, -a.learningRate];
}

export function makeAdamUpdateKernel(): WasmKernel {
  return wasmKernel<{ x: TensorInfo; m: TensorInfo; v: TensorInfo; g: TensorInfo }>(
    ADAM_UPDATE_KERNEL,
    (inputs, backend, attrs) => {
      const { x, m, v, g } = inputs;
      const a = attrs as unknown as AdamUpdateAttrs;
      assertFloat32(ADAM_UPDATE_KERNEL, x, m, v, g);
      assertSameSize(ADAM_UPDATE_KERNEL, x, m, v, g);
      const n = sizeOf(x);
      const xo = backend.makeOutput(x.shape, 'float32');
      const mo = backend.makeOutput(x.shape, 'float32');
      const vo = backend.makeOutput(x.shape, 'float32');
      const [px, pm, pv, pg, pxo, pmo, pvo] = [x, m, v, g, xo, mo, vo].map((t) => ptr(backend, t));
      loopsOf(backend).adamUpdate(px, pm, pv, pg, pxo, pmo, pvo, n, ...adamScalars(a));
      return [xo, mo, vo];
    },
  );
}
