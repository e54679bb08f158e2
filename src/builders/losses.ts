import type * as tfjs from '@tensorflow/tfjs';
import { Registry, type Entry } from '../registry/registry';

type TF = typeof tfjs;

export interface LossEntry extends Entry {
  /** What the model's last layer must produce for this loss to be right. */
  readonly expects: 'logits' | 'probabilities' | 'values';
  /**
   * Mean loss over the batch. `labels` are one-hot float32 [batch, classes];
   * `outputs` are the model's outputs [batch, classes].
   */
  compute(tf: TF, labels: tfjs.Tensor, outputs: tfjs.Tensor): tfjs.Scalar;
}

export const LOSS_ENTRIES: readonly LossEntry[] = [
  {
    type: 'softmaxCrossEntropy',
    summary: "softmax cross-entropy on logits (PyTorch's CrossEntropyLoss); last layer linear",
    expects: 'logits',
    compute: (tf, labels, logits) => tf.losses.softmaxCrossEntropy(labels, logits) as tfjs.Scalar,
  },
  {
    type: 'categoricalCrossentropy',
    summary: 'cross-entropy on probabilities; last layer softmax',
    expects: 'probabilities',
    compute: (tf, labels, probs) => tf.metrics.categoricalCrossentropy(labels, probs).mean() as tfjs.Scalar,
  },
  {
    type: 'meanSquaredError',
    summary: 'mean squared error (regression; on one-hot labels for classification)',
    expects: 'values',
    compute: (tf, labels, out) => tf.losses.meanSquaredError(labels, out) as tfjs.Scalar,
  },
  {
    type: 'meanAbsoluteError',
    summary: 'mean absolute error',
    expects: 'values',
    compute: (tf, labels, out) => tf.losses.absoluteDifference(labels, out) as tfjs.Scalar,
  },
];

export const LOSSES = new Registry<LossEntry>('loss', LOSS_ENTRIES);
export const LOSS_NAMES = LOSS_ENTRIES.map((e) => e.type) as [string, ...string[]];
