import type * as tfjs from '@tensorflow/tfjs';
import { LOSSES, type LossEntry } from '../builders/losses';
import { METRICS, type MetricEntry } from '../builders/metrics';
import { dropoutLayers, dropoutSeed } from '../builders/model';
import type { ResolvedExperiment } from '../config/load';
import { createDirectStep } from './direct/direct-step';
import { withDropoutRowOffset } from './dropout-rows';
import { engineStatus } from './start';
import type { Batch, TF } from './types';

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
  const { tf, model, numClasses } = o;
  const [h, w, c] = o.inputShape;
  const loss: LossEntry = LOSSES.require(o.experiment.training.loss);
  const metrics: MetricEntry[] = o.experiment.training.metrics.map((m) => METRICS.require(m));
  const dropouts = dropoutLayers(model);
  const variables = () => model.trainableWeights.map((v) => v.read() as tfjs.Variable);

  const inputs = (batch: Batch) => {
    const x = tf.tensor4d(batch.x, [batch.size, h, w, c], 'float32');
    const labels = tf.oneHot(tf.tensor1d(batch.y, 'int32'), numClasses).cast('float32');
    return { x, labels };
  };

  const sumsOf = (labels: tfjs.Tensor, outputs: tfjs.Tensor, meanLoss: tfjs.Scalar, size: number) =>
    tf.stack([tf.mul(meanLoss, size), ...metrics.map((m) => m.sum(tf, labels, outputs))]);

  const read = (t: tfjs.Tensor): number[] => {
    const values = Array.from(t.dataSync());
    t.dispose();
    return values;
  };

  function computeGradients(batch: Batch, epoch: number, batchIndex: number, rowOffset = 0) {
    for (const d of dropouts) d.layer.seed = dropoutSeed(d.baseSeed, epoch, batchIndex);
    // Outputs are produced inside variableGrads' own scope, which disposes everything it
    // does not return; keep them for the metric sums and dispose them ourselves.
    let outputs: tfjs.Tensor | undefined;
    try {
      const { grads, sums } = tf.tidy(() => {
        const { x, labels } = inputs(batch);
        const { value, grads } = withDropoutRowOffset(tf, dropouts, rowOffset, () =>
          tf.variableGrads(() => {
            outputs = tf.keep(model.apply(x, { training: true }) as tfjs.Tensor);
            // Kernel and bias regularizers' penalties (layer `kernelRegularizer`, ...) are part of what is minimized.
            const penalties = model.calculateLosses();
            const value = loss.compute(tf, labels, outputs);
            return penalties.length ? (tf.addN([value, ...penalties]) as tfjs.Scalar) : value;
          }, variables()),
        );
        return { grads, sums: sumsOf(labels, outputs!, value, batch.size) };
      });
      return { grads, sums: read(sums) };
    } finally {
      outputs?.dispose();
      // Back to the seeds the layers were built with, so a saved model.json does not depend on the last step.
      for (const d of dropouts) d.layer.seed = d.baseSeed;
    }
  }

  const weightDecay = (o.experiment.training.optimizer as { weightDecay?: number }).weightDecay ?? 0;
  let byName: Map<string, tfjs.Variable> | undefined;
  function applyGradients(grads: tfjs.NamedTensorMap): void {
    if (!o.optimizer) throw new Error('applyGradients: this step runner has no optimizer (evaluation only)');
    if (weightDecay === 0) {
      o.optimizer.applyGradients(grads);
      return;
    }
    // training.optimizer.weightDecay: g + weightDecay * w for every weight, as torch.optim applies weight_decay.
    byName ??= new Map(variables().map((v) => [v.name, v]));
    const decayed = tf.tidy(() => {
      const out: tfjs.NamedTensorMap = {};
      for (const [name, g] of Object.entries(grads)) {
        const w = byName!.get(name);
        if (!w) throw new Error(`weightDecay: gradient for unknown variable ${name}`);
        out[name] = tf.add(g, tf.mul(w, weightDecay));
      }
      return out;
    });
    try {
      o.optimizer.applyGradients(decayed);
    } finally {
      tf.dispose(decayed);
    }
  }

  // Models on wasm take the direct step (direct/direct-step.ts) when its plan takes every layer: the
  // same gradients (and dropout masks) without tfjs's per-op bookkeeping.
  const engine = engineStatus();
  const direct =
    o.direct === false
      ? { unsupported: 'disabled' }
      : tf.getBackend() === 'wasm' && !engine.fast
        ? { unsupported: engine.reason }
        : createDirectStep({
            tf,
            model,
            experiment: o.experiment,
            inputShape: o.inputShape,
            numClasses,
            gradientShards: o.gradientShards,
          });
  const fast = 'unsupported' in direct ? undefined : direct;
  const gradients: StepRunner['computeGradients'] = fast
    ? (batch, epoch, batchIndex, rowOffset = 0) => fast.computeGradients(batch, { epoch, batchIndex, rowOffset })
    : computeGradients;

  return {
    keys: ['loss', ...metrics.map((m) => m.type)],
    implementation: fast
      ? { direct: true }
      : { direct: false, reason: (direct as { unsupported: string }).unsupported },
    computeGradients: gradients,
    applyGradients,
    train(batch, epoch, batchIndex) {
      const { grads, sums } = gradients(batch, epoch, batchIndex);
      try {
        applyGradients(grads);
      } finally {
        tf.dispose(grads);
      }
      return sums;
    },
    evaluate(batch, predictions = false) {
      if (fast) return fast.evaluate(batch, predictions);
      const out = tf.tidy(() => {
        const { x, labels } = inputs(batch);
        const outputs = model.apply(x, { training: false }) as tfjs.Tensor;
        const sums = sumsOf(labels, outputs, loss.compute(tf, labels, outputs), batch.size);
        return predictions ? { sums, predicted: outputs.argMax(-1) } : { sums };
      });
      const predicted = out.predicted ? Int32Array.from(out.predicted.dataSync()) : undefined;
      out.predicted?.dispose();
      return { sums: read(out.sums), predicted };
    },
    outputs(batch) {
      if (fast) return fast.outputs(batch);
      const out = tf.tidy(
        () => model.apply(tf.tensor4d(batch.x, [batch.size, h, w, c], 'float32'), { training: false }) as tfjs.Tensor,
      );
      const values = out.dataSync() as Float32Array;
      out.dispose();
      return values;
    },
  };
}
