import type * as tfjs from '@tensorflow/tfjs';
import {
  averageTwoOn,
  float32Values,
  inPlaceHeap,
  rewritten,
  shardWeights,
  soleData,
  trainableVariables,
  type InPlaceHeap,
  weightedSumInto,
  type AverageTwo,
  type StepRunner,
} from '../../engine';
import type { TF } from '../types';
import type { SharedViews } from './shared-memory';

/**
 * The gradient exchange every replica (main thread and workers) runs each step, with the same
 * code on the same numbers, so every replica ends the step with bit-identical weights:
 *
 *   1. compute the gradients of the mean loss over the own shard (engine step runner's computeGradients);
 *   2. write them, then the non-trainable weights the forward pass updated (batch-norm
 *      statistics), into the own float32 slot;
 *   3. once every replica's slot is written: average the slots, each weighted by its shard's
 *      share of the batch (so the result is the full batch's mean gradient), summing in
 *      replica order in float64 and rounding once to float32 (shard-average.ts, which a
 *      single replica's direct step also uses, so 1 and 2 replicas give the same bits);
 *   4. apply that update with the replica's own optimizer (all optimizers hold the same state).
 *
 * Speed: the average of two shards is a wasm SIMD loop on the shared exchange memory
 * (src/engine/average-wasm.ts); on wasm the own gradients are read straight from the tfjs heap (no
 * dataSync copy) and the averages go back into it with one copy per parameter, into gradient
 * tensors the exchange keeps from step to step (no tensor made or disposed per step; the fused
 * optimizers then update the variables in place, src/engine/in-place.ts).
 */

/** What a replica exchanges: its model's trainable variables (gradient map keys) and non-trainable weights, in slot order. */
export interface ExchangeTargets {
  variables: tfjs.Variable[];
  nonTrainable: Array<{ shape: tfjs.Shape; read(): tfjs.Tensor; write(value: tfjs.Tensor): unknown }>;
}

export function exchangeTargets(model: tfjs.LayersModel): ExchangeTargets {
  return {
    variables: trainableVariables(model),
    nonTrainable: model.nonTrainableWeights as unknown as ExchangeTargets['nonTrainable'],
  };
}

/** Element counts in slot order (the geometry's `params`). */
export function exchangeSizes(model: tfjs.LayersModel): number[] {
  const count = (shape: readonly (number | null)[]) => shape.reduce<number>((a, d) => a * (d ?? 1), 1);
  return [
    ...model.trainableWeights.map((w) => count(w.shape)),
    ...model.nonTrainableWeights.map((w) => count(w.shape)),
  ];
}

export class Exchange {
  private readonly averageTwo: AverageTwo;
  /** This replica's average, in the exchange memory. */
  private readonly averaged: Float32Array;
  /** The wasm heap where the engine runs its kernels (kept gradients written in place), else undefined. */
  private readonly heap: InPlaceHeap | undefined;
  private kept: tfjs.NamedTensorMap | undefined;
  /** Whether a new tensor copies its values (wasm copies them into its heap at once; cpu keeps the array itself). */
  private readonly copies: boolean;

  constructor(
    private readonly tf: TF,
    private readonly views: SharedViews,
    private readonly targets: ExchangeTargets,
    /** This replica's index (its average goes to its own output area). */
    private readonly replica: number,
  ) {
    this.averageTwo = averageTwoOn(views.buffers.exchange);
    const at = views.outputStart(replica);
    this.averaged = views.slots.subarray(at, at + views.slotSize);
    this.heap = inPlaceHeap(tf);
    this.copies = tf.getBackend() === 'wasm';
  }

  /** Step 2: the own gradients, then the non-trainable weights, into the own slot. */
  writeSlot(slot: Float32Array, grads: tfjs.NamedTensorMap): void {
    const { offsets, geometry } = this.views;
    this.targets.variables.forEach((v, i) => {
      const g = grads[v.name];
      if (g) slot.set(this.read(g), offsets[i]);
      else slot.fill(0, offsets[i], offsets[i] + geometry.params[i]); // a variable the loss does not depend on
    });
    const n = this.targets.variables.length;
    this.targets.nonTrainable.forEach((w, j) => slot.set(this.read(w.read()), offsets[n + j]));
  }

  /** Steps 3 and 4: average every slot and apply the update (and the averaged non-trainable weights). */
  applyAverage(steps: StepRunner, parity: number, sizes: readonly number[]): void {
    const { tf, targets } = this;
    this.average(parity, sizes);
    const kept = this.keptGradients();
    if (kept) {
      steps.applyGradients(kept);
    } else {
      const grads: tfjs.NamedTensorMap = {};
      targets.variables.forEach((v, i) => (grads[v.name] = this.tensorOf(i, v.shape)));
      try {
        steps.applyGradients(grads);
      } finally {
        tf.dispose(grads);
      }
    }
    const n = targets.variables.length;
    targets.nonTrainable.forEach((w, j) => {
      const t = this.tensorOf(n + j, w.shape as number[]);
      w.write(t);
      t.dispose();
    });
  }

  /** The gradient tensors kept across steps (disposeKept frees them: the group's or worker's end). */
  disposeKept(): void {
    if (this.kept) this.tf.dispose(this.kept);
    this.kept = undefined;
  }

  /** Parameter i's average, in its own area of the exchange memory. */
  private part(i: number): Float32Array {
    const at = this.views.offsets[i];
    return this.averaged.subarray(at, at + this.views.geometry.params[i]);
  }

  /** A new tensor of parameter i's average (wasm copies it into its heap; cpu keeps the array, hence a copy there). */
  private tensorOf(i: number, shape: number[]): tfjs.Tensor {
    return this.tf.tensor(this.copies ? this.part(i) : this.part(i).slice(), shape, 'float32');
  }

  /**
   * On wasm with the engine's kernels: the averaged gradients copied into tensors kept from
   * step to step (made at the first step), or undefined where those cannot be written in
   * place (another backend; data that something else came to share).
   */
  private keptGradients(): tfjs.NamedTensorMap | undefined {
    const { heap } = this;
    if (!heap) return undefined;
    const vars = this.targets.variables;
    this.kept ??= Object.fromEntries(vars.map((v, i) => [v.name, this.tensorOf(i, v.shape)]));
    const offsets = vars.map((v) => soleData(heap, this.kept![v.name]));
    if (offsets.some((at) => at === undefined)) return undefined;
    const heapF32 = heap.backend.wasm.HEAPF32;
    vars.forEach((v, i) => {
      heapF32.set(this.part(i), offsets[i]! >> 2);
      rewritten(heap, this.kept![v.name]);
    });
    return this.kept;
  }

  /** Step 3: the shards' weighted average (shard-average.ts), over whole slots. */
  private average(parity: number, sizes: readonly number[]): void {
    const { views } = this;
    const parts = shardWeights(sizes);
    if (parts.length === 2) {
      const [a, b] = parts;
      this.averageTwo(
        4 * views.outputStart(this.replica),
        4 * views.slotStart(parity, a.k),
        4 * views.slotStart(parity, b.k),
        views.slotSize,
        a.w,
        b.w,
      );
    } else {
      weightedSumInto(
        this.averaged,
        parts.map((p) => ({ w: p.w, src: views.slot(parity, p.k) })),
      );
    }
  }

  /** A tensor's float32 values without a copy where the backend allows (wasm heap view; cpu's dataSync is its storage). */
  private read(t: tfjs.Tensor): Float32Array {
    const data = this.heap?.backend.dataIdMap.get(t.dataId);
    // The heap known at construction: no backend lookup per tensor (10 of them per step on a LeNet).
    if (data && t.dtype === 'float32')
      return new Float32Array(this.heap!.backend.wasm.HEAPF32.buffer, data.memoryOffset, t.size);
    return float32Values(this.tf, t);
  }
}
