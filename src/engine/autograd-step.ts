import type * as tfjs from '@tensorflow/tfjs';
import type { LossEntry } from '../builders/losses';
import type { MetricEntry } from '../builders/metrics';
import { dropoutLayers, dropoutSeed } from '../builders/model';
import { RunError } from '../errors';
import { withDropoutRowOffset } from './dropout-rows';
import type { StepOptions, StepRunner } from './step-runner';
import type { Batch } from './types';
import { trainableVariables } from './variables';

/** The steps the direct step and tfjs's autograd both provide; step-runner.ts picks one. */
export type StepCore = Pick<StepRunner, 'computeGradients' | 'evaluate' | 'outputs' | 'setGradientShards'>;

/**
 * Stock tfjs autograd over the whole model: what runs when the direct step does not (another
 * backend, the engine off, or `direct: false`). Each call is one tf.tidy.
 */
/**
 * tfjs-layers 4.22's batch normalization reads its beta and gamma in training even when the layer has
 * none (`center: false`, `scale: false`): on this step it fails with a TypeError. Say so first.
 */
function refuseBatchNormWithoutWeights(model: tfjs.LayersModel): void {
  for (const layer of model.layers) {
    const bn = layer as unknown as { center?: boolean; scale?: boolean };
    if (layer.getClassName() === 'BatchNormalization' && (bn.center === false || bn.scale === false))
      throw new RunError(
        `layer ${layer.name}: batchNormalization with ${bn.center === false ? 'center' : 'scale'}: false does not train under tfjs autograd (tfjs-layers 4.22 reads the missing weight); train on the wasm backend, whose direct step takes it, or drop the setting`,
      );
  }
}

export function createAutogradStep(o: StepOptions, loss: LossEntry, metrics: MetricEntry[]): StepCore {
  const { tf, model, numClasses } = o;
  refuseBatchNormWithoutWeights(model);
  const [h, w, c] = o.inputShape;
  const dropouts = dropoutLayers(model);
  const variables = () => trainableVariables(model);

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

  function evaluate(batch: Batch, predictions = false) {
    const out = tf.tidy(() => {
      const { x, labels } = inputs(batch);
      const outputs = model.apply(x, { training: false }) as tfjs.Tensor;
      const sums = sumsOf(labels, outputs, loss.compute(tf, labels, outputs), batch.size);
      return predictions ? { sums, predicted: outputs.argMax(-1) } : { sums };
    });
    const predicted = out.predicted ? Int32Array.from(out.predicted.dataSync()) : undefined;
    out.predicted?.dispose();
    return { sums: read(out.sums), predicted };
  }

  function outputs(batch: Batch): Float32Array {
    const out = tf.tidy(
      () => model.apply(tf.tensor4d(batch.x, [batch.size, h, w, c], 'float32'), { training: false }) as tfjs.Tensor,
    );
    const values = out.dataSync() as Float32Array;
    out.dispose();
    return values;
  }

  return { computeGradients, evaluate, outputs };
}
