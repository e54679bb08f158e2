import type * as tfjs from '@tensorflow/tfjs';
import type { TF } from './types';

/**
 * Dropout masks that do not depend on the worker count. A dropout layer with a fixed seed
 * draws its mask for the whole input, row after row; a replica holding rows
 * [offset, offset + n) of a batch must use exactly those rows of the full batch's mask, or
 * 2 workers would train on other masks than 1. So while `fn` runs, each dropout layer is
 * given `offset` rows of zeros in front of its input (the mask is drawn for offset + n rows,
 * with tfjs' own dropout arithmetic) and the padding is sliced off its output: elementwise,
 * so the kept rows are what the full batch would have produced, and the gradient flows
 * through the slice and concat unchanged.
 */

type Call = (inputs: tfjs.Tensor | tfjs.Tensor[], kwargs: { training?: boolean }) => tfjs.Tensor | tfjs.Tensor[];

export function withDropoutRowOffset<T>(
  tf: TF,
  layers: ReadonlyArray<{ layer: object }>,
  offset: number,
  fn: () => T,
): T {
  if (offset === 0 || layers.length === 0) return fn();
  const restore: Array<() => void> = [];
  for (const { layer } of layers) {
    const target = layer as { call: Call };
    const own = Object.hasOwn(target, 'call') ? target.call : undefined;
    const inner: Call = target.call.bind(target);
    target.call = (inputs, kwargs) => {
      if (!kwargs?.training) return inner(inputs, kwargs);
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.tidy(() => {
        const padded = tf.concat([tf.zeros([offset, ...x.shape.slice(1)], x.dtype), x], 0);
        const y = inner(padded, kwargs) as tfjs.Tensor;
        return tf.slice(y, [offset], [x.shape[0]]);
      });
    };
    restore.push(() => {
      if (own) target.call = own;
      else delete (target as { call?: Call }).call;
    });
  }
  try {
    return fn();
  } finally {
    for (const r of restore) r();
  }
}
