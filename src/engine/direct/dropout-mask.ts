import { dropoutSeed } from '../../builders/model';
import type { TensorInfo } from '../kernels/wasm-internals';
import type { TF } from '../types';
import type { CallScope } from './call-scope';

/**
 * Where a training batch sits, for dropout masks: the step's (epoch, batch) choose the seed,
 * and a shard at `rowOffset` of a larger batch takes those rows of the larger batch's mask
 * (as dropout-rows.ts arranges for tfjs's autograd).
 */
export interface StepPosition {
  epoch: number;
  batchIndex: number;
  rowOffset: number;
}

/**
 * tfjs' dropout multiplier (tfjs-core ops/dropout.ts: floor(uniform + keep) / keep, drawn
 * with the step's seed) for rows [rowOffset, rowOffset + n) of the batch: drawn for
 * rowOffset + n rows, of which the first are dropped, so a shard gets the full batch's rows.
 * `channels` (spatial dropout): drawn as [rows, 1, 1, channels], tfjs's noise shape, and
 * spread over height and width.
 */
export function dropoutMask(
  tf: TF,
  scope: CallScope,
  op: { rate: number; baseSeed: number; channels: boolean },
  shape: number[],
  at: StepPosition,
): TensorInfo {
  const seed = dropoutSeed(op.baseSeed, at.epoch, at.batchIndex);
  const keep = 1 - op.rate;
  const drawn = op.channels ? [shape[0], 1, 1, shape[3]] : shape;
  const mask = tf.tidy(() => {
    const full = tf.div(
      tf.floor(tf.add(tf.randomUniform([at.rowOffset + shape[0], ...drawn.slice(1)], 0, 1, 'float32', seed), keep)),
      keep,
    );
    const rows = at.rowOffset === 0 ? full : tf.slice(full, [at.rowOffset], [shape[0]]);
    return op.channels ? tf.broadcastTo(rows, shape) : rows;
  });
  return { ...scope.fromTensor(mask), shape };
}
