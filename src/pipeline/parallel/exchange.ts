import type * as tfjs from '@tensorflow/tfjs';
import {
  averageTwoOn,
  float32Values,
  shardWeights,
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
 * dataSync copy) and the averages go back into it with one copy per parameter.
 */

/** What a replica exchanges: its model's trainable variables (gradient map keys) and non-trainable weights, in slot order. */
export interface ExchangeTargets {
  variables: tfjs.Variable[];
  nonTrainable: Array<{ shape: tfjs.Shape; read(): tfjs.Tensor; write(value: tfjs.Tensor): unknown }>;
}

export function exchangeTargets(model: tfjs.LayersModel): ExchangeTargets {
  return {
    variables: model.trainableWeights.map((w) => w.read() as tfjs.Variable),
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
  private readonly reuse: boolean;

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
    // wasm copies a new tensor's values into its heap at once; cpu keeps the array itself.
    this.reuse = tf.getBackend() === 'wasm';
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
    const value = (i: number, shape: number[]) => {
      const part = this.averaged.subarray(this.views.offsets[i], this.views.offsets[i] + this.views.geometry.params[i]);
      return tf.tensor(this.reuse ? part : part.slice(), shape, 'float32');
    };
    const grads: tfjs.NamedTensorMap = {};
    targets.variables.forEach((v, i) => (grads[v.name] = value(i, v.shape)));
    try {
      steps.applyGradients(grads);
    } finally {
      tf.dispose(grads);
    }
    const n = targets.variables.length;
    targets.nonTrainable.forEach((w, j) => {
      const t = value(n + j, w.shape as number[]);
      w.write(t);
      t.dispose();
    });
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
    return float32Values(this.tf, t);
  }
}
