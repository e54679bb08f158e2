import type * as tfjs from '@tensorflow/tfjs';
import { Registry, type Entry } from '../registry/registry';

type TF = typeof tfjs;

export interface MetricEntry extends Entry {
  /** Higher is better? Decides "best" in summaries and early stopping's `auto` mode. */
  readonly goal: 'max' | 'min';
  /**
   * Sum (not mean) over the batch, so epoch values are exact sample-weighted
   * means however the last batch is sized. labels: one-hot [batch, classes].
   */
  sum(tf: TF, labels: tfjs.Tensor, outputs: tfjs.Tensor): tfjs.Scalar;
}

function topK(k: number): MetricEntry['sum'] {
  return (tf, labels, outputs) => {
    const target = labels.argMax(-1);
    const { indices } = tf.topk(outputs, k);
    return indices.equal(target.expandDims(-1)).any(-1).cast('float32').sum() as tfjs.Scalar;
  };
}

export const METRIC_ENTRIES: readonly MetricEntry[] = [
  {
    type: 'accuracy',
    summary: 'fraction of examples whose highest output is the true class',
    goal: 'max',
    sum: (_tf, labels, outputs) => outputs.argMax(-1).equal(labels.argMax(-1)).cast('float32').sum() as tfjs.Scalar,
  },
  { type: 'top5Accuracy', summary: 'true class among the 5 highest outputs', goal: 'max', sum: topK(5) },
  {
    type: 'meanAbsoluteError',
    summary: 'mean absolute difference between outputs and one-hot labels',
    goal: 'min',
    sum: (tf, labels, outputs) => tf.sub(labels, outputs).abs().mean(-1).sum() as tfjs.Scalar,
  },
  {
    type: 'meanSquaredError',
    summary: 'mean squared difference between outputs and one-hot labels',
    goal: 'min',
    sum: (tf, labels, outputs) => tf.sub(labels, outputs).square().mean(-1).sum() as tfjs.Scalar,
  },
];

export const METRICS = new Registry<MetricEntry>('metric', METRIC_ENTRIES);
export const METRIC_NAMES = METRIC_ENTRIES.map((e) => e.type) as [string, ...string[]];
