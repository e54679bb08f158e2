import type * as tfjs from '@tensorflow/tfjs';
import { LOSSES, type LossEntry } from '../builders/losses';
import { METRICS, type MetricEntry } from '../builders/metrics';
import type { ResolvedExperiment } from '../config/load';
import { createDirectStep } from './direct/direct-step';
import { createAutogradStep, type StepCore } from './autograd-step';
import { engineStatus } from './start';
import { gradientApplier } from './weight-decay';
import type { Batch, TF } from './types';
import { trainableVariables } from './variables';
import type { RowGather } from './row-gather';

/**
 * All per-step tensor code lives here, so the single-process loop (train.ts) and a
 * data-parallel worker (pipeline/parallel/) run the same forward/backward/update. Each function
 * is one tf.tidy; the only tensors that outlive a call are the model's and optimizer's
 * variables and, from computeGradients, the gradients the caller must dispose.
 *
 * Per-batch values come back as one small array, read with a single dataSync:
 * [loss * size, metric sums...]. Sums (not means) make epoch values exact
 * sample-weighted means however the last batch is sized.
 */
export interface StepRunner {
  /** 'loss' then the experiment's metric names, in the order of the sums arrays. */
  readonly keys: string[];
  /** Which implementation runs the steps: the direct wasm step (direct/) or tfjs's autograd, and why not direct. */
  readonly implementation: { direct: boolean; reason?: string };
  /** One optimization step; returns [loss * size, metric sums...] for the batch. */
  train(batch: Batch, epoch: number, batchIndex: number): number[];
  /**
   * Gradients of the batch's mean loss (kept: the caller disposes them) and its sums.
   * `rowOffset`: the batch is rows [rowOffset, rowOffset + size) of a larger one (a
   * data-parallel shard); dropout then uses those rows of the larger batch's masks.
   */
  computeGradients(
    batch: Batch,
    epoch: number,
    batchIndex: number,
    rowOffset?: number,
  ): { grads: tfjs.NamedTensorMap; sums: number[] };
  applyGradients(grads: tfjs.NamedTensorMap): void;
  /** Inference-mode sums; with `predictions`, also each example's predicted class. */
  evaluate(batch: Batch, predictions?: boolean): { sums: number[]; predicted?: Int32Array };
  /**
   * The inference-mode forward pass that evaluate() makes, alone: the model's outputs
   * (batch.size rows of numClasses values; labels unused), for predicting unlabelled inputs.
   */
  outputs(batch: Batch): Float32Array;
  /**
   * The direct step only: from the next call on, reduce each batch's gradient in this many
   * shards (parallel/plan.ts gradientShardsFor), as a run switching between 1 and 2 replicas
   * does (pipeline/parallel/adaptive.ts); with `gather`, this runner is one replica of several
   * and batch normalization takes its statistics over their shards too (row-gather.ts).
   * Absent where the count changes the bits (tfjs's autograd).
   */
  setGradientShards?(shards: number, gather?: RowGather): void;
}

/** What the training loop needs of a step runner; the data-parallel one (parallel/) answers asynchronously. */
export interface TrainSteps {
  readonly keys: string[];
  train(batch: Batch, epoch: number, batchIndex: number): number[] | Promise<number[]>;
  evaluate(batch: Batch): { sums: number[] } | Promise<{ sums: number[] }>;
}

export interface StepOptions {
  tf: TF;
  model: tfjs.LayersModel;
  optimizer?: tfjs.Optimizer;
  experiment: ResolvedExperiment;
  numClasses: number;
  inputShape: readonly [number, number, number];
  /** Use the direct step when the model allows it (default true; false: always tfjs's autograd). */
  direct?: boolean;
  /** The direct step reduces each batch's gradient in this many shards (parallel/plan.ts gradientShardsFor; default 1). */
  gradientShards?: number;
}

export function createStepRunner(o: StepOptions): StepRunner {
  const { tf, model } = o;
  const loss: LossEntry = LOSSES.require(o.experiment.training.loss);
  const metrics: MetricEntry[] = o.experiment.training.metrics.map((m) => METRICS.require(m));
  const weightDecay = (o.experiment.training.optimizer as { weightDecay?: number }).weightDecay ?? 0;
  const applyGradients = gradientApplier(tf, o.optimizer, weightDecay, () => trainableVariables(model));
  const { core, implementation } = chooseStep(o, loss, metrics);
  return {
    keys: ['loss', ...metrics.map((m) => m.type)],
    implementation,
    computeGradients: core.computeGradients,
    applyGradients,
    train(batch, epoch, batchIndex) {
      const { grads, sums } = core.computeGradients(batch, epoch, batchIndex);
      try {
        applyGradients(grads);
      } finally {
        tf.dispose(grads);
      }
      return sums;
    },
    evaluate: core.evaluate,
    outputs: core.outputs,
    ...(core.setGradientShards ? { setGradientShards: core.setGradientShards } : {}),
  };
}

/**
 * Models on wasm take the direct step (direct/direct-step.ts) when its plan takes every layer: the
 * same gradients (and dropout masks) without tfjs's per-op bookkeeping; otherwise tfjs's autograd.
 */
function chooseStep(
  o: StepOptions,
  loss: LossEntry,
  metrics: MetricEntry[],
): { core: StepCore; implementation: StepRunner['implementation'] } {
  const engine = engineStatus();
  const direct =
    o.direct === false
      ? { unsupported: 'disabled' }
      : o.tf.getBackend() === 'wasm' && !engine.fast
        ? { unsupported: engine.reason }
        : createDirectStep({
            tf: o.tf,
            model: o.model,
            experiment: o.experiment,
            inputShape: o.inputShape,
            numClasses: o.numClasses,
            gradientShards: o.gradientShards,
          });
  if ('unsupported' in direct) {
    return {
      core: createAutogradStep(o, loss, metrics),
      implementation: { direct: false, reason: direct.unsupported },
    };
  }
  return {
    core: {
      computeGradients: (batch, epoch, batchIndex, rowOffset = 0) =>
        direct.computeGradients(batch, { epoch, batchIndex, rowOffset }),
      evaluate: (batch, predictions = false) => direct.evaluate(batch, predictions),
      outputs: (batch) => direct.outputs(batch),
      setGradientShards: direct.setGradientShards,
    },
    implementation: { direct: true },
  };
}
