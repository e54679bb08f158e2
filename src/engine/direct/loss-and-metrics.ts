import type * as tfjs from '@tensorflow/tfjs';
import { LOSSES } from '../../builders/losses';
import { METRICS } from '../../builders/metrics';
import type { ResolvedExperiment } from '../../config/load';
import type { TensorInfo } from '../kernels/wasm-internals';
import type { Shard } from '../shards';
import type { TF } from '../types';
import type { CallScope } from './call-scope';
import { softmaxCrossEntropy } from './softmax-loss';

/**
 * The direct step's loss, its gradient over the outputs, and the sums arrays
 * ([loss * size, metric sums...] in the experiment's metric order), shard by shard: each
 * shard's gradient is of its own mean loss and the sums add up in shard order, as the
 * data-parallel replicas' do.
 */
export function lossAndMetrics(o: { tf: TF; experiment: ResolvedExperiment; numClasses: number; scope: CallScope }) {
  const { tf } = o;
  const metricTypes = o.experiment.training.metrics;
  /**
   * Metrics other than accuracy (counted with the loss, in JS) by their own tfjs definitions on
   * a copy of the logits, shard by shard and added in shard order as the replicas' sums are.
   * They read the outputs only: a metric never changes training.
   */
  const others = metricTypes.filter((m) => m !== 'accuracy').map((m) => METRICS.require(m));
  const otherSums = (logits: Float32Array, labels: Uint8Array, shards: Shard[]): number[] => {
    const totals = others.map(() => 0);
    if (others.length === 0) return totals;
    const k = o.numClasses;
    // A copy: the tensors below are allocated on the heap, which may grow and detach `logits`.
    const values = logits.slice();
    for (const { offset: at, size: n } of shards) {
      if (n === 0) continue;
      const sums = tf.tidy(() => {
        const outputs = tf.tensor2d(values.subarray(at * k, (at + n) * k), [n, k], 'float32');
        const labelsOneHot = tf.oneHot(tf.tensor1d(labels.subarray(at, at + n), 'int32'), k).cast('float32');
        return tf.stack(others.map((m) => m.sum(tf, labelsOneHot, outputs)));
      });
      const got = sums.dataSync();
      sums.dispose();
      got.forEach((v, i) => (totals[i] += v));
    }
    return totals;
  };
  const sumsOf = (loss: number, correct: number, other: number[]) => {
    let next = 0;
    return [loss, ...metricTypes.map((m) => (m === 'accuracy' ? correct : other[next++]))];
  };

  /**
   * The loss (and its gradient) shard by shard: each shard's gradient is of its own mean loss,
   * and the sums add up in shard order, as the replicas' sums do.
   */
  const lossOverShards = (
    logits: Float32Array,
    labels: Uint8Array,
    shards: Shard[],
    grad?: Float32Array,
    predicted?: Int32Array,
    penalty = 0,
  ) => {
    const k = o.numClasses;
    let loss = 0;
    let correct = 0;
    for (const { offset: at, size: n } of shards) {
      if (n === 0) continue;
      const rows = (a: Float32Array) => a.subarray(at * k, (at + n) * k);
      const r = softmaxCrossEntropy(
        rows(logits),
        labels.subarray(at, at + n),
        n,
        k,
        grad && rows(grad),
        predicted?.subarray(at, at + n),
      );
      // A shard's sum as its replica's: its loss, plus the weights' penalty once per row.
      loss += r.loss + penalty * n;
      correct += r.correct;
    }
    return { loss, correct };
  };

  const tfjsLossOverShards = tfjsLoss(o, lossOverShards);
  return { otherSums, sumsOf, lossOverShards, tfjsLossOverShards };
}

type JsLoss = (
  logits: Float32Array,
  labels: Uint8Array,
  shards: Shard[],
  grad?: Float32Array,
  predicted?: Int32Array,
  penalty?: number,
) => { loss: number; correct: number };

/**
 * Any loss but softmax cross-entropy (computed in JS by `counting`): tfjs's own definition, and its
 * gradient over the outputs, shard by shard (each shard's gradient of its own mean loss, as
 * a replica's). The accuracy count and predictions come from the outputs as for logits.
 */
function tfjsLoss(
  o: { tf: TF; experiment: ResolvedExperiment; numClasses: number; scope: CallScope },
  counting: JsLoss,
) {
  const { tf } = o;
  const { asTensor, fromTensor, heapF32 } = o.scope;
  const lossEntry = LOSSES.require(o.experiment.training.loss);
  return (
    logits: TensorInfo,
    labels: Uint8Array,
    shards: Shard[],
    withGrad: boolean,
    predicted?: Int32Array,
    penalty = 0,
  ) => {
    const k = o.numClasses;
    const counted = counting(heapF32(logits).slice(), labels, shards, undefined, predicted);
    const outputs = asTensor(logits);
    let loss = 0;
    const grads: tfjs.Tensor[] = [];
    for (const { offset: at, size: n } of shards) {
      if (n === 0) continue;
      const r = tf.tidy(() => {
        const rows = n === logits.shape[0] ? outputs : tf.slice(outputs, [at, 0], [n, k]);
        const y = tf.oneHot(tf.tensor1d(labels.subarray(at, at + n), 'int32'), k).cast('float32');
        const f = (out: tfjs.Tensor) => lossEntry.compute(tf, y, out);
        return withGrad ? tf.valueAndGrad(f)(rows) : { value: f(rows), grad: undefined };
      });
      loss += r.value.dataSync()[0] * n + penalty * n;
      r.value.dispose();
      if (r.grad) grads.push(r.grad);
    }
    const dLogits = !withGrad ? undefined : fromTensor(grads.length === 1 ? grads[0] : tf.tidy(() => tf.concat(grads)));
    if (grads.length > 1) tf.dispose(grads);
    return { loss, correct: counted.correct, dLogits };
  };
}
