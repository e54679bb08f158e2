/**
 * PipelineOptimizerUpdate: a kernel of our own (not a tfjs kernel name) for the wasm backend,
 * used by the fused optimizers (../fused-optimizers.ts). Inputs {x, g, s0?, s1?} (the variable,
 * its gradient, the optimizer's slots for it), attrs {rule, scalars}; outputs [x', s0'?, s1'?].
 *
 * Why: each stock tfjs optimizer runs 3-12 elementwise kernels per variable per step, most of
 * whose cost on a small net is the engine's per-kernel bookkeeping, not the arithmetic.
 *
 * Why this is right: one pass per variable (assembly/optimizer-rules.ts) performs the stock
 * optimizer's float32 operations in the same order on the same float32 constants, so the
 * results are bit-identical (tested against the stock optimizers on wasm).
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

export const OPTIMIZER_UPDATE_KERNEL = 'PipelineOptimizerUpdate';

/** Each rule's number of slots and the loop that runs it (assembly/optimizer-rules.ts). */
export const RULES = {
  sgd: { slots: 0, loop: 'sgdUpdate' },
  momentum: { slots: 1, loop: 'momentumUpdate' },
  rmsprop: { slots: 2, loop: 'rmspropUpdate' },
  adagrad: { slots: 1, loop: 'adagradUpdate' },
  adadelta: { slots: 2, loop: 'adadeltaUpdate' },
  adamax: { slots: 2, loop: 'adamaxUpdate' },
} as const;
export type Rule = keyof typeof RULES;

export interface OptimizerUpdateAttrs {
  rule: Rule;
  /** The rule's float32 constants, in its loop's order. */
  scalars: number[];
}

/** (x, g, slots..., xOut, slotsOut..., n, scalars...): byte offsets, the length, the constants. */
type Loop = (...args: number[]) => void;

export function makeOptimizerUpdateKernel(): WasmKernel {
  return wasmKernel<{ x: TensorInfo; g: TensorInfo; s0?: TensorInfo; s1?: TensorInfo }>(
    OPTIMIZER_UPDATE_KERNEL,
    (inputs, backend, attrs) => {
      const { x, g, s0, s1 } = inputs;
      const a = attrs as unknown as OptimizerUpdateAttrs;
      const rule = RULES[a.rule];
      const slots = [s0, s1].slice(0, rule.slots);
      if (slots.some((s) => s === undefined))
        throw new Error(`${OPTIMIZER_UPDATE_KERNEL}: ${a.rule} needs ${rule.slots} slots`);
      const operands = [x, g, ...(slots as TensorInfo[])];
      assertFloat32(OPTIMIZER_UPDATE_KERNEL, ...operands);
      assertSameSize(OPTIMIZER_UPDATE_KERNEL, x, ...operands);
      const n = sizeOf(x);
      const outputs = [x, ...slots].map(() => backend.makeOutput(x.shape, 'float32'));
      const loop = (loopsOf(backend) as unknown as Record<string, Loop>)[rule.loop];
      loop(...operands.map((t) => ptr(backend, t)), ...outputs.map((t) => ptr(backend, t)), n, ...a.scalars);
      return outputs;
    },
  );
}
